-- monitoring_learning_groups: listing by estate and property type with the re-ranker on (the published lists)
-- against off (what the rules alone would have listed the same weeks), over the report's weeks.
-- Grain: one row per attribute_name ('estate', 'property_type') and group_name with a listing either way.
-- listed_on / listed_off: distinct households listed at least once; the group's homes are monitoring_groups'.
-- Units: households. No parameters: the weeks are monitoring__weekly_lists',
-- the properties and tenancies (as known on the last day) monitoring__properties' and monitoring__tenancies'.

with

weekly_lists as (
    select * from monitoring__weekly_lists
),

list_features as (
    select * from review_list_features
),

properties as (
    select * from monitoring__properties
),

tenancies as (
    select * from monitoring__tenancies
),

located as (
    select
        f.tenancy_ref,
        f.is_listed,
        f.rules_listed,
        coalesce(pr.estate, 'not recorded') as estate,
        coalesce(pr.property_type, 'not recorded') as property_type
    from weekly_lists as w
    inner join list_features as f on w.list_id = f.list_id
    left join tenancies as t on f.tenancy_ref = t.tenancy_ref
    left join properties as pr on t.property_ref = pr.property_ref
),

by_group as (
    select
        'estate' as attribute_name,
        estate as group_name,
        tenancy_ref,
        is_listed,
        rules_listed
    from located
    union all
    select
        'property_type' as attribute_name,
        property_type as group_name,
        tenancy_ref,
        is_listed,
        rules_listed
    from located
),

final as (
    select
        attribute_name,
        group_name,
        count(distinct tenancy_ref) filter (where is_listed) as listed_on,
        count(distinct tenancy_ref) filter (where rules_listed) as listed_off
    from by_group
    group by attribute_name, group_name
)

select * from final
order by attribute_name, group_name
