-- Quarantined problems per week, grouped by kind of reason: never the reason text or a cell value.
-- Grain: one row per week, extract and reason kind that has at least one problem.
-- A week is the one holding the file's extract date (known_on; the quarantine date when the file never loaded).
-- A row with two problems counts under each. Units: problems (quarantine entries).
-- Parameters: $last_day (date), $weeks (integer).

with

params as (
    select
        cast($last_day as date) as last_day,
        cast($last_day as date) - 7 * cast($weeks as integer) + 1 as first_day
),

problems as (
    select
        q.extract,
        q.source_row,
        lower(q.reason) as reason,
        coalesce(lf.known_on, cast(q.quarantined_at as date)) as known_on
    from quarantine as q
    left join loaded_files as lf on q.file_id = lf.file_id
),

kinds as (
    select
        pr.extract,
        p.last_day - cast(7 * (datediff('day', pr.known_on, p.last_day) // 7) as integer) as week_ending,
        case
            when pr.source_row is null then 'whole file refused'
            when pr.reason like '%repeat%' or pr.reason like '%duplicate%' then 'key repeated in the file'
            when
                pr.reason like '%blank%' or pr.reason like '%missing%' or pr.reason like '%empty%'
                or pr.reason like '%required%'
                then 'blank required value'
            when pr.reason like '%date%' or pr.reason like '%time%' then 'unreadable date'
            when
                pr.reason like '%amount%' or pr.reason like '%money%' or pr.reason like '%number%'
                or pr.reason like '%decimal%' or pr.reason like '%numeric%'
                then 'unreadable amount or number'
            else 'other problem'
        end as reason_kind
    from problems as pr
    cross join params as p
    where pr.known_on between p.first_day and p.last_day
),

final as (
    select
        week_ending,
        extract,
        reason_kind,
        count(*) as problems
    from kinds
    group by week_ending, extract, reason_kind
)

select * from final
order by week_ending, extract, reason_kind
