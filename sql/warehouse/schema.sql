-- Warehouse schema: the tables the pipeline keeps between runs.
-- Grain of each raw_* table: one row per version of a record as delivered in one file
-- (a later file may restate a key; every version is kept, and staging picks the latest known on the as-of date).
-- Lineage: file_id -> loaded_files, source_row = the row number a person sees when opening the file
-- (header row = 1 for CSV; for xlsx the sheet's own row number).
-- Knowledge time: known_on = the file's extract date (the date in its name, else the mapping's known_on rule).
-- Free text (repairs.description, recharges.reason, asb.description) is stored encrypted (BLOB, AES-GCM);
-- the red-flag classification of that text is computed in memory before storage and stored beside it.
-- References (tenancy_ref, property_ref, job_ref, case_ref, recharge_ref) hold keyed pseudonyms, never the
-- landlord's references (pipelines/warehouse/references.py); each clear reference is kept once, encrypted, in
-- ref_books. List reasons, known-case markers, outcomes, reviewers' names and the audit trail's actors are
-- encrypted like free text; SQL reads markers and outcomes through decrypt_text(), a function each connection
-- opened with the key registers (pipelines/warehouse/connection.py).
-- Ciphertext does not compress: its columns skip DuckDB's compression analysis (a third of a load's insert).
-- Nor do pseudonyms (random characters, and a raw table's row group holds few repeats: a weekly file names each
-- tenancy once): the raw tables' reference columns and ref_index skip it too, which writes them two to three
-- times faster for a file about a sixth larger (docs/scaling.md). A storage hint, not a change of type: a database
-- created before keeps its columns as they were.
-- `using compression` is not in sqlfluff's DuckDB grammar, hence `noqa: PRS` on those tables.

create sequence if not exists seq_file_id start 1;
create sequence if not exists seq_run_id start 1;
create sequence if not exists seq_audit_id start 1;
create sequence if not exists seq_ref_book start 1;

create table if not exists meta (
    key varchar primary key,
    value varchar not null
);

-- The clear references, encrypted: one book per load chunk (an Arrow IPC table of pseudonym, reference, sealed
-- with AES-GCM), and which book holds each pseudonym (pseudonyms are not secret).
create table if not exists ref_books ( -- noqa: PRS
    book_id bigint not null,
    book_sealed blob using compression uncompressed
);

create table if not exists ref_index ( -- noqa: PRS
    pseudonym varchar using compression uncompressed not null,
    book_id bigint not null
);

create table if not exists loaded_files (
    file_id integer primary key,
    extract varchar not null,
    file_name varchar not null,
    file_path varchar not null,
    sha256 varchar not null,
    size_bytes bigint not null,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    known_on date not null,
    loaded_at timestamp not null,
    run_id integer
);

create table if not exists quarantine (
    file_id integer not null,
    extract varchar not null,
    file_name varchar not null,
    source_row bigint,
    column_name varchar,
    reason varchar not null,
    quarantined_at timestamp not null
);

-- One row per expectation per validated batch (file), kept for the data-quality page.
create table if not exists validation_results (
    run_id integer,
    extract varchar not null,
    file_name varchar not null,
    expectation varchar not null,
    column_name varchar,
    success boolean not null,
    unexpected_count bigint not null,
    element_count bigint not null,
    validated_at timestamp not null
);

