-- household_evidence: the records behind each household's features, in date order, for the reviewer.
-- Grain: one row per record per live tenancy, from the household's counting period (household_features.counted_from
--   to $as_of): red-flag repairs (counted or discounted, with the rule), recharges, ASB case parties, and rent
--   changes (the latest arrears onset and the current balance when in arrears).
-- evidence: for repairs, the classifier's matched vocabulary per category ("lock_change: renew cylinder").
-- Text: summary_enc is the record's encrypted free text (repair description, recharge reason, ASB description),
--   passed through as BLOB for the publisher to decrypt; summary holds only coded facts (priority, trade, amounts,
--   roles, the classifier's evidence words), never free text; summary_ref is the reference a summary quotes (a
--   recharge's job), for the publisher to turn back from its pseudonym in the text.
-- Units: pounds. Parameters: $as_of (date).

with

households as (
    select * from household_features
),

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

repair_rows as (
    select
        red_flags.tenancy_ref,
        red_flags.reported_on as "on",
        'repair' as source,
        red_flags.job_ref as record_ref,
        array_to_string(red_flags.categories, '; ') as categories,
        red_flags.location,
        red_flags.is_counted,
        red_flags.discount_reason as note,
        red_flags.evidence,
        cast(null as decimal(14, 2)) as amount_gbp,
        concat_ws(
            '; ',
            nullif(concat_ws(' ', red_flags.priority, red_flags.trade, 'job'), 'job'),
            'status ' || red_flags.status,
            red_flags.evidence,
            case when red_flags.has_police_ref then 'police or crime reference quoted' end,
            case when not red_flags.is_counted then 'not counted: ' || replace(red_flags.discount_reason, '_', ' ') end
        ) as summary,
        red_flags.description_enc as summary_enc
    from red_flags
    inner join households on red_flags.tenancy_ref = households.tenancy_ref
    where red_flags.reported_on >= households.counted_from
),

recharge_rows as (
    select
        recharges.tenancy_ref,
        recharges.raised_on as "on",
        'recharge' as source,
        recharges.recharge_ref as record_ref,
        array_to_string(coalesce(recharges.job_categories, recharges.categories), '; ') as categories,
        cast(null as varchar) as location,
        recharges.is_damage as is_counted,
        case when recharges.is_damage then 'damage' end as note,
        recharges.amount_gbp,
        concat_ws(
            '; ',
            printf('recharge £%.2f', recharges.amount_gbp),
            'status ' || recharges.status,
            'for job ' || recharges.job_ref
        ) as summary,
        recharges.job_ref as summary_ref,
        recharges.reason_enc as summary_enc
    from recharges
    inner join households on recharges.tenancy_ref = households.tenancy_ref
    where recharges.raised_on >= households.counted_from
),

asb_rows as (
    select
        asb.tenancy_ref,
        asb.opened_on as "on",
        'asb' as source,
        asb.case_ref as record_ref,
        asb.category as categories,
        cast(null as varchar) as location,
        asb.is_lens_match as is_counted,
        asb.role as note,
        cast(null as decimal(14, 2)) as amount_gbp,
        concat_ws(
            '; ',
            'ASB case, household role ' || coalesce(asb.role, 'not recorded'),
            'category ' || asb.category,
            'closed ' || strftime(asb.closed_on, '%d/%m/%Y')
        ) as summary,
        asb.description_enc as summary_enc
    from asb
    inner join households on asb.tenancy_ref = households.tenancy_ref
    where asb.opened_on >= households.counted_from
),

rent_onset_rows as (
    select
        rent.tenancy_ref,
        rent.arrears_onset_on as "on",
        'rent' as source,
        cast(null as varchar) as record_ref,
        'arrears onset' as categories,
        cast(null as varchar) as location,
        households.has_arrears_onset as is_counted,
        'onset' as note,
        rent.pre_onset_balance_gbp as amount_gbp,
        printf('arrears began after a clear account (balance £%.2f the week before)', rent.pre_onset_balance_gbp)
            as summary,
        cast(null as blob) as summary_enc
    from rent
    inner join households on rent.tenancy_ref = households.tenancy_ref
    where rent.arrears_onset_on >= households.counted_from
),

rent_balance_rows as (
    select
        rent.tenancy_ref,
        rent.latest_week_ending as "on",
        'rent' as source,
        cast(null as varchar) as record_ref,
        'arrears balance' as categories,
        cast(null as varchar) as location,
        households.has_arrears_onset as is_counted,
        'balance' as note,
        rent.current_balance_gbp as amount_gbp,
        printf('rent balance £%.2f in arrears', rent.current_balance_gbp) as summary,
        cast(null as blob) as summary_enc
    from rent
    inner join households on rent.tenancy_ref = households.tenancy_ref
    where rent.current_balance_gbp > 0 and rent.latest_week_ending >= households.counted_from
),

unioned as (
    select * from repair_rows
    union all by name
    select * from recharge_rows
    union all by name
    select * from asb_rows
    union all by name
    select * from rent_onset_rows
    union all by name
    select * from rent_balance_rows
),

final as (
    select
        tenancy_ref,
        "on",
        source,
        record_ref,
        categories,
        location,
        is_counted,
        note,
        evidence,
        amount_gbp,
        summary,
        summary_ref,
        summary_enc
    from unioned
    where "on" <= $as_of
    order by tenancy_ref, "on", source, record_ref
)

select * from final
