-- monitoring__properties: each property as known on the report's last day, for the marts grouping by estate and
--   property type (materialised once with the list models, pipelines/report/data.py).
-- Grain: one row per property_ref known on $last_day: its latest version (greatest known_on, then file_id, then
--   source_row). estate trimmed, property_type trimmed and lower-cased; 'not recorded' when blank.
-- Parameters: $last_day (date).

with

params as (
    select cast($last_day as date) as last_day
),

final as (
    select
        pr.property_ref,
        coalesce(nullif(trim(pr.estate), ''), 'not recorded') as estate,
        coalesce(nullif(lower(trim(pr.property_type)), ''), 'not recorded') as property_type
    from raw_properties as pr
    cross join params as p
    where pr.known_on <= p.last_day
    qualify row_number() over (
        partition by pr.property_ref order by pr.known_on desc, pr.file_id desc, pr.source_row desc
    ) = 1
)

select * from final
