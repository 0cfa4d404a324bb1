-- households__waiting: how many weeks each household has been waiting on the carried-forward backlog.
-- Grain: one row per tenancy_ref carried forward on the latest list published before $as_of.
-- A published week is an as-of date before $as_of with a list row or a carried-forward row. weeks_waited counts the
--   consecutive published weeks, the latest first, on which the household was carried forward; a week on which it
--   was listed (or neither listed nor carried) ends the run. A household carried last week and the week before, and
--   listed three weeks ago, has weeks_waited 2. A household on this week's backlog waits weeks_waited + 1 weeks.
-- Units: weeks (published lists). Parameters: $as_of (date).

with

listed as (
    select * from review_list_rows
),

carried as (
    select * from carried_forward
),

earlier_weeks as (
    select as_of from listed
    union
    select as_of from carried
),

published_weeks as (
    select
        as_of,
        row_number() over (order by as_of desc) as weeks_back
    from earlier_weeks
    where as_of < $as_of
),

carried_weeks as (
    -- carried that week and not also listed that week (a re-run that listed it wins)
    select distinct
        carried.tenancy_ref,
        published_weeks.weeks_back
    from carried
    inner join published_weeks on carried.as_of = published_weeks.as_of
    anti join listed on carried.tenancy_ref = listed.tenancy_ref and carried.as_of = listed.as_of
),

runs as (
    -- weeks_back - row_number is 0 along the run that starts with the latest published week
    select
        tenancy_ref,
        weeks_back,
        weeks_back - row_number() over (partition by tenancy_ref order by weeks_back) as run_offset
    from carried_weeks
),

final as (
    select
        tenancy_ref,
        count(*) as weeks_waited
    from runs
    where run_offset = 0
    group by tenancy_ref
)

select * from final
