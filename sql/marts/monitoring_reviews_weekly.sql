-- Review completion and timeliness per team per week of publication.
-- Grain: one row per week of the report and team with at least one listed household.
-- A week's list is the last one published for an as-of date in that week. A household counts as reviewed when an
-- outcome for it on that list exists; on time when its first outcome's review date is within
-- $within_working_days working days after the publication date (Monday to Friday, less the England and Wales
-- bank holidays in $bank_holidays, from models.monitoring.bank_holidays). Not yet reviewed: overdue once
-- $today is past the deadline, else awaiting review.
-- Units: households.
-- Parameters: $today (date), $within_working_days (integer), $bank_holidays (date[]); the weeks are
-- monitoring__weekly_lists'.

with

params as (
    select
        cast($today as date) as today,
        cast($within_working_days as integer) as within_days,
        cast($bank_holidays as date[]) as bank_holidays
),

list_rows as (
    select * from monitoring__list_rows
),

households as (
    select distinct
        week_ending,
        cast(published_at as date) as published_on,
        team,
        tenancy_ref,
        first_reviewed_on
    from list_rows
),

timed as (
    -- Working days after publication up to a date: the Mondays to Fridays in (published_on, date] that are
    -- not bank holidays.
    select
        h.week_ending,
        h.team,
        h.first_reviewed_on,
        p.within_days,
        len(list_filter(
            generate_series(h.published_on + 1, h.first_reviewed_on, interval 1 day),
            lambda d: isodow(d) < 6 and not list_contains(p.bank_holidays, cast(d as date))  -- noqa: RF02
        )) as working_days_to_review,
        len(list_filter(
            generate_series(h.published_on + 1, p.today, interval 1 day),
            lambda d: isodow(d) < 6 and not list_contains(p.bank_holidays, cast(d as date))  -- noqa: RF02
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
