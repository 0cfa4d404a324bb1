-- household_features: what the records said about each household on the as-of date.
-- Grain: one row per tenancy live on $as_of.
-- Counting period: red flags, ASB and recharges count from counted_from (tenancies__counting_period: the latest of
--   the tenancy start, the day after a lapsed known-case marker, and the start of the long window).
--   Columns <component>_long count counted red-flag repairs in that period (a job with two categories counts once in
--   each); flags_weighted sums them with a recency weight of 0.5 ^ (age in days / $recency_half_life_days), so a
--   repair counts half after one half-life. Bursts and the recent category mix use $recent_window_days.
-- Incidents (repairs__incidents) are the unit of evidence: incidents_* count them by the window their last day is
--   in. <component>_weighted sums the recency weight of the incidents whose strongest component is that one, so
--   several categories within one incident count once; incident_extra_weighted sums recency x the components beyond
--   the strongest. max_burst_incidents: the most incidents starting within the burst window, in the recent window.
--   max_incident_categories_recent: the most categories in one recent incident (the mix across incidents is the
--   rest). expected_incidents_*: the peers' incident rate, shrunk as for flags, times exposure.
-- corroborating_signals (for a household with one incident): an ASB lens case with the household as subject or
--   affected, a damage recharge for something else (signals__corroborating), an arrears onset near the pattern.
-- corroborating_signals_long (eligibility): kinds of signal in the counting period: such an ASB case, a damage
--   recharge, an arrears onset (has_arrears_onset_long: onset in the period, then a rise of $arrears_rise_min_gbp above
--   the last clear balance, even if since paid down). independent_signals_long (points): recharges for other things.
-- Units: days, pounds, home-years. Parameters: $as_of, $short_window_days, $recent_window_days,
--   $burst_window_days, $recency_half_life_days, $economic_abuse_window_days,
--   $arrears_rise_min_gbp, $peer_prior_home_years, $suppressing_outcomes.

with

red_flags as (
    select * from repairs__classified
),

recharges as (
    select * from recharges__damage
),

asb as (
    select * from asb__lens
),

rent as (
    select * from rent__trajectory
),

incidents as (
    select * from repairs__incidents
),

corroborating as (
    select * from signals__corroborating
),

latest_outcomes as (
    select * from outcomes__latest
),

households as (
    select
        tenancy_ref,
        property_ref,
        tenancy_start_date,
        block_ref,
        estate,
        property_type,
        bedrooms,
        marker_lapsed_on,
        has_live_marker,
        counted_from
    from tenancies__counting_period
),

household_flags as (
    select
        red_flags.*,
        households.counted_from,
        $as_of - red_flags.reported_on as age_days,
        pow(0.5, ($as_of - red_flags.reported_on) / $recency_half_life_days) as recency_weight
    from red_flags
    inner join households on red_flags.tenancy_ref = households.tenancy_ref
    where red_flags.reported_on >= households.counted_from
),

counted_flags as (
    select * from household_flags
    where is_counted
),

bursts as (
    -- counted red flags in the burst window ending on each counted red flag's day
    select
        counted_flags.job_ref,
        count(*) as flags_in_burst_window
    from counted_flags
    inner join counted_flags as earlier
        on
            counted_flags.tenancy_ref = earlier.tenancy_ref
            and counted_flags.reported_on >= earlier.reported_on
            and counted_flags.reported_on - cast($burst_window_days as integer) < earlier.reported_on
    group by counted_flags.job_ref
),

counted as (
    select
        counted_flags.*,
        bursts.flags_in_burst_window
    from counted_flags
    inner join bursts on counted_flags.job_ref = bursts.job_ref
),

