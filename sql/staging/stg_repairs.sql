-- stg_repairs: the repairs extract as it was known on the as-of date.
-- Grain: one row per job_ref: its latest version known by the knowledge date (stg_repairs__known: greatest
--   known_on, then file_id, then source_row), for jobs reported on or before $as_of.
-- Units: cost_gbp in pounds; reported_on is the date part of reported_at.
-- Parameters: $as_of (date: events after it are cut; a completion after it is blanked).
-- Text: description_enc stays encrypted; categories, location, evidence and the booleans are the ingest-time
--   classification of that text (vocabulary, not prose). Codes are lower-cased; blank tenancy refs become null.
-- The weekly run reads stg_repairs__known from the rows it keeps (pipelines/scoring/incremental.py): this model
--   is all that runs over every job each week, so it only cuts and tidies.

with

known as (
    select * from stg_repairs__known
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
