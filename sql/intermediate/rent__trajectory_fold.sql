-- rent__trajectory_fold: rent__trajectory carried forward from a saved state by the weeks that arrived since.
-- Grain: one row per tenancy_ref in rent_fold_rows.
-- Inputs (temporary tables made by pipelines/scoring/incremental.py):
--   rent_fold_rows   stg_rent's rows (latest version of each week) to add, all after the tenancy's saved weeks;
--   rent_fold_state  the saved state of a tenancy (none: it starts from no weeks), as this model last returned it.
-- Output: rent__trajectory's columns, the same values and types as rent__trajectory over the tenancy's whole history
--   (tests/pipelines/scoring/test_incremental.py replays weeks both ways), plus the state the next week starts
--   from: n_weeks (weeks seen) and tail_balances (the balances of the last $arrears_clear_weeks of them, in week order:
--   the clear-run window and the lag of the next weeks read nothing older).
-- Weeks are numbered on from the state's n_weeks, so "a full clear run before" ($arrears_clear_weeks rows) and the
--   latest onset mean what they mean over the whole history. Without a new onset, the state's onset stands and its
--   peak grows with the new weeks in arrears.
-- Speed: added and weeks are read by several CTEs, so they are materialised once (inlined, each reader sorted the
--   weeks again).
-- Units: pounds; weeks. Parameters: $arrears_clear_weeks, $arrears_clear_max_gbp.

with

state as (
    select * from rent_fold_state
),

added as materialized (
    select
        rent_fold_rows.tenancy_ref,
        rent_fold_rows.week_ending,
        rent_fold_rows.balance_gbp,
        rent_fold_rows.weekly_charge_gbp,
        coalesce(state.n_weeks, 0)
        + row_number() over (partition by rent_fold_rows.tenancy_ref order by rent_fold_rows.week_ending)
            as week_number
    from rent_fold_rows
    left join state on rent_fold_rows.tenancy_ref = state.tenancy_ref
),

kept as (
    -- the saved last weeks, numbered as they were (their dates are not needed: order is the week number)
    select
        state.tenancy_ref,
        unnest(state.tail_balances) as balance_gbp,
        state.n_weeks - len(state.tail_balances) + unnest(range(1, len(state.tail_balances) + 1)) as week_number
    from state
    semi join added on state.tenancy_ref = added.tenancy_ref
),

combined as (
    select
        tenancy_ref,
        week_ending,
        balance_gbp,
        week_number,
        true as is_added
    from added
    union all
    select
        tenancy_ref,
        null as week_ending,
        balance_gbp,
        week_number,
        false as is_added
    from kept
),

weeks as materialized (
    select
        tenancy_ref,
        week_ending,
        balance_gbp,
        week_number,
        is_added,
        lag(balance_gbp) over by_week as previous_balance_gbp,
        max(balance_gbp) over clear_run as max_previous_balance_gbp
    from combined
    window
        by_week as (partition by tenancy_ref order by week_number),
        clear_run as (
            partition by tenancy_ref order by week_number
            rows between $arrears_clear_weeks preceding and 1 preceding
        )
),

latest as (
    select
        tenancy_ref,
        max(week_ending) as latest_week_ending,
        arg_max(balance_gbp, week_ending) as current_balance_gbp,
        arg_max_null(weekly_charge_gbp, week_ending) as weekly_charge_gbp,
        max(week_number) as n_weeks
    from added
    group by tenancy_ref
),

onsets as (
    select
        tenancy_ref,
        max(week_ending) as week_ending,
        arg_max(previous_balance_gbp, week_ending) as previous_balance_gbp
    from weeks
    where
        is_added
        and balance_gbp > $arrears_clear_max_gbp
        and week_number > $arrears_clear_weeks
        and max_previous_balance_gbp <= $arrears_clear_max_gbp
    group by tenancy_ref
),

peaks as (
    select
        weeks.tenancy_ref,
        max(weeks.balance_gbp) filter (where weeks.week_ending >= onsets.week_ending) as since_new_onset_gbp,
        max(weeks.balance_gbp) as since_saved_onset_gbp
    from weeks
    left join onsets on weeks.tenancy_ref = onsets.tenancy_ref
    where weeks.is_added and weeks.balance_gbp > $arrears_clear_max_gbp
    group by weeks.tenancy_ref
),

tails as (
    select
        weeks.tenancy_ref,
        list(weeks.balance_gbp order by weeks.week_number) as tail_balances
    from weeks
    inner join latest on weeks.tenancy_ref = latest.tenancy_ref
    where weeks.week_number > latest.n_weeks - $arrears_clear_weeks
    group by weeks.tenancy_ref
),

carried as (
    select
        latest.tenancy_ref,
        latest.latest_week_ending,
        latest.current_balance_gbp,
        latest.weekly_charge_gbp,
        coalesce(onsets.week_ending, state.arrears_onset_on) as arrears_onset_on,
        case
            when onsets.tenancy_ref is not null then onsets.previous_balance_gbp else state.pre_onset_balance_gbp
        end as pre_onset_balance_gbp,
        case
            when onsets.tenancy_ref is not null then peaks.since_new_onset_gbp
            when state.arrears_onset_on is not null
                then greatest(state.peak_balance_since_onset_gbp, peaks.since_saved_onset_gbp)
        end as peak_balance_since_onset_gbp,
        latest.n_weeks,
        tails.tail_balances
    from latest
    left join state on latest.tenancy_ref = state.tenancy_ref
    left join onsets on latest.tenancy_ref = onsets.tenancy_ref
    left join peaks on latest.tenancy_ref = peaks.tenancy_ref
    inner join tails on latest.tenancy_ref = tails.tenancy_ref
),

final as (
    select
        tenancy_ref,
        latest_week_ending,
        current_balance_gbp,
        weekly_charge_gbp,
        arrears_onset_on,
        pre_onset_balance_gbp,
        current_balance_gbp - pre_onset_balance_gbp as arrears_rise_gbp,
        peak_balance_since_onset_gbp,
        n_weeks,
        tail_balances
    from carried
)

select * from final
