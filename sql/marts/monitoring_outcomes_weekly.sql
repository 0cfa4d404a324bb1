-- Reviewers' outcomes per team per week of publication (the latest outcome per household on the week's list).
-- Grain: one row per week, team and outcome value ('not_reviewed' for households without one yet).
-- A week's list is the last one published for an as-of date in that week; a correction (a later outcome row)
-- replaces the earlier one. Units: households.
-- Parameters: $last_day (date), $weeks (integer).

with

params as (
    select
        cast($last_day as date) as last_day,
        cast($last_day as date) - 7 * cast($weeks as integer) + 1 as first_day
),

lists as (
    select
        rl.list_id,
        max(rl.published_at) as published_at,
        max(p.last_day - cast(7 * (datediff('day', rl.as_of, p.last_day) // 7) as integer)) as week_ending
    from review_list_rows as rl
    cross join params as p
    where rl.as_of between p.first_day and p.last_day
    group by rl.list_id
),

weekly_lists as (
    select
        list_id,
        week_ending
    from lists
    qualify row_number() over (partition by week_ending order by published_at desc, list_id desc) = 1
),

latest_outcomes as (
    select
        list_id,
        tenancy_ref,
        outcome
    from outcomes
    qualify row_number() over (
        partition by list_id, tenancy_ref order by imported_at desc, outcome_id desc, source_row desc
    ) = 1
),

households as (
    select distinct
        wl.week_ending,
        rl.team,
        rl.tenancy_ref,
        coalesce(lo.outcome, 'not_reviewed') as outcome
    from weekly_lists as wl
    inner join review_list_rows as rl on wl.list_id = rl.list_id
    left join latest_outcomes as lo on rl.list_id = lo.list_id and rl.tenancy_ref = lo.tenancy_ref
),

final as (
    select
        week_ending,
        team,
        outcome,
        count(*) as households
    from households
    group by week_ending, team, outcome
)

select * from final
order by week_ending, team, outcome
