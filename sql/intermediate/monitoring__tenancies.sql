-- monitoring__tenancies: each tenancy's home as known on the report's last day, for the marts grouping by estate
--   and property type (materialised once with the list models, pipelines/report/data.py).
-- Grain: one row per tenancy_ref known on $last_day: its latest version (greatest known_on, then file_id, then
--   source_row), with its property_ref.
-- Parameters: $last_day (date).

with

params as (
    select cast($last_day as date) as last_day
),

final as (
    select
        t.tenancy_ref,
        t.property_ref
    from raw_tenancies as t
    cross join params as p
    where t.known_on <= p.last_day
    qualify row_number() over (
        partition by t.tenancy_ref order by t.known_on desc, t.file_id desc, t.source_row desc
    ) = 1
)

select * from final
