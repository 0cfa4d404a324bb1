-- Review list size and carried-forward households per team per week.
-- Grain: one row per week of the report and team that had a list row or a carried-forward row in the report,
-- zero-filled. A week's list is the last one published for an as-of date in that week (a re-run replaces it).
-- waiting_2plus_weeks: of those carried forward, the ones also carried forward the week before.
-- Units: households. Capacity is configuration, joined in Python.
-- Parameters: $last_day (date), $weeks (integer): the same as monitoring__weekly_lists, materialised first.

with

params as (
    select
        cast($last_day as date) as last_day,
        cast($last_day as date) - 7 * (cast($weeks as integer) - 1) as first_week_ending
),

weekly_lists as (
    select * from monitoring__weekly_lists
),

list_rows as (
    select * from monitoring__list_rows
),

carried_forward as (
    select * from carried_forward
),

spine as (
    select cast(unnest(generate_series(p.first_week_ending, p.last_day, interval 7 day)) as date) as week_ending
    from params as p
),

listed as (
    select
        week_ending,
        team,
        count(distinct tenancy_ref) as households_listed,
        count(distinct tenancy_ref) filter (where is_complex_case) as complex_cases
    from list_rows
    group by week_ending, team
),

carried_households as (
    select distinct
        wl.week_ending,
        cf.team,
        cf.tenancy_ref
    from weekly_lists as wl
    inner join carried_forward as cf on wl.list_id = cf.list_id
),

carried as (
    -- waiting_2plus_weeks: carried this week and on the week before's list too (the backlog not moving)
    select
        this_week.week_ending,
        this_week.team,
        count(distinct this_week.tenancy_ref) as carried_forward,
        count(distinct this_week.tenancy_ref) filter (where week_before.tenancy_ref is not null)
            as waiting_2plus_weeks
    from carried_households as this_week
    left join carried_households as week_before
        on
            this_week.tenancy_ref = week_before.tenancy_ref
            and week_before.week_ending = this_week.week_ending - 7
    group by this_week.week_ending, this_week.team
),

teams as (
    select team from listed
    union
    select team from carried
),

final as (
    select
        s.week_ending,
        t.team,
        coalesce(max(wl.lists_published), 0) as lists_published,
        coalesce(max(l.households_listed), 0) as households_listed,
        coalesce(max(c.carried_forward), 0) as carried_forward,
        coalesce(max(c.waiting_2plus_weeks), 0) as waiting_2plus_weeks,
        coalesce(max(l.complex_cases), 0) as complex_cases
    from spine as s
    cross join teams as t
    left join weekly_lists as wl on s.week_ending = wl.week_ending
    left join listed as l on s.week_ending = l.week_ending and t.team = l.team
    left join carried as c on s.week_ending = c.week_ending and t.team = c.team
    group by s.week_ending, t.team
)

select * from final
order by week_ending, team