incident_counts as (
    select
        tenancy_ref,
        count(*) as incidents_long,
        count(*) filter (where age_days < $recent_window_days) as incidents_recent,
        count(*) filter (where age_days < $short_window_days) as incidents_short,
        sum(recency_weight) as incidents_weighted,
        coalesce(
            max(incidents_in_burst_window) filter (where age_days < $recent_window_days), 0
        ) as max_burst_incidents,
        coalesce(
            max(len(categories)) filter (where age_days < $recent_window_days), 0
        ) as max_incident_categories_recent,
        sum(recency_weight * (len(components) - 1)) as incident_extra_weighted,
        coalesce(sum(recency_weight) filter (where lead_component = 'lock_change_external'), 0)
            as lock_change_external_weighted,
        coalesce(sum(recency_weight) filter (where lead_component = 'lock_change_internal'), 0)
            as lock_change_internal_weighted,
        coalesce(sum(recency_weight) filter (where lead_component = 'lock_change_unknown'), 0)
            as lock_change_unknown_weighted,
        coalesce(sum(recency_weight) filter (where lead_component = 'door_damage_external'), 0)
            as door_damage_external_weighted,
        coalesce(sum(recency_weight) filter (where lead_component = 'door_damage_internal'), 0)
            as door_damage_internal_weighted,
        coalesce(sum(recency_weight) filter (where lead_component = 'door_damage_unknown'), 0)
            as door_damage_unknown_weighted,
        coalesce(sum(recency_weight) filter (where lead_component = 'window_damage'), 0)
            as window_damage_weighted,
        coalesce(sum(recency_weight) filter (where lead_component = 'lost_keys'), 0)
            as lost_keys_weighted,
        coalesce(sum(recency_weight) filter (where lead_component = 'forced_entry'), 0)
            as forced_entry_weighted
    from incidents
    group by tenancy_ref
),

flag_counts as (
    select
        tenancy_ref,
        count(*) as flags_long,
        count(*) filter (where age_days < $recent_window_days) as flags_recent,
        count(*) filter (where age_days < $short_window_days) as flags_short,
        min(reported_on) as first_flag_on,
        max(reported_on) as last_flag_on,
        sum(recency_weight) as flags_weighted,
        coalesce(max(flags_in_burst_window) filter (where age_days < $recent_window_days), 0) as max_burst_flags,
        len(list_distinct(flatten(list(categories)))) as distinct_categories_long,
        len(list_distinct(flatten(coalesce(list(categories) filter (where age_days < $recent_window_days), []))))
            as distinct_categories_recent,
        count(*) filter (where list_contains(categories, 'lock_change') and location = 'external')
            as lock_change_external_long,
        count(*) filter (where list_contains(categories, 'lock_change') and location = 'internal')
            as lock_change_internal_long,
        count(*) filter (
            where list_contains(categories, 'lock_change') and coalesce(location, '') not in ('external', 'internal')
        ) as lock_change_unknown_long,
        count(*) filter (where list_contains(categories, 'door_damage') and location = 'external')
            as door_damage_external_long,
        count(*) filter (where list_contains(categories, 'door_damage') and location = 'internal')
            as door_damage_internal_long,
        count(*) filter (
            where list_contains(categories, 'door_damage') and coalesce(location, '') not in ('external', 'internal')
        ) as door_damage_unknown_long,
        count(*) filter (where list_contains(categories, 'window_damage')) as window_damage_long,
        count(*) filter (where list_contains(categories, 'lost_keys')) as lost_keys_long,
        count(*) filter (where list_contains(categories, 'forced_entry')) as forced_entry_long
    from counted
    group by tenancy_ref
),

discount_counts as (
    select
        tenancy_ref,
        count(*) filter (where discount_reason = 'tenancy_start') as discounted_tenancy_start,
        count(*) filter (where discount_reason = 'planned_works') as discounted_planned_works,
        count(*) filter (where discount_reason = 'block_cluster') as discounted_block_cluster,
        count(*) filter (where discount_reason = 'police_reference') as discounted_police_reference,
        count(*) filter (where discount_reason in ('communal', 'void')) as discounted_communal_or_void
    from household_flags
    where not is_counted
    group by tenancy_ref
),

