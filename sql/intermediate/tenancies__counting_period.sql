-- tenancies__counting_period: each live tenancy, its home, and the period its records count from.
-- Grain: one row per tenancy live on $as_of.
-- counted_from = the latest of the tenancy start, the day after a lapsed known-case marker (only red flags after
--   the lapse count: the household comes back when a new pattern starts) and the start of the long window
--   ($long_window_days ending on $as_of).
-- Units: days. Parameters: $as_of, $long_window_days.

with

tenancies as (
    select * from stg_tenancies
),

properties as (
    select * from stg_properties
),

known_cases as (
    select * from known_cases__live
),

final as (
    select
        tenancies.tenancy_ref,
        tenancies.property_ref,
        tenancies.start_date as tenancy_start_date,
        properties.block_ref,
        properties.estate,
        properties.property_type,
        properties.bedrooms,
        known_cases.lapsed_on as marker_lapsed_on,
        coalesce(known_cases.has_live_marker, false) as has_live_marker,
        greatest(
            tenancies.start_date,
            $as_of - cast($long_window_days as integer) + 1,
            known_cases.lapsed_on + 1
        ) as counted_from
    from tenancies
    left join properties on tenancies.property_ref = properties.property_ref
    left join known_cases on tenancies.tenancy_ref = known_cases.tenancy_ref
    where tenancies.is_live
)

select * from final
