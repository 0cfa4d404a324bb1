-- rent__trajectory: each tenancy's rent-account path, and the latest onset of arrears after a clear account.
-- Grain: one row per tenancy_ref with rent snapshots known on the as-of date.
-- A week is clear when its balance is at most $arrears_clear_max_gbp. An onset is a week in arrears after
-- $arrears_clear_weeks clear weeks in a row; arrears_onset_on is the latest one. arrears_rise_gbp is the current
-- balance less the last clear balance before that onset (null without an onset).
-- One sort per tenancy (the lag and the clear-run frame share it); latest and onset are aggregates, not sorts.
-- Units: pounds; weeks. Parameters: $arrears_clear_weeks, $arrears_clear_max_gbp.

with

rent as (
    select * from stg_rent
),

weeks as (
    select
        tenancy_ref,
        week_ending,
        balance_gbp,
        lag(balance_gbp) over by_week as previous_balance_gbp,
        max(balance_gbp) over clear_run as max_previous_balance_gbp,
        count(*) over clear_run as previous_weeks
    from rent
    window
        by_week as (partition by tenancy_ref order by week_ending),
        clear_run as (
            partition by tenancy_ref order by week_ending
            rows between $arrears_clear_weeks preceding and 1 preceding
        )
),

onsets as (
    select
        tenancy_ref,
        max(week_ending) as week_ending,
        arg_max(previous_balance_gbp, week_ending) as previous_balance_gbp
    from weeks
    where
        balance_gbp > $arrears_clear_max_gbp
        and previous_weeks = $arrears_clear_weeks
        and max_previous_balance_gbp <= $arrears_clear_max_gbp
    group by tenancy_ref
),

latest as (
    select
        tenancy_ref,
        max(week_ending) as latest_week_ending,
        arg_max(balance_gbp, week_ending) as current_balance_gbp,
        arg_max_null(weekly_charge_gbp, week_ending) as weekly_charge_gbp
    from rent
    group by tenancy_ref
),

peaks as (
    select
        rent.tenancy_ref,
        max(rent.balance_gbp) as peak_balance_since_onset_gbp
    from rent
    inner join onsets on rent.tenancy_ref = onsets.tenancy_ref and rent.week_ending >= onsets.week_ending
    group by rent.tenancy_ref
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
        peaks.peak_balance_since_onset_gbp
    from latest
    left join onsets on latest.tenancy_ref = onsets.tenancy_ref
    left join peaks on latest.tenancy_ref = peaks.tenancy_ref
)

select * from final
