-- monitoring__weekly_lists: each report week's review list, shared by the monitoring marts (materialised first).
-- Grain: one row per week of the report that has a list. A week's list is the last one published for an as-of
-- date in that week (a re-run replaces it); lists_published counts every list published for the week.
-- Parameters: $last_day (date), $weeks (integer).

with

params as (
    select
        cast($last_day as date) as last_day,
        cast($last_day as date) - 7 * cast($weeks as integer) + 1 as first_day
),

review_list_rows as (
    select * from review_list_rows
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

final as (
    select
        list_id,
        week_ending,
        published_at,
        count(*) over (partition by week_ending) as lists_published
    from lists
    qualify row_number() over (partition by week_ending order by published_at desc, list_id desc) = 1
)

select * from final
