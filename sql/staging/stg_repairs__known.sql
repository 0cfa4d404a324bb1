-- stg_repairs__known: the repairs extract as known by $known_by, before events are cut at the as-of date.
-- Grain: one row per job_ref: its latest version with known_on <= $known_by (greatest known_on, then file_id,
--   then source_row), whenever the job was reported or completed; every column of raw_repairs, as loaded.
-- Parameters: $known_by (date: the as-of date plus the publication lag).
-- Kept between weekly runs (pipelines/scoring/incremental.py, table cache_stg_repairs__known): $known_by only
--   grows, so a job's row changes only when a new version of it becomes visible; stg_repairs cuts at the as-of date.
-- Speed: the latest version of each job is an aggregate over the key columns (arg_max of the row id), not a sort of
--   the whole rows, and only the winning rows are read in full (the blob included). The CTEs are not materialised:
--   scanning raw_repairs twice is cheaper than copying it.

with

source as not materialized (
    select
        rowid as raw_rowid,
        *
    from raw_repairs
),

visible as not materialized (
    select *
    from source
    where known_on <= $known_by
),

latest_versions as (
    -- the row with the greatest (known_on, file_id, source_row): tuples compare field by field, as the grain says
    select arg_max(raw_rowid, (known_on, file_id, source_row)) as raw_rowid
    from visible
    group by job_ref
),

known as (
    -- raw_repairs' columns in its order (kept rows and raw rows are read as one: pipelines/scoring/incremental.py)
    select
        visible.job_ref,
        visible.property_ref,
        visible.tenancy_ref,
        visible.reported_at,
        visible.completed_at,
        visible.sor_code,
        visible.description_enc,
        visible.priority,
        visible.trade,
        visible.status,
        visible.cost_gbp,
        visible.categories,
        visible.location,
        visible.evidence,
        visible.has_police_ref,
        visible.is_communal_text,
        visible.file_id,
        visible.source_row,
        visible.known_on
    from visible
    semi join latest_versions on visible.raw_rowid = latest_versions.raw_rowid
)

select * from known
