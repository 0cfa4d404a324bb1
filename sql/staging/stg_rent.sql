-- stg_rent: weekly rent-account snapshots as known on the as-of date.
-- Grain: one row per (tenancy_ref, week_ending): its latest version with known_on <= $as_of, for weeks ending
--   on or before $as_of.
-- Units: balance_gbp and weekly_charge_gbp in pounds; a positive balance is arrears, a negative one credit.
-- Parameters: $as_of (date).

with

source as (
    select * from raw_rent
),

known as (
    select *
    from source
    where known_on <= $as_of
    qualify row_number() over (
        partition by tenancy_ref, week_ending
        order by known_on desc, file_id desc, source_row desc
    ) = 1
),

final as (
    select
        tenancy_ref,
        week_ending,
        balance_gbp,
        weekly_charge_gbp,
        file_id,
        source_row,
        known_on
    from known
    where week_ending <= $as_of
)

select * from final
