-- Listing and outcomes by estate and by property type, over the whole report period (for the fairness audit).
-- Grain: one row per attribute_name ('estate', 'property_type') and group (its value; 'not recorded' when blank).
-- homes: dwellings known on the last day (latest version of each property; communal references excluded).
-- households_listed: distinct tenancies on the weeks' lists (the last list published in each week).
-- reviews_*: list rows whose latest outcome is new_concern_referred / no_concern.
-- Units: homes, households, reviews. No parameters: the weeks are monitoring__weekly_lists',
-- the properties and tenancies (as known on the last day) monitoring__properties' and monitoring__tenancies'.

with

properties as (
    select * from monitoring__properties
),

homes as (
    select * from properties
    where property_type <> 'communal'
),

tenancies as (
    select * from monitoring__tenancies
),

list_rows as (
    select distinct
        lr.list_id,
        lr.tenancy_ref,
        lr.outcome,
        coalesce(lr.property_ref, t.property_ref) as property_ref
    from monitoring__list_rows as lr
    left join tenancies as t on lr.tenancy_ref = t.tenancy_ref
),

located as (
    select
        lr.tenancy_ref,
        lr.outcome,
        coalesce(pr.estate, 'not recorded') as estate,
        coalesce(pr.property_type, 'not recorded') as property_type
    from list_rows as lr
    left join properties as pr on lr.property_ref = pr.property_ref
),

by_group as (
    select
        'estate' as attribute_name,
        estate as group_name
    from homes
    union all
    select
        'property_type' as attribute_name,
        property_type as group_name
    from homes
),

population as (
    select
        attribute_name,
        group_name,
        count(*) as homes
    from by_group
    group by attribute_name, group_name
),

listed as (
    select
        'estate' as attribute_name,
        estate as group_name,
        tenancy_ref,
        outcome
    from located
    union all
    select
        'property_type' as attribute_name,
        property_type as group_name,
        tenancy_ref,
        outcome
    from located
),

listed_counts as (
    select
        attribute_name,
        group_name,
        count(distinct tenancy_ref) as households_listed,
        count(*) filter (where outcome = 'new_concern_referred') as reviews_referred,
        count(*) filter (where outcome = 'no_concern') as reviews_no_concern
    from listed
    group by attribute_name, group_name
),

final as (
    select
        coalesce(po.attribute_name, lc.attribute_name) as attribute_name,
        coalesce(po.group_name, lc.group_name) as group_name,
        coalesce(po.homes, 0) as homes,
        coalesce(lc.households_listed, 0) as households_listed,
        coalesce(lc.reviews_referred, 0) as reviews_referred,
        coalesce(lc.reviews_no_concern, 0) as reviews_no_concern
    from population as po
    full outer join listed_counts as lc on po.attribute_name = lc.attribute_name and po.group_name = lc.group_name
)

select * from final
order by attribute_name asc, homes desc, group_name asc
