-- stg_properties: the property reference as known on the as-of date.
-- Grain: one row per property_ref: its latest version with known_on <= $known_by.
-- Parameters: $known_by (date: the as-of date plus the publication lag; a property has no event date to cut).
--   property_type is lower-cased; blank block and estate become null.

with

source as (
    select * from raw_properties
),

known as (
    select *
    from source
    where known_on <= $known_by
    qualify row_number() over (
        partition by property_ref
        order by known_on desc, file_id desc, source_row desc
    ) = 1
),

final as (
    select
        property_ref,
        nullif(trim(block_ref), '') as block_ref,
        nullif(trim(estate), '') as estate,
        lower(trim(property_type)) as property_type,
        bedrooms,
        file_id,
        source_row,
        known_on
    from known
)

select * from final
