-- knowledge_by_extract: what a list for the week ending $as_of could use of each extract (knowledge time).
-- Grain: one row per extract with at least one loaded file.
-- Units: dates; files and rows are counts of loaded files and their loaded rows.
-- Parameters: $known_by (date: the as-of date plus the publication lag).
-- newest_known_on is the newest extract date used (null when no file of the extract is known by then);
--   files_not_yet_known / rows_not_yet_known count the files dated after $known_by, left out of this list.

with

files as (
    select * from loaded_files
),

final as (
    select
        extract,
        max(known_on) filter (where known_on <= $known_by) as newest_known_on,
        count(*) filter (where known_on <= $known_by) as files_known,
        count(*) filter (where known_on > $known_by) as files_not_yet_known,
        coalesce(sum(rows_loaded) filter (where known_on > $known_by), 0) as rows_not_yet_known
    from files
    group by extract
)

select * from final
order by extract