last_flags_ever as (
    -- any counted red flag since the tenancy began (or a marker lapsed), to lift an outcome suppression
    select
        red_flags.tenancy_ref,
        max(red_flags.reported_on) as last_counted_flag_ever_on
    from red_flags
    inner join households on red_flags.tenancy_ref = households.tenancy_ref
    where
        red_flags.is_counted
        and red_flags.reported_on > coalesce(households.marker_lapsed_on, households.tenancy_start_date - 1)
    group by red_flags.tenancy_ref
),

recharge_counts as (
    select
        recharges.tenancy_ref,
        count(*) as recharges_long,
        sum(recharges.amount_gbp) as recharges_gbp_long,
        count(*) filter (where recharges.is_damage) as damage_recharges_long,
        coalesce(
            sum(pow(0.5, ($as_of - recharges.raised_on) / $recency_half_life_days))
            filter (where recharges.is_damage),
            0
        ) as damage_recharges_weighted,
        coalesce(sum(recharges.amount_gbp) filter (where recharges.is_damage), 0) as damage_recharges_gbp_long
    from recharges
    inner join households on recharges.tenancy_ref = households.tenancy_ref
    where recharges.raised_on >= households.counted_from
    group by recharges.tenancy_ref
),

asb_counts as (
    select
        asb.tenancy_ref,
        count(distinct asb.case_ref) as asb_cases_long,
        count(distinct asb.case_ref) filter (where asb.is_lens_match) as asb_lens_cases_long,
        coalesce(
            sum(pow(0.5, ($as_of - asb.opened_on) / $recency_half_life_days)) filter (where asb.is_lens_match), 0
        ) as asb_lens_weighted,
        count(distinct asb.case_ref) filter (where asb.is_lens_match and asb.role = 'subject')
            as asb_lens_as_subject_long,
        min(asb.opened_on) filter (where asb.is_lens_match) as first_asb_lens_on,
        max(asb.opened_on) filter (where asb.is_lens_match) as last_asb_lens_on
    from asb
    inner join households on asb.tenancy_ref = households.tenancy_ref
    where asb.opened_on >= households.counted_from
    group by asb.tenancy_ref
),

