-- stg_rent: weekly rent-account snapshots as known on the as-of date.
-- Grain: one row per (tenancy_ref, week_ending): its latest version with known_on <= $known_by (greatest known_on,
--   then file_id, then source_row), for weeks ending on or before $as_of.
-- Units: balance_gbp and weekly_charge_gbp in pounds; a positive balance is arrears, a negative one credit.
-- Parameters: $as_of (date: events after it are cut), $known_by (date: $as_of plus the publication lag).
-- Speed: almost every week has one version, so only the weeks with several are sorted to find the latest; they are
--   found by grouping on a hash of the key. The CTEs are not materialised: scanning raw_rent three times is cheaper
--   than copying it.

with

source as not materialized (
    select * from raw_rent
),

visible as not materialized (
    -- week_ending is part of the key, so filtering on it before choosing the version changes nothing
    select *
    from source
    where known_on <= $known_by and week_ending <= $as_of
),

revised as (
    -- weeks with several versions, found by a hash of the key: a number is cheaper to group by than the key, and a
    -- rare collision only sends a week with one version to latest_version, which keeps it
    select hash(tenancy_ref, week_ending) as key_hash
    from visible
    group by key_hash
    having count(*) > 1
),

single_version as (
    select visible.*
    from visible
    anti join revised on hash(visible.tenancy_ref, visible.week_ending) = revised.key_hash
),

latest_version as (
    select visible.*
    from visible
    semi join revised on hash(visible.tenancy_ref, visible.week_ending) = revised.key_hash
    qualify row_number() over (
        partition by visible.tenancy_ref, visible.week_ending
        order by visible.known_on desc, visible.file_id desc, visible.source_row desc
    ) = 1
),

known as (
    select * from single_version
    union all
    select * from latest_version
),

final as (
    select
        tenancy_ref,
        week_ending,
        balance_gbp,
        weekly_charge_gbp,
        file_id,
        source_row,
        known_on
    from known
)

select * from final