create table if not exists raw_repairs ( -- noqa: PRS
    job_ref varchar using compression uncompressed not null,
    property_ref varchar using compression uncompressed not null,
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

create table if not exists raw_recharges ( -- noqa: PRS
    recharge_ref varchar using compression uncompressed not null,
    tenancy_ref varchar using compression uncompressed not null,
    property_ref varchar using compression uncompressed,
    job_ref varchar using compression uncompressed,
    raised_at date not null,
    amount_gbp decimal(14, 2) not null,
    reason_enc blob using compression uncompressed,
    status varchar,
    categories varchar[],
    file_id integer not null,
    source_row bigint not null,
    known_on date not null
);

create table if not exists raw_asb ( -- noqa: PRS
    case_ref varchar using compression uncompressed not null,
    tenancy_ref varchar using compression uncompressed not null,
    opened_at date not null,
    closed_at date,
    category varchar not null,
    role varchar,
    description_enc blob using compression uncompressed,
    file_id integer not null,
    source_row bigint not null,
    known_on date not null
);

create table if not exists raw_rent ( -- noqa: PRS
    tenancy_ref varchar using compression uncompressed not null,
    week_ending date not null,
    balance_gbp decimal(14, 2) not null,
    weekly_charge_gbp decimal(14, 2),
    file_id integer not null,
    source_row bigint not null,
    known_on date not null
);

create table if not exists raw_tenancies ( -- noqa: PRS
    tenancy_ref varchar using compression uncompressed not null,
    property_ref varchar using compression uncompressed not null,
    start_date date not null,
    end_date date,
    file_id integer not null,
    source_row bigint not null,
    known_on date not null
);

create table if not exists raw_properties ( -- noqa: PRS
    property_ref varchar using compression uncompressed not null,
    block_ref varchar,
    estate varchar,
    property_type varchar,
    bedrooms integer,
    file_id integer not null,
    source_row bigint not null,
    known_on date not null
);

create table if not exists raw_known_cases ( -- noqa: PRS
    tenancy_ref varchar using compression uncompressed not null,
    marker_enc blob not null,
    start_date date not null,
    end_date date,
    file_id integer not null,
    source_row bigint not null,
    known_on date not null
);

create table if not exists raw_planned_works ( -- noqa: PRS
    property_ref varchar using compression uncompressed,
    block_ref varchar,
    estate varchar,
    programme varchar not null,
    start_date date not null,
    end_date date,
    file_id integer not null,
    source_row bigint not null,
    known_on date not null
);

-- Pipeline runs (ingest, weekly review, backtest, report, purge): for run health in the monitoring report.
create table if not exists runs (
    run_id integer primary key,
    kind varchar not null,
    as_of date,
    started_at timestamp not null,
    finished_at timestamp,
    status varchar not null,
    files_loaded integer,
    files_failed integer,
    rows_loaded bigint,
    rows_quarantined bigint,
    detail varchar,
    pid integer,
    noticed_at timestamp,
    warnings varchar[]
);
-- Added after the first release: older warehouses gain them here (the process that ran the run, when a run
-- left 'running' by a dead process was noticed and marked 'interrupted', and the run's warnings).
alter table runs add column if not exists pid integer;
alter table runs add column if not exists noticed_at timestamp;
alter table runs add column if not exists warnings varchar[];

-- Every published list row (append-only): what was listed, when, why, with which configuration.
create table if not exists review_list_rows (
    list_id varchar not null,
    as_of date not null,
    published_at timestamp not null,
    tenancy_ref varchar not null,
    property_ref varchar,
    team varchar not null,
    rank integer not null,
    score double not null,
    points_score double,
    surprise_score double,
    anomaly_score double,
    reasons_enc blob not null,
    is_complex_case boolean,
    config_version varchar not null,
    rules_version varchar not null
);

-- Households above threshold that did not fit a team's capacity that week.
create table if not exists carried_forward (
    list_id varchar not null,
    as_of date not null,
    tenancy_ref varchar not null,
    team varchar not null,
    score double not null
);

-- Reviewers' outcomes (append-only: a correction is a new row).
create table if not exists outcomes ( -- noqa: PRS
    outcome_id integer not null,
    list_id varchar not null,
    as_of date not null,
    tenancy_ref varchar not null,
    outcome_enc blob not null,
    reviewer_enc blob not null,
    rationale_enc blob using compression uncompressed,
    reviewed_on date not null,
    imported_at timestamp not null,
    source_file varchar not null,
    source_row bigint not null
);

-- The audit trail (append-only; triggers are not available in DuckDB, so the product only ever inserts
-- and the tests check that no code path updates or deletes it).
-- Hash chain: row_hash = sha256 of the row's content and prev_hash (the previous row's row_hash, in audit_id
-- order; 64 zeros for the first row), so an out-of-band edit or deletion is detected by
-- pipelines/warehouse/audit.py: verify_audit_chain. recorded_at is UTC.
create table if not exists audit_log (
    audit_id bigint not null,
    recorded_at timestamp not null,
    actor_enc blob not null,
    action varchar not null,
    tenancy_ref varchar,
    detail varchar not null,
    prev_hash varchar,
    row_hash varchar
);

-- Each household on a published list, or on the list the rules alone would have published, with its feature
-- vector as scored that week (append-only, numbers only, never text): what the outcome-trained re-ranker learns
-- from once reviewers record outcomes (models/reranker.py), and what the report compares it with (on / off).
-- features is a JSON object {column: value}, so a later release that adds a column still reads older rows.
create table if not exists review_list_features (
    list_id varchar not null,
    as_of date not null,
    tenancy_ref varchar not null,
    is_listed boolean not null,
    rules_listed boolean not null,
    learning_active boolean not null,
    features varchar not null
);

-- Feature rows kept between weekly runs (pipelines/scoring/incremental.py; the rows are in cache_<model>, made by
-- that module): what each cache was built from. A run recomputes in full when the fingerprint (settings and the
-- models' SQL) differs, the as-of date or knowledge date went back, or rows of the files it saw were deleted
-- (rows_seen); otherwise only the households with rows new since (files not in feature_cache_files, or rows whose
-- knowledge or event date the new as-of date reaches).
create table if not exists feature_caches (
    model varchar not null,
    fingerprint varchar not null,
    as_of date not null,
    known_by date not null,
    rows_seen bigint not null,
    built_at timestamp not null
);

create table if not exists feature_cache_files (
    model varchar not null,
    file_id integer not null
);

-- What each extract file was when last hashed (pipelines/ingest/known_files.py): a weekly run knows a file it
-- has loaded by its real path, device, inode, size, modification and change times, without re-reading its bytes;
-- any difference and the file is hashed again. One row per real path.
create table if not exists file_fingerprints (
    real_path varchar not null,
    device ubigint not null,
    inode ubigint not null,
    size_bytes bigint not null,
    mtime_ns bigint not null,
    ctime_ns bigint not null,
    sha256 varchar not null,
    checked_at timestamp not null
);