joined as (
    select
        households.*,
        greatest(($as_of - households.counted_from + 1) / 365.0, 0.0) as exposure_years,
        greatest($as_of - households.counted_from + 1, 0) as exposure_days,
        greatest(
            ($as_of - greatest(households.counted_from, $as_of - cast($recent_window_days as integer) + 1) + 1) / 365.0,
            0.0
        ) as exposure_recent_years,
        coalesce(flag_counts.flags_long, 0) as flags_long,
        coalesce(flag_counts.flags_recent, 0) as flags_recent,
        coalesce(flag_counts.flags_short, 0) as flags_short,
        flag_counts.first_flag_on,
        flag_counts.last_flag_on,
        $as_of - flag_counts.last_flag_on as days_since_last_flag,
        coalesce(flag_counts.flags_weighted, 0) as flags_weighted,
        coalesce(flag_counts.max_burst_flags, 0) as max_burst_flags,
        coalesce(flag_counts.distinct_categories_long, 0) as distinct_categories_long,
        coalesce(flag_counts.distinct_categories_recent, 0) as distinct_categories_recent,
        coalesce(incident_counts.incidents_long, 0) as incidents_long,
        coalesce(incident_counts.incidents_recent, 0) as incidents_recent,
        coalesce(incident_counts.incidents_short, 0) as incidents_short,
        coalesce(incident_counts.incidents_weighted, 0) as incidents_weighted,
        coalesce(incident_counts.max_burst_incidents, 0) as max_burst_incidents,
        coalesce(incident_counts.max_incident_categories_recent, 0) as max_incident_categories_recent,
        coalesce(incident_counts.incident_extra_weighted, 0) as incident_extra_weighted,
        coalesce(flag_counts.lock_change_external_long, 0) as lock_change_external_long,
        coalesce(flag_counts.lock_change_internal_long, 0) as lock_change_internal_long,
        coalesce(flag_counts.lock_change_unknown_long, 0) as lock_change_unknown_long,
        coalesce(flag_counts.door_damage_external_long, 0) as door_damage_external_long,
        coalesce(flag_counts.door_damage_internal_long, 0) as door_damage_internal_long,
        coalesce(flag_counts.door_damage_unknown_long, 0) as door_damage_unknown_long,
        coalesce(flag_counts.window_damage_long, 0) as window_damage_long,
        coalesce(flag_counts.lost_keys_long, 0) as lost_keys_long,
        coalesce(flag_counts.forced_entry_long, 0) as forced_entry_long,
        coalesce(incident_counts.lock_change_external_weighted, 0) as lock_change_external_weighted,
        coalesce(incident_counts.lock_change_internal_weighted, 0) as lock_change_internal_weighted,
        coalesce(incident_counts.lock_change_unknown_weighted, 0) as lock_change_unknown_weighted,
        coalesce(incident_counts.door_damage_external_weighted, 0) as door_damage_external_weighted,
        coalesce(incident_counts.door_damage_internal_weighted, 0) as door_damage_internal_weighted,
        coalesce(incident_counts.door_damage_unknown_weighted, 0) as door_damage_unknown_weighted,
        coalesce(incident_counts.window_damage_weighted, 0) as window_damage_weighted,
        coalesce(incident_counts.lost_keys_weighted, 0) as lost_keys_weighted,
        coalesce(incident_counts.forced_entry_weighted, 0) as forced_entry_weighted,
        coalesce(discount_counts.discounted_tenancy_start, 0) as discounted_tenancy_start,
        coalesce(discount_counts.discounted_planned_works, 0) as discounted_planned_works,
        coalesce(discount_counts.discounted_block_cluster, 0) as discounted_block_cluster,
        coalesce(discount_counts.discounted_police_reference, 0) as discounted_police_reference,
        coalesce(discount_counts.discounted_communal_or_void, 0) as discounted_communal_or_void,
        last_flags_ever.last_counted_flag_ever_on,
        coalesce(recharge_counts.recharges_long, 0) as recharges_long,
        coalesce(recharge_counts.recharges_gbp_long, 0) as recharges_gbp_long,
        coalesce(recharge_counts.damage_recharges_long, 0) as damage_recharges_long,
        coalesce(recharge_counts.damage_recharges_weighted, 0) as damage_recharges_weighted,
        coalesce(recharge_counts.damage_recharges_gbp_long, 0) as damage_recharges_gbp_long,
        coalesce(corroborating.independent_damage_recharges, 0) as independent_damage_recharges_near,
        coalesce(asb_counts.asb_cases_long, 0) as asb_cases_long,
        coalesce(asb_counts.asb_lens_cases_long, 0) as asb_lens_cases_long,
        coalesce(asb_counts.asb_lens_weighted, 0) as asb_lens_weighted,
        coalesce(asb_counts.asb_lens_as_subject_long, 0) as asb_lens_as_subject_long,
        asb_counts.first_asb_lens_on,
        asb_counts.last_asb_lens_on,
        coalesce(corroborating.corroborating_asb_cases, 0) as corroborating_asb_cases,
        coalesce(corroborating.corroborating_asb_cases_long, 0) as corroborating_asb_cases_long,
        coalesce(corroborating.independent_damage_recharges_long, 0) as independent_damage_recharges_long,
        rent.current_balance_gbp,
        rent.arrears_onset_on,
        rent.pre_onset_balance_gbp,
        rent.arrears_rise_gbp,
        rent.peak_balance_since_onset_gbp - rent.pre_onset_balance_gbp as arrears_peak_rise_gbp,
        coalesce(rent.arrears_rise_gbp >= $arrears_rise_min_gbp, false) as has_arrears_onset,
        latest_outcomes.outcome as latest_outcome,
        latest_outcomes.reviewed_on as latest_outcome_on
    from households
    left join flag_counts on households.tenancy_ref = flag_counts.tenancy_ref
    left join incident_counts on households.tenancy_ref = incident_counts.tenancy_ref
    left join corroborating on households.tenancy_ref = corroborating.tenancy_ref
    left join discount_counts on households.tenancy_ref = discount_counts.tenancy_ref
    left join last_flags_ever on households.tenancy_ref = last_flags_ever.tenancy_ref
    left join recharge_counts on households.tenancy_ref = recharge_counts.tenancy_ref
    left join asb_counts on households.tenancy_ref = asb_counts.tenancy_ref
    left join rent on households.tenancy_ref = rent.tenancy_ref
    left join latest_outcomes on households.tenancy_ref = latest_outcomes.tenancy_ref
),

