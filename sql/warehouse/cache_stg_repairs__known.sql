-- cache_stg_repairs__known_next: an empty table for the weekly run's kept repairs, filled with stg_repairs__known
-- by a full recomputation and then renamed cache_stg_repairs__known (pipelines/scoring/incremental.py).
-- Grain: one row per job_ref, its latest version known by the kept knowledge date; raw_repairs' columns, types
--   and order (tests/pipelines/scoring/test_incremental.py checks them).
-- Storage: the references are keyed pseudonyms (random-looking, unique per job): DuckDB's dictionary and FSST
--   compression gains them little and, analysing 2.7 M of each at 160,000 homes, took half the CPU of writing
--   the table; so they, and the encrypted text (as in raw_repairs), are stored uncompressed.

create or replace table cache_stg_repairs__known_next ( -- noqa: PRS
    job_ref varchar not null using compression uncompressed,
    property_ref varchar not null using compression uncompressed,
    tenancy_ref varchar using compression uncompressed,
    reported_at timestamp not null,
    completed_at timestamp,
    sor_code varchar,
    description_enc blob using compression uncompressed,
    priority varchar,
    trade varchar,
    status varchar,
    cost_gbp decimal(14, 2),
    categories varchar[],
    location varchar,
    evidence varchar,
    has_police_ref boolean,
    is_communal_text boolean,
    file_id integer not null,
    source_row bigint not null,
    known_on date not null
);
