-- repairs__classified: red-flag repairs with every innocent look-alike rule as its own boolean.
-- Grain: one row per red-flag repair job (at least one category, not cancelled) known on $as_of.
-- Discounts (each explicit, so a reviewer or a test can see which rule fired):
--   is_communal          communal job: property type communal, or the text says communal
-- Attribution: tenancy_ref is optional in the contract. A job with no tenancy_ref on a dwelling (not a communal
--   property, not communal text, not void priority) reported while a tenancy was live there is that household's
--   (is_tenancy_derived); with no live tenancy it is a void job.
--   is_void              priority void, no tenancy on the job and nobody living at the property, or reported
--                        after the job's tenancy had ended
--   is_tenancy_start     a lock change or new keys within $tenancy_start_grace_days of the tenancy's start
--   is_planned           priority planned, or a planned programme covering the property, block or estate that day,
--                        for jobs whose categories are all in $planned_programme_categories and within what that
--                        programme renews, and whose priority is not emergency or urgent (programme work is
--                        scheduled; a job raised as an emergency or urgent repair is a response to something that
--                        happened, not the programme). What a programme renews is read from its name: the categories
--                        of each $planned_scope_terms term that starts a word of it ($planned_scope_categories, the
--                        same position), so a window programme never explains a lock change; a name with none of
--                        the terms covers every planned category
--   is_block_cluster     damage ($block_cluster_categories, not located internal) at >= $block_cluster_min_households
--                        homes of one block within $block_cluster_window_days either side
--   is_police_incident   part of a police-referenced incident (a job quoting a police or crime reference and the
--                        household's red-flag jobs within $police_ref_incident_days of it), while the household has
--                        at most $police_ref_max_discounted_incidents such incidents in the last $long_window_days
-- is_counted = a red flag with no discount. discount_reason names the first rule that fired.
-- Units: days. Parameters: $as_of, $long_window_days, $tenancy_start_grace_days, $planned_programme_categories,
--   $planned_scope_terms, $planned_scope_categories, $block_cluster_categories, $block_cluster_window_days,
--   $block_cluster_min_households,
--   $police_ref_incident_days, $police_ref_max_discounted_incidents.

with

repairs as (
    select * from stg_repairs
),

tenancies as (
    select * from stg_tenancies
),

properties as (
    select * from stg_properties
),

planned_works as (
    select * from stg_planned_works
),

attributed as (
    -- the household living at the dwelling on the day, for red-flag jobs exported without a tenancy_ref
    select
        repairs.job_ref,
        arg_max(tenancies.tenancy_ref, tenancies.start_date) as tenancy_ref
    from repairs
    inner join tenancies
        on
            repairs.property_ref = tenancies.property_ref
            and repairs.reported_on >= tenancies.start_date
            and repairs.reported_on <= coalesce(tenancies.end_date, $as_of)
    left join properties on repairs.property_ref = properties.property_ref
    where
        repairs.tenancy_ref is null
        and len(repairs.categories) > 0
        and coalesce(properties.property_type, '') != 'communal'
        and not repairs.is_communal_text
        and coalesce(repairs.priority, '') != 'void'
    group by repairs.job_ref
),

red_flags as (
    select
        repairs.job_ref,
        repairs.property_ref,
        coalesce(repairs.tenancy_ref, attributed.tenancy_ref) as tenancy_ref,
        attributed.job_ref is not null as is_tenancy_derived,
        repairs.reported_at,
        repairs.reported_on,
        repairs.categories,
        repairs.location,
        repairs.evidence,
        repairs.has_police_ref,
        repairs.is_communal_text,
        repairs.priority,
        repairs.trade,
        repairs.status,
        repairs.cost_gbp,
        repairs.sor_code,
        repairs.description_enc,
        properties.block_ref,
        properties.estate,
        properties.property_type,
        properties.bedrooms,
        tenancies.start_date as tenancy_start_date,
        tenancies.end_date as tenancy_end_date
    from repairs
    left join properties on repairs.property_ref = properties.property_ref
    left join attributed on repairs.job_ref = attributed.job_ref
    left join tenancies on coalesce(repairs.tenancy_ref, attributed.tenancy_ref) = tenancies.tenancy_ref
    where
        len(repairs.categories) > 0
        and coalesce(repairs.status, '') not in ('cancelled', 'canceled')
),

occupied as (
    -- jobs without a tenancy at a property somebody was living in that day
    select distinct red_flags.job_ref
    from red_flags
    inner join tenancies
        on
            red_flags.property_ref = tenancies.property_ref
            and red_flags.reported_on >= tenancies.start_date
            and red_flags.reported_on <= coalesce(tenancies.end_date, $as_of)
    where red_flags.tenancy_ref is null
),

red_flag_places as (
    -- each job's property, block and estate, tagged by kind so a block ref never meets an estate name
    select
        job_ref,
        reported_on,
        categories,
        unnest(['property:' || property_ref, 'block:' || block_ref, 'estate:' || estate]) as place
    from red_flags
),

scope_terms as (
    -- the two lists side by side: term i renews the categories in position i
    select
        unnest($planned_scope_terms) as term,
        unnest($planned_scope_categories) as categories
),

programme_scopes as (
    select
        planned_works.programme,
        case
            when count(scope_terms.term) = 0 then $planned_programme_categories
            else list_intersect(
                $planned_programme_categories,
                flatten(list(scope_terms.categories) filter (where scope_terms.term is not null))
            )
        end as scope
    from (select distinct programme from planned_works) as planned_works
    left join scope_terms
        on
            scope_terms.term != ''
            and regexp_matches(lower(planned_works.programme), '\b' || scope_terms.term)
    group by planned_works.programme
),

programme_places as (
    select
        planned_works.start_date,
        planned_works.end_date,
        programme_scopes.scope,
        unnest([
            'property:' || planned_works.property_ref,
            'block:' || planned_works.block_ref,
            'estate:' || planned_works.estate
        ]) as place
    from planned_works
    inner join programme_scopes on planned_works.programme = programme_scopes.programme
),

planned as (
    -- a programme covering the property, the block or the estate that day: one equality join on the place (an or
    -- of three conditions is a slow range join); a missing ref gives a null place, which matches nothing
    select distinct red_flag_places.job_ref
    from red_flag_places
    inner join programme_places
        on
            red_flag_places.place = programme_places.place
            and red_flag_places.reported_on >= programme_places.start_date
            and red_flag_places.reported_on <= coalesce(programme_places.end_date, $as_of)
            and list_has_all(programme_places.scope, red_flag_places.categories)
),

damage as (
    select
        job_ref,
        property_ref,
        block_ref,
        reported_on
    from red_flags
    -- damage inside a home (an internal door, a room's window) is not what a spree on the block reaches: it is
    -- neither discounted as part of a cluster nor counted towards one
    where
        block_ref is not null
        and list_has_any(categories, $block_cluster_categories)
        and coalesce(location, 'unknown') != 'internal'
),

block_clusters as (
    select
        damage.job_ref,
        count(distinct nearby.property_ref) as block_homes_nearby
    from damage
    inner join damage as nearby
        on
            damage.block_ref = nearby.block_ref
            and nearby.reported_on >= damage.reported_on - cast($block_cluster_window_days as integer)
            and nearby.reported_on <= damage.reported_on + cast($block_cluster_window_days as integer)
    group by damage.job_ref
),

police_jobs as (
    select
        tenancy_ref,
        reported_on,
        coalesce(
            reported_on - lag(reported_on) over (partition by tenancy_ref order by reported_on)
            > $police_ref_incident_days,
            true
        ) as starts_incident
    from red_flags
    where has_police_ref and tenancy_ref is not null
),

police_incidents as (
    select
        tenancy_ref,
        count(*) filter (
            where starts_incident and reported_on > $as_of - cast($long_window_days as integer)
        ) as police_incidents
    from police_jobs
    group by tenancy_ref
),

police_linked as (
    select distinct red_flags.job_ref
    from red_flags
    inner join police_jobs
        on
            red_flags.tenancy_ref = police_jobs.tenancy_ref
            and abs(red_flags.reported_on - police_jobs.reported_on) <= $police_ref_incident_days
    inner join police_incidents on red_flags.tenancy_ref = police_incidents.tenancy_ref
    where police_incidents.police_incidents <= $police_ref_max_discounted_incidents
),

discounts as (
    select
        red_flags.*,
        coalesce(block_clusters.block_homes_nearby, 0) as block_homes_nearby,
        (
            coalesce(red_flags.property_type, '') = 'communal'
            or red_flags.is_communal_text
        ) as is_communal,
        (
            coalesce(red_flags.priority, '') = 'void'
            or (red_flags.tenancy_ref is null and occupied.job_ref is null)
            or coalesce(red_flags.reported_on > red_flags.tenancy_end_date, false)
        ) as is_void,
        coalesce(
            list_has_any(red_flags.categories, ['lock_change', 'lost_keys'])
            and red_flags.reported_on
            <= red_flags.tenancy_start_date + cast($tenancy_start_grace_days as integer),
            false
        ) as is_tenancy_start,
        (
            coalesce(red_flags.priority, '') = 'planned'
            or (
                planned.job_ref is not null
                and list_has_all($planned_programme_categories, red_flags.categories)
                and coalesce(red_flags.priority, '') not in ('emergency', 'urgent')
            )
        ) as is_planned,
        coalesce(block_clusters.block_homes_nearby, 0) >= $block_cluster_min_households as is_block_cluster,
        police_linked.job_ref is not null as is_police_incident
    from red_flags
    left join occupied on red_flags.job_ref = occupied.job_ref
    left join planned on red_flags.job_ref = planned.job_ref
    left join block_clusters on red_flags.job_ref = block_clusters.job_ref
    left join police_linked on red_flags.job_ref = police_linked.job_ref
),

final as (
    select
        *,
        case
            when is_communal then 'communal'
            when is_void then 'void'
            when is_tenancy_start then 'tenancy_start'
            when is_planned then 'planned_works'
            when is_block_cluster then 'block_cluster'
            when is_police_incident then 'police_reference'
        end as discount_reason,
        (
            not is_communal
            and not is_void
            and not is_tenancy_start
            and not is_planned
            and not is_block_cluster
            and not is_police_incident
        ) as is_counted
    from discounts
)

select * from final
