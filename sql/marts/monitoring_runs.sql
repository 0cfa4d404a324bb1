-- The latest pipeline runs, newest first, for run health. Never the run's detail text (it may name files or rows);
--   warnings are the weekly run's sentences about an empty or stale list (extracts, dates and counts only).
-- Grain: one row per run; at most $max_runs rows. Units: seconds, files, rows.
-- Parameters: $max_runs (integer).

with

runs_ranked as (
    select
        run_id,
        kind,
        as_of,
        started_at,
        finished_at,
        files_loaded,
        files_failed,
        rows_loaded,
        rows_quarantined,
        lower(status) as status,
        noticed_at,
        warnings,
        datediff('second', started_at, finished_at) as duration_seconds
    from runs
),

final as (
    select * from runs_ranked
    order by started_at desc, run_id desc
    limit cast($max_runs as integer)
)

select * from final
order by started_at desc, run_id desc
