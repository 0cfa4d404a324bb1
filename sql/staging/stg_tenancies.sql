-- stg_tenancies: tenancies as known on the as-of date.
-- Grain: one row per tenancy_ref: its latest version with known_on <= $known_by, for tenancies started on or
--   before $as_of. An end date after $as_of had not happened yet, so it is null here; is_live says the
--   tenancy was running on $as_of.
-- Parameters: $as_of (date: events after it are cut), $known_by (date: $as_of plus the publication lag).

with

source as (
    select * from raw_tenancies
),

known as (
    select *
    from source
    where known_on <= $known_by
    qualify row_number() over (
        partition by tenancy_ref
        order by known_on desc, file_id desc, source_row desc
    ) = 1
),

final as (
    select
        tenancy_ref,
        property_ref,
        start_date,
        case when end_date <= $as_of then end_date end as end_date,
        coalesce(end_date > $as_of, true) as is_live,
        file_id,
        source_row,
        known_on
    from known
    where start_date <= $as_of
)

select * from final
