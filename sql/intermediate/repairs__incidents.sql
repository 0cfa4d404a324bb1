-- repairs__incidents: counted red-flag repairs grouped into incidents, the unit of evidence.
-- Grain: one row per incident of a live tenancy within its counting period (tenancies__counting_period).
-- An incident: a household's counted red flags each reported within $incident_gap_days of the one before (a forced
--   entry, the make-safe and the new lock; a lock-out with its lock change and keys). One incident with three
--   categories is one event in a household's life; a pattern is incidents repeated on different dates.
-- components: the points components of its jobs (lock_change and door_damage by location: external, internal,
--   unknown; window_damage, lost_keys, forced_entry). lead_component: the strongest of them, the first in
--   $component_order (strongest first, from the scoring weights). recency_weight: 0.5 ^ (days since its last
--   repair / $recency_half_life_days). incidents_in_burst_window: incidents of the household starting within
--   $burst_window_days up to and including this one's first day.
-- Units: days. Parameters: $as_of, $incident_gap_days, $component_order, $recency_half_life_days,
--   $burst_window_days (the long window reaches it through the counting period).

with

red_flags as (
    select * from repairs__classified
),

households as (
    select * from tenancies__counting_period
),

in_period as (
    select
        red_flags.tenancy_ref,
        red_flags.job_ref,
        red_flags.reported_on,
        red_flags.categories,
        case when red_flags.location in ('external', 'internal') then red_flags.location else 'unknown' end
            as side
    from red_flags
    inner join households on red_flags.tenancy_ref = households.tenancy_ref
    where red_flags.is_counted and red_flags.reported_on >= households.counted_from
),

counted as (
    select
        tenancy_ref,
        job_ref,
        reported_on,
        categories,
        list_transform(
            categories,
            lambda c: case when c in ('lock_change', 'door_damage') then c || '_' || side else c end  -- noqa: RF02
        ) as components,
        coalesce(
            reported_on - lag(reported_on) over (partition by tenancy_ref order by reported_on, job_ref)
            > $incident_gap_days,
            true
        ) as starts_incident
    from in_period
),

numbered as (
    select
        *,
        sum(cast(starts_incident as integer)) over (
            partition by tenancy_ref order by reported_on, job_ref rows unbounded preceding
        ) as incident_no
    from counted
),

grouped as (
    select
        tenancy_ref,
        incident_no,
        min(reported_on) as started_on,
        max(reported_on) as ended_on,
        count(*) as jobs,
        list_sort(list_distinct(flatten(list(categories)))) as categories,
        list_sort(list_distinct(flatten(list(components)))) as components
    from numbered
    group by tenancy_ref, incident_no
),

bursts as (
    select
        grouped.tenancy_ref,
        grouped.incident_no,
        count(*) as incidents_in_burst_window
    from grouped
    inner join grouped as earlier
        on
            grouped.tenancy_ref = earlier.tenancy_ref
            and grouped.started_on >= earlier.started_on
            and grouped.started_on - cast($burst_window_days as integer) < earlier.started_on
    group by grouped.tenancy_ref, grouped.incident_no
),

leads as (
    select
        *,
        $as_of - ended_on as age_days,
        pow(0.5, ($as_of - ended_on) / $recency_half_life_days) as recency_weight,
        list_extract(
            $component_order,
            list_aggregate(list_transform(components, lambda c: list_position($component_order, c)), 'min')
        ) as lead_component
    from grouped
),

final as (
    select
        leads.*,
        bursts.incidents_in_burst_window
    from leads
    inner join bursts on leads.tenancy_ref = bursts.tenancy_ref and leads.incident_no = bursts.incident_no
)

select * from final
