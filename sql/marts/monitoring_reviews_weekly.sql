-- Review completion and timeliness per team per week of publication.
-- Grain: one row per week of the report and team with at least one listed household.
-- A week's list is the last one published for an as-of date in that week. A household counts as reviewed when an
-- outcome for it on that list exists; on time when its first outcome's review date is within
-- $within_working_days working days after the publication date (Monday to Friday; bank holidays are not
-- excluded). Not yet reviewed: overdue once $today is past the deadline, else awaiting review.
-- Units: households.
-- Parameters: $last_day (date), $weeks (integer), $today (date), $within_working_days (integer).

with

params as (
    select
        cast($last_day as date) as last_day,
        cast($today as date) as today,
        cast($within_working_days as integer) as within_days,
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
        week_ending,
        cast(published_at as date) as published_on
    from lists
    qualify row_number() over (partition by week_ending order by published_at desc, list_id desc) = 1
),

first_reviews as (
    select
        list_id,
        tenancy_ref,
        min(reviewed_on) as first_reviewed_on
    from outcomes
    group by list_id, tenancy_ref
),

households as (
    select distinct
        wl.week_ending,
        wl.published_on,
        rl.team,
        rl.tenancy_ref,
        fr.first_reviewed_on
    from weekly_lists as wl
    inner join review_list_rows as rl on wl.list_id = rl.list_id
    left join first_reviews as fr on rl.list_id = fr.list_id and rl.tenancy_ref = fr.tenancy_ref
),

timed as (
    -- Working days after publication up to a date: the Mondays to Fridays in (published_on, date].
    select
        h.week_ending,
        h.team,
        h.first_reviewed_on,
        p.within_days,
        len(list_filter(
            generate_series(h.published_on + 1, h.first_reviewed_on, interval 1 day),
            lambda d: isodow(d) < 6  -- noqa: RF02
        )) as working_days_to_review,
        len(list_filter(
            generate_series(h.published_on + 1, p.today, interval 1 day),
            lambda d: isodow(d) < 6  -- noqa: RF02
        )) as working_days_so_far
    from households as h
    cross join params as p
),

final as (
    select
        week_ending,
        team,
        count(*) as households_listed,
        count(first_reviewed_on) as reviewed,
        count(*) filter (where working_days_to_review <= within_days) as reviewed_on_time,
        count(*) filter (where working_days_to_review > within_days) as reviewed_late,
        count(*) filter (where first_reviewed_on is null and working_days_so_far > within_days) as overdue,
        count(*) filter (where first_reviewed_on is null and working_days_so_far <= within_days) as awaiting_review
    from timed
    group by week_ending, team
)

select * from final
order by week_ending, team
