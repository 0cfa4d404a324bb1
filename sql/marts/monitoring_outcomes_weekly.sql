-- Reviewers' outcomes per team per week of publication (the latest outcome per household on the week's list).
-- Grain: one row per week, team and outcome value ('not_reviewed' for households without one yet).
-- A week's list is the last one published for an as-of date in that week; a correction (a later outcome row)
-- replaces the earlier one (both resolved in monitoring__list_rows). Units: households.
-- Parameters: none (the weeks are those of monitoring__weekly_lists, materialised first).

with

list_rows as (
    select * from monitoring__list_rows
),

households as (
    select distinct
        week_ending,
        team,
        tenancy_ref,
        coalesce(outcome, 'not_reviewed') as outcome
    from list_rows
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
