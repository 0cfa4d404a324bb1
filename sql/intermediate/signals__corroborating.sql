-- signals__corroborating: records independent of the repairs that corroborate a household's red flags.
-- Grain: one row per live tenancy with at least one incident (repairs__incidents) and a corroborating record.
-- Within $corroboration_window_days of its red flags (first incident's start minus the window to the last one's end
--   plus the window), and within its counting period:
--   corroborating_asb_cases     ASB cases through the domestic-abuse lens with the household recorded in one of
--                               $corroborating_asb_roles (the subject of complaints, or affected): not a complainant
--                               about a neighbour, nor a case with no role recorded
--   independent_damage_recharges damage recharges not for a counted red-flag repair (a recharge for the incident's
--                               own lock-out is the same event, not a second signal)
-- The same two counted over the whole counting period (the long window), for the eligibility rule of red flags on
--   separate occasions plus one corroborating signal "in the window": corroborating_asb_cases_long,
--   independent_damage_recharges_long.
-- Units: days. Parameters: $corroboration_window_days, $corroborating_asb_roles.

with

incidents as (
    select * from repairs__incidents
),

households as (
    select * from tenancies__counting_period
),

asb as (
    select * from asb__lens
),

recharges as (
    select * from recharges__damage
),

incident_spans as (
    select
        tenancy_ref,
        min(started_on) - cast($corroboration_window_days as integer) as near_from,
        max(ended_on) + cast($corroboration_window_days as integer) as near_to
    from incidents
    group by tenancy_ref
),

spans as (
    select
        incident_spans.*,
        households.counted_from
    from incident_spans
    inner join households on incident_spans.tenancy_ref = households.tenancy_ref
),

corroborating_asb as (
    select * from asb
    where is_lens_match and list_contains($corroborating_asb_roles, lower(role))
),

asb_near as (
    select
        spans.tenancy_ref,
        count(distinct asb.case_ref) filter (
            where asb.opened_on between spans.near_from and spans.near_to
        ) as corroborating_asb_cases,
        count(distinct asb.case_ref) as corroborating_asb_cases_long
    from spans
    inner join corroborating_asb as asb on spans.tenancy_ref = asb.tenancy_ref
    where asb.opened_on >= spans.counted_from
    group by spans.tenancy_ref
),

recharges_near as (
    select
        spans.tenancy_ref,
        count(*) filter (
            where recharges.raised_on between spans.near_from and spans.near_to
        ) as independent_damage_recharges,
        count(*) as independent_damage_recharges_long
    from spans
    inner join recharges on spans.tenancy_ref = recharges.tenancy_ref
    where
        recharges.is_damage
        and recharges.job_categories is null
        and recharges.raised_on >= spans.counted_from
    group by spans.tenancy_ref
),

final as (
    select
        spans.tenancy_ref,
        coalesce(asb_near.corroborating_asb_cases, 0) as corroborating_asb_cases,
        coalesce(recharges_near.independent_damage_recharges, 0) as independent_damage_recharges,
        coalesce(asb_near.corroborating_asb_cases_long, 0) as corroborating_asb_cases_long,
        coalesce(recharges_near.independent_damage_recharges_long, 0) as independent_damage_recharges_long
    from spans
    left join asb_near on spans.tenancy_ref = asb_near.tenancy_ref
    left join recharges_near on spans.tenancy_ref = recharges_near.tenancy_ref
    where asb_near.tenancy_ref is not null or recharges_near.tenancy_ref is not null
)

select * from final
