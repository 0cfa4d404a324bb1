-- stg_repairs: the repairs extract as it was known on the as-of date.
-- Grain: one row per job_ref: its latest version with known_on <= $known_by (greatest known_on, then file_id,
--   then source_row), for jobs reported on or before $as_of.
-- Units: cost_gbp in pounds; reported_on is the date part of reported_at.
-- Parameters: $as_of (date: events after it are cut), $known_by (date: $as_of plus the publication lag).
-- Text: description_enc stays encrypted; categories, location, evidence and the booleans are the ingest-time
--   classification of that text (vocabulary, not prose). Codes are lower-cased; blank tenancy refs become null.
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
    select visible.*
    from visible
    semi join latest_versions on visible.raw_rowid = latest_versions.raw_rowid
),

final as (
    select
        job_ref,
        property_ref,
        nullif(trim(tenancy_ref), '') as tenancy_ref,
        reported_at,
        cast(reported_at as date) as reported_on,
        case when cast(completed_at as date) <= $as_of then completed_at end as completed_at,
        sor_code,
        description_enc,
        lower(trim(priority)) as priority,
        lower(trim(trade)) as trade,
        lower(trim(status)) as status,
        cost_gbp,
        coalesce(categories, cast([] as varchar[])) as categories,
        lower(location) as location,
        evidence,
        coalesce(has_police_ref, false) as has_police_ref,
        coalesce(is_communal_text, false) as is_communal_text,
        file_id,
        source_row,
        known_on
    from known
    where cast(reported_at as date) <= $as_of
)

select * from final
