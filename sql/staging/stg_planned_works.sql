-- stg_planned_works: planned programmes (window replacement, door renewal, ...) as known on the as-of date.
-- Grain: one row per (coalesce(property_ref, block_ref, estate), programme, start_date): its latest version with
--   known_on <= $known_by, for programmes started on or before $as_of. A future end date is kept (still running).
-- Parameters: $as_of (date: events after it are cut), $known_by (date: $as_of plus the publication lag).

with

source as (
    select * from raw_planned_works
),

known as (
    select *
    from source
    where known_on <= $known_by
    qualify row_number() over (
        partition by coalesce(property_ref, block_ref, estate), programme, start_date
        order by known_on desc, file_id desc, source_row desc
    ) = 1
),

final as (
    select
        nullif(trim(property_ref), '') as property_ref,
        nullif(trim(block_ref), '') as block_ref,
        nullif(trim(estate), '') as estate,
        programme,
        start_date,
        end_date,
        file_id,
        source_row,
        known_on
    from known
    where start_date <= $as_of
)

select * from final
