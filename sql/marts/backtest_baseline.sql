-- backtest_baseline: the simple rules baseline the backtest ranks beside the model (DSSG: always compare
--   with a simple baseline). "Most red-flag repairs in the past year" as known on the as-of date.
-- Grain: one row per live tenancy with at least one red-flag repair reported in the 365 days to $as_of.
-- Units: red_flag_repairs_365d is a count of repair jobs; last_reported_at is a timestamp.
-- Parameters: $as_of (date: events after it are cut), $known_by (date: $as_of plus the publication lag).
-- Deliberately naive: no look-alike discounts, no known-case suppression, no peers, no other signals.
-- Reads the raw tables itself (latest version of each key known on $as_of) so it does not depend on the
--   scoring models having run first.

with

repairs_source as (
    select * from raw_repairs
),

tenancies_source as (
    select * from raw_tenancies
),

repairs as (
    select *
    from repairs_source
    where known_on <= $known_by
    qualify row_number() over (
        partition by job_ref
        order by known_on desc, file_id desc, source_row desc
    ) = 1
),

tenancies as (
    select *
    from tenancies_source
    where known_on <= $known_by
    qualify row_number() over (
        partition by tenancy_ref
        order by known_on desc, file_id desc, source_row desc
    ) = 1
),

live_tenancies as (
    select tenancy_ref
    from tenancies
    where start_date <= $as_of and (end_date is null or end_date > $as_of)
),

red_flag_repairs as (
    select
        reported_at,
        nullif(trim(tenancy_ref), '') as tenancy_ref
    from repairs
    where
        coalesce(len(categories), 0) > 0
        and coalesce(lower(trim(status)), '') <> 'cancelled'
        and cast(reported_at as date) <= $as_of
        and cast(reported_at as date) > $as_of - interval 365 day
),

final as (
    select
        r.tenancy_ref,
        count(*) as red_flag_repairs_365d,
        max(r.reported_at) as last_reported_at
    from red_flag_repairs as r
    inner join live_tenancies as t on r.tenancy_ref = t.tenancy_ref
    group by r.tenancy_ref
)

select * from final
