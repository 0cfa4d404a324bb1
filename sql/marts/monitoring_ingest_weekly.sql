-- Extract files loaded and rows quarantined, per week.
-- Grain: one row per week of the report (weeks end on $last_day and every 7 days before it), zero-filled.
-- A file belongs to the week holding its extract date (known_on: the date in its name, else its load date).
-- Units: files, rows.
-- Parameters: $last_day (date, the last day of the last week), $weeks (integer, weeks in the report).

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

files as (
    select
        lf.file_id,
        lf.extract,
        lf.rows_read,
        lf.rows_loaded,
        lf.rows_quarantined,
        p.last_day - cast(7 * (datediff('day', lf.known_on, p.last_day) // 7) as integer) as week_ending
    from loaded_files as lf
    cross join params as p
    where lf.known_on between p.first_day and p.last_day
),

weekly as (
    select
        week_ending,
        count(*) as files_loaded,
        count(distinct extract) as extracts_loaded,
        sum(rows_read) as rows_read,
        sum(rows_loaded) as rows_loaded,
        sum(rows_quarantined) as rows_quarantined
    from files
    group by week_ending
),

final as (
    select
        s.week_ending,
        coalesce(w.files_loaded, 0) as files_loaded,
        coalesce(w.extracts_loaded, 0) as extracts_loaded,
        coalesce(w.rows_read, 0) as rows_read,
        coalesce(w.rows_loaded, 0) as rows_loaded,
        coalesce(w.rows_quarantined, 0) as rows_quarantined
    from spine as s
    left join weekly as w on s.week_ending = w.week_ending
)

select * from final
order by week_ending
