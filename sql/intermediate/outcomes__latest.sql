-- outcomes__latest: each household's latest reviewer outcome on or before the as-of date (issue 6 feedback).
-- Grain: one row per tenancy_ref with an outcome reviewed on or before $as_of.
-- The outcomes table is append-only (a correction is a new row), so the latest review wins, then the latest import.
-- The outcome is stored encrypted (outcome_enc): decrypt_text, which only a connection opened with the key has,
-- reads it in memory. Parameters: $as_of (date).

with

outcomes as (
    select * from outcomes
),

final as (
    select
        tenancy_ref,
        lower(trim(decrypt_text(outcome_enc))) as outcome,
        reviewed_on,
        list_id
    from outcomes
    where reviewed_on <= $as_of
    qualify row_number() over (
        partition by tenancy_ref
        order by reviewed_on desc, imported_at desc, outcome_id desc
    ) = 1
)

select * from final
