-- rent__trajectory: each tenancy's rent-account path, and the latest onset of arrears after a clear account.
-- Grain: one row per tenancy_ref with rent snapshots known on the as-of date.
-- A week is clear when its balance is at most $arrears_clear_max_gbp. An onset is a week in arrears after
-- $arrears_clear_weeks clear weeks in a row; arrears_onset_on is the latest one. arrears_rise_gbp is the current
-- balance less the last clear balance before that onset (null without an onset).
-- Speed: one sort per tenancy (the lag, the week number and the clear-run frame share it); latest and onset are
--   aggregates, not sorts. The sort is on tenancy_id, a number given to each tenancy in latest, not on the string
--   tenancy_ref. A full clear run is a week number above $arrears_clear_weeks (a row count, not a second framed
--   aggregate). Only weeks in arrears can be the peak after an onset (the onset week is one).
-- n_weeks and tail_balances (the last $arrears_clear_weeks balances, in week order) are what the weekly run keeps to
--   carry the trajectory forward by new weeks (rent__trajectory_fold.sql; pipelines/scoring/incremental.py).
-- Units: pounds; weeks. Parameters: $arrears_clear_weeks, $arrears_clear_max_gbp.

with

rent as not materialized (
    select * from stg_rent
),

latest as (
    select
        tenancy_ref,
        row_number() over () as tenancy_id,
        max(week_ending) as latest_week_ending,
        arg_max(balance_gbp, week_ending) as current_balance_gbp,
        arg_max_null(weekly_charge_gbp, week_ending) as weekly_charge_gbp,
        count(*) as n_weeks,
        list_reverse(arg_max(balance_gbp, week_ending, $arrears_clear_weeks)) as tail_balances
    from rent
    group by tenancy_ref
),

numbered as (
    select
        latest.tenancy_id,
        rent.week_ending,
        rent.balance_gbp
    from rent
    inner join latest on rent.tenancy_ref = latest.tenancy_ref
),

weeks as (
    select
        tenancy_id,
        week_ending,
        balance_gbp,
        lag(balance_gbp) over by_week as previous_balance_gbp,
        row_number() over by_week as week_number,
        max(balance_gbp) over clear_run as max_previous_balance_gbp
    from numbered
    window
        by_week as (partition by tenancy_id order by week_ending),
        clear_run as (
            partition by tenancy_id order by week_ending
            rows between $arrears_clear_weeks preceding and 1 preceding
        )
),

onsets as (
    select
        tenancy_id,
        max(week_ending) as week_ending,
        arg_max(previous_balance_gbp, week_ending) as previous_balance_gbp
    from weeks
    where
        balance_gbp > $arrears_clear_max_gbp
        and week_number > $arrears_clear_weeks
        and max_previous_balance_gbp <= $arrears_clear_max_gbp
    group by tenancy_id
),

peaks as (
    select
        numbered.tenancy_id,
        max(numbered.balance_gbp) as peak_balance_since_onset_gbp
    from numbered
    inner join onsets on numbered.tenancy_id = onsets.tenancy_id and numbered.week_ending >= onsets.week_ending
    where numbered.balance_gbp > $arrears_clear_max_gbp
    group by numbered.tenancy_id
),

final as (
    select
        latest.tenancy_ref,
        latest.latest_week_ending,
        latest.current_balance_gbp,
        latest.weekly_charge_gbp,
        onsets.week_ending as arrears_onset_on,
        onsets.previous_balance_gbp as pre_onset_balance_gbp,
        latest.current_balance_gbp - onsets.previous_balance_gbp as arrears_rise_gbp,
        peaks.peak_balance_since_onset_gbp,
        latest.n_weeks,
        latest.tail_balances
    from latest
    left join onsets on latest.tenancy_id = onsets.tenancy_id
    left join peaks on latest.tenancy_id = peaks.tenancy_id
)

select * from final
