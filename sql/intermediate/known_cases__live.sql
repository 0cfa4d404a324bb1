-- known_cases__live: households with a suppressing known-case marker, and whether it is live on the as-of date.
-- Grain: one row per tenancy_ref with at least one marker in $markers (matched on the trimmed, lower-cased value).
-- A marker is live from its start date until its end date, or for $default_live_months after its start when it
-- has no end date. lapsed_on is the latest day a lapsed marker was still live: only red flags after it count.
-- Parameters: $as_of (date), $markers (lower-case list of text), $default_live_months (months).

with

known_cases as (
    select * from stg_known_cases
),

markers as (
    select
        tenancy_ref,
        marker_normalised,
        start_date,
        coalesce(end_date, cast(start_date + to_months(cast($default_live_months as integer)) as date)) as live_until
    from known_cases
    where list_contains($markers, marker_normalised)
),

final as (
    select
        tenancy_ref,
        bool_or($as_of between start_date and live_until) as has_live_marker,
        max(live_until) filter (where live_until < $as_of) as lapsed_on,
        max(live_until) filter (where $as_of between start_date and live_until) as live_until,
        count(*) as markers
    from markers
    group by tenancy_ref
)

select * from final