peers as (
    select
        *,
        sum(flags_long) over peer_group - flags_long as peer_flags,
        -- summed in days, then years: a sum of fractions depends on the rows' order (incremental weeks)
        (sum(exposure_days) over peer_group - exposure_days) / 365.0 as peer_years,
        sum(flags_long) over () / nullif(sum(exposure_days) over () / 365.0, 0) as landlord_rate_per_year,
        sum(incidents_long) over peer_group - incidents_long as peer_incidents,
        sum(incidents_long) over () / nullif(sum(exposure_days) over () / 365.0, 0) as landlord_incident_rate_per_year,
        coalesce(
            has_arrears_onset
            and arrears_onset_on >= first_flag_on - cast($economic_abuse_window_days as integer)
            and arrears_onset_on <= last_flag_on + cast($economic_abuse_window_days as integer),
            false
        ) as is_arrears_near_pattern,
        coalesce(
            arrears_onset_on >= counted_from
            and arrears_peak_rise_gbp >= $arrears_rise_min_gbp,
            false
        ) as has_arrears_onset_long
    from joined
    window peer_group as (partition by property_type, bedrooms, estate)
),

peer_rates as (
    -- the peer group's rate shrunk towards the landlord-wide rate by $peer_prior_home_years of exposure
    select
        * exclude (peer_flags, peer_years, peer_incidents, exposure_days),
        coalesce(
            (peer_flags + $peer_prior_home_years * landlord_rate_per_year)
            / nullif(peer_years + $peer_prior_home_years, 0),
            landlord_rate_per_year,
            0
        ) as peer_rate_per_year,
        coalesce(
            (peer_incidents + $peer_prior_home_years * landlord_incident_rate_per_year)
            / nullif(peer_years + $peer_prior_home_years, 0),
            landlord_incident_rate_per_year,
            0
        ) as peer_incident_rate_per_year
    from peers
),

final as (
    select
        *,
        peer_rate_per_year * exposure_years as expected_flags_long,
        peer_rate_per_year * exposure_recent_years as expected_flags_recent,
        peer_incident_rate_per_year * exposure_years as expected_incidents_long,
        peer_incident_rate_per_year * exposure_recent_years as expected_incidents_recent,
        cast(corroborating_asb_cases > 0 as integer)
        + cast(independent_damage_recharges_near > 0 as integer)
        + cast(is_arrears_near_pattern as integer) as corroborating_signals,
        cast(corroborating_asb_cases_long > 0 as integer)
        + cast(damage_recharges_long > 0 as integer)
        + cast(has_arrears_onset_long as integer) as corroborating_signals_long,
        cast(corroborating_asb_cases_long > 0 as integer)
        + cast(independent_damage_recharges_long > 0 as integer)
        + cast(has_arrears_onset_long as integer) as independent_signals_long,
        case
            when has_live_marker then 'live_marker'
            when
                list_contains($suppressing_outcomes, latest_outcome)
                and coalesce(last_counted_flag_ever_on <= latest_outcome_on, true)
                then 'outcome_' || latest_outcome
        end as suppression_reason
    from peer_rates
)

select * from final
