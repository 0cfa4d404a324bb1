-- Listing and outcomes by household age band, over the report period (fairness audit only).
-- Run only when raw_tenancies carries an age_band column (no contract extract does yet).
-- Grain: one row per age band ('not recorded' when blank).
-- homes: tenancies live on $last_day (latest version known then), i.e. households, not dwellings.
-- households_listed, reviews_*: as in monitoring_groups. Units: households, reviews.
-- Parameters: $last_day (date), $weeks (integer).

with

params as (
    select
        cast($last_day as date) as last_day,
        cast($last_day as date) - 7 * cast($weeks as integer) + 1 as first_day
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

lists as (
    select
        rl.list_id,
        max(rl.published_at) as published_at,
        max(p.last_day - cast(7 * (datediff('day', rl.as_of, p.last_day) // 7) as integer)) as week_ending
    from review_list_rows as rl
    cross join params as p
    where rl.as_of between p.first_day and p.last_day
    group by rl.list_id
),

weekly_lists as (
    select list_id
    from lists
    qualify row_number() over (partition by week_ending order by published_at desc, list_id desc) = 1
),

latest_outcomes as (
    select
        list_id,
        tenancy_ref,
        outcome
    from outcomes
    qualify row_number() over (
        partition by list_id, tenancy_ref order by imported_at desc, outcome_id desc, source_row desc
    ) = 1
),

listed as (
    select distinct
        rl.list_id,
        rl.tenancy_ref,
        lo.outcome,
        coalesce(t.age_band, 'not recorded') as group_name
    from weekly_lists as wl
    inner join review_list_rows as rl on wl.list_id = rl.list_id
    left join tenancies as t on rl.tenancy_ref = t.tenancy_ref
    left join latest_outcomes as lo on rl.list_id = lo.list_id and rl.tenancy_ref = lo.tenancy_ref
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
