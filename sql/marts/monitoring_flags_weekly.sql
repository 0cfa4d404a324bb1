-- Red-flag repairs per category per week, as the weekly run saw them.
-- Grain: one row per week and red-flag category (the five contract categories plus any other found), zero-filled.
-- A repair counts in the week it was reported, using the latest version known by the end of that week;
-- cancelled jobs never count; a repair with two categories counts under each. Units: repairs.
-- Parameters: $last_day (date), $weeks (integer; include the trailing weeks that drift needs).

with

params as (
    select
        cast($last_day as date) as last_day,
        cast($last_day as date) - 7 * cast($weeks as integer) + 1 as first_day,
        cast($last_day as date) - 7 * (cast($weeks as integer) - 1) as first_week_ending
),

spine as (
    select cast(unnest(generate_series(p.first_week_ending, p.last_day, interval 7 day)) as date) as week_ending
    from params as p
),

versions as (
    select
        r.job_ref,
        r.categories,
        r.status,
        r.known_on,
        r.file_id,
        r.source_row,
        p.last_day - cast(7 * (datediff('day', cast(r.reported_at as date), p.last_day) // 7) as integer) as week_ending
    from raw_repairs as r
    cross join params as p
    where cast(r.reported_at as date) between p.first_day and p.last_day
),

as_seen as (
    select *
    from versions
    where known_on <= week_ending
    qualify row_number() over (partition by job_ref order by known_on desc, file_id desc, source_row desc) = 1
),

flagged as (
    select
        week_ending,
        unnest(categories) as category
    from as_seen
    where coalesce(lower(status), '') <> 'cancelled' and len(categories) > 0
),

categories as (
    select unnest(['lock_change', 'door_damage', 'window_damage', 'lost_keys', 'forced_entry']) as category
    union
    select distinct category from flagged
),

counted as (
    select
        week_ending,
        category,
        count(*) as flags
    from flagged
    group by week_ending, category
),

final as (
    select
        s.week_ending,
        c.category,
        coalesce(n.flags, 0) as flags
    from spine as s
    cross join categories as c
    left join counted as n on s.week_ending = n.week_ending and c.category = n.category
)

select * from final
order by week_ending, category
