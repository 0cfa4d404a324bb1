-- stg_asb: the anti-social behaviour extract as it was known on the as-of date.
-- Grain: one row per (case_ref, tenancy_ref) party: its latest version with known_on <= $known_by, for cases
--   opened on or before $as_of. A closing date after $as_of had not happened yet, so it is null here.
-- Parameters: $as_of (date: events after it are cut), $known_by (date: $as_of plus the publication lag).
-- Text: description_enc stays encrypted; category is the landlord's own category label.

with

source as (
    select * from raw_asb
),

known as (
    select *
    from source
    where known_on <= $known_by
    qualify row_number() over (
        partition by case_ref, tenancy_ref
        order by known_on desc, file_id desc, source_row desc
    ) = 1
),

final as (
    select
        case_ref,
        tenancy_ref,
        opened_at as opened_on,
        case when closed_at <= $as_of then closed_at end as closed_on,
        trim(category) as category,
        lower(trim(role)) as role,
        description_enc,
        file_id,
        source_row,
        known_on
    from known
    where opened_at <= $as_of
)

select * from final
