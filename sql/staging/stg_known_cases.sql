-- stg_known_cases: known-case markers (domestic abuse, MARAC, Sanctuary Scheme, ...) as known on the as-of date.
-- Grain: one row per (tenancy_ref, marker, start_date): its latest version with known_on <= $known_by, for markers
--   started on or before $as_of. A future end date is kept: it is when a live marker is due to lapse.
-- Parameters: $as_of (date: events after it are cut), $known_by (date: $as_of plus the publication lag).
--   marker_normalised is the trimmed, lower-cased marker for matching settings. The marker is stored encrypted
--   (marker_enc): decrypt_text, which only a connection opened with the key has, reads it in memory.

with

source as (
    select
        * exclude (marker_enc),
        decrypt_text(marker_enc) as marker
    from raw_known_cases
),

known as (
    select *
    from source
    where known_on <= $known_by
    qualify row_number() over (
        partition by tenancy_ref, marker, start_date
        order by known_on desc, file_id desc, source_row desc
    ) = 1
),

final as (
    select
        tenancy_ref,
        marker,
        lower(trim(marker)) as marker_normalised,
        start_date,
        end_date,
        file_id,
        source_row,
        known_on
    from known
    where start_date <= $as_of
)

select * from final
