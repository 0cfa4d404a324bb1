-- Listing and outcomes by household age band, over the report period (fairness audit only).
-- Run only when raw_tenancies carries an age_band column (no contract extract does yet).
-- Grain: one row per age band ('not recorded' when blank).
-- homes: tenancies live on $last_day (latest version known then), i.e. households, not dwellings.
-- households_listed, reviews_*: as in monitoring_groups. Units: households, reviews.
-- Parameters: $last_day (date); the weeks are monitoring__weekly_lists' (materialised first).

with

params as (
    select cast($last_day as date) as last_day
),

tenancies as (
    select
        t.tenancy_ref,
        t.start_date,
        t.end_date,
        coalesce(nullif(trim(cast(t.age_band as varchar)), ''), 'not recorded') as age_band
    from raw_tenancies as t
    cross join params as p
    where t.known_on <= p.last_day
    qualify row_number() over (
        partition by t.tenancy_ref order by t.known_on desc, t.file_id desc, t.source_row desc
    ) = 1
),

population as (
    select
        t.age_band as group_name,
        count(*) as homes
    from tenancies as t
    cross join params as p
    where t.start_date <= p.last_day and (t.end_date is null or t.end_date > p.last_day)
    group by t.age_band
),

listed as (
    select distinct
        lr.list_id,
        lr.tenancy_ref,
        lr.outcome,
        coalesce(t.age_band, 'not recorded') as group_name
    from monitoring__list_rows as lr
    left join tenancies as t on lr.tenancy_ref = t.tenancy_ref
),

listed_counts as (
    select
        group_name,
        count(distinct tenancy_ref) as households_listed,
        count(*) filter (where outcome = 'new_concern_referred') as reviews_referred,
        count(*) filter (where outcome = 'no_concern') as reviews_no_concern
    from listed
    group by group_name
),

final as (
    select
        'age_band' as attribute_name,
        coalesce(po.group_name, lc.group_name) as group_name,
        coalesce(po.homes, 0) as homes,
        coalesce(lc.households_listed, 0) as households_listed,
        coalesce(lc.reviews_referred, 0) as reviews_referred,
        coalesce(lc.reviews_no_concern, 0) as reviews_no_concern
    from population as po
    full outer join listed_counts as lc on po.group_name = lc.group_name
)

select * from final
order by homes desc, group_name asc
