-- stg_recharges: the recharges extract as it was known on the as-of date.
-- Grain: one row per recharge_ref: its latest version with known_on <= $known_by, raised on or before $as_of.
-- Units: amount_gbp in pounds. raised_on is the date raised.
-- Parameters: $as_of (date: events after it are cut), $known_by (date: $as_of plus the publication lag).
-- Text: reason_enc stays encrypted; categories is the ingest-time classification of the reason.

with

source as (
    select * from raw_recharges
),

known as (
    select *
    from source
    where known_on <= $known_by
    qualify row_number() over (
        partition by recharge_ref
        order by known_on desc, file_id desc, source_row desc
    ) = 1
),

final as (
    select
        recharge_ref,
        tenancy_ref,
        nullif(trim(property_ref), '') as property_ref,
        nullif(trim(job_ref), '') as job_ref,
        raised_at as raised_on,
        amount_gbp,
        reason_enc,
        lower(trim(status)) as status,
        coalesce(categories, cast([] as varchar[])) as categories,
        file_id,
        source_row,
        known_on
    from known
    where raised_at <= $as_of
)

select * from final
