-- recharges__damage: recharges, and whether each is for damage of a red-flag kind (Dover 8.6).
-- Grain: one row per recharge_ref known on the as-of date.
-- is_damage: the linked repair is a counted red flag; or, when the linked job is not a red-flag repair (or there
-- is none), the recharge's own reason was classified into red-flag categories. A recharge for a discounted job
-- (a burglary with a police reference, a void, ...) is not damage of the household's making.
-- Units: amount_gbp in pounds. Parameters: none (reads stg_recharges and repairs__classified).

with

recharges as (
    select * from stg_recharges
),

red_flag_repairs as (
    select * from repairs__classified
),

final as (
    select
        recharges.recharge_ref,
        recharges.tenancy_ref,
        recharges.property_ref,
        recharges.job_ref,
        recharges.raised_on,
        recharges.amount_gbp,
        recharges.reason_enc,
        recharges.status,
        recharges.categories,
        red_flag_repairs.categories as job_categories,
        red_flag_repairs.discount_reason as job_discount_reason,
        coalesce(red_flag_repairs.is_counted, len(recharges.categories) > 0) as is_damage
    from recharges
    left join red_flag_repairs on recharges.job_ref = red_flag_repairs.job_ref
)

select * from final
