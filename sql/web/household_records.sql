-- household_records: one household's records for its web page, as the database knew them on the list's week ending.
-- Grain: one row per record of the household dated $date_from to $as_of, in date order: red-flag repairs (its own,
--   or on its home with no tenancy_ref), recharges, ASB cases; and one row for the latest rent balance in arrears
--   (of the five weeks to $as_of).
-- Knowledge time: of each key, the latest version with known_on <= $as_of (greatest known_on, file_id, source_row),
--   as in the staging models; rows are filtered on the household first, so only its own versions are sorted.
-- Text: text_enc is the record's encrypted free text (decrypted by the web page for a signed-in reviewer); facts holds
--   coded facts only (priority, trade, status, amounts, roles, the classifier's words), never free text.
-- Units: pounds. Parameters: $tenancy_ref, $property_ref, $date_from (date), $as_of (date).

with

own_repair_versions as (
    -- equality alone, so DuckDB filters inside the scan (an OR with the home's jobs read every row: 60x slower)
    select *
    from raw_repairs
    where tenancy_ref = $tenancy_ref and known_on <= $as_of
),

home_repair_versions as (
    select *
    from raw_repairs
    where property_ref = $property_ref and known_on <= $as_of and nullif(trim(tenancy_ref), '') is null
),

repair_versions as (
    select * from own_repair_versions
    union all
    select * from home_repair_versions
),

repairs as (
    select *
    from repair_versions
    qualify row_number() over (partition by job_ref order by known_on desc, file_id desc, source_row desc) = 1
),

recharge_versions as (
    select *
    from raw_recharges
    where known_on <= $as_of and tenancy_ref = $tenancy_ref
),

recharges as (
    select *
    from recharge_versions
    qualify
        row_number() over (partition by recharge_ref order by known_on desc, file_id desc, source_row desc) = 1
),

asb_versions as (
    select *
    from raw_asb
    where known_on <= $as_of and tenancy_ref = $tenancy_ref
),

asb as (
    select *
    from asb_versions
    qualify row_number() over (partition by case_ref order by known_on desc, file_id desc, source_row desc) = 1
),

rent_versions as (
    -- the last five weeks only: week_ending is part of the key (so no version is missed), and weekly files load
    -- in date order, so DuckDB skips the older row groups of a table that holds every week for every home
    select *
    from raw_rent
    where
        week_ending between $as_of - interval 35 days and $as_of
        and known_on <= $as_of
        and tenancy_ref = $tenancy_ref
),

latest_rent as (
    select *
    from rent_versions
    order by week_ending desc, known_on desc, file_id desc, source_row desc
    limit 1
),

repair_rows as (
    select
        cast(reported_at as date) as "on",
        'repair' as source,
        job_ref as record_ref,
        array_to_string(categories, ', ') as categories,
        lower(location) as location,
        concat_ws(
            '; ',
            nullif(concat_ws(' ', lower(trim(priority)), lower(trim(trade)), 'job'), 'job'),
            'status ' || lower(trim(status)),
            printf('cost £%.2f', cost_gbp),
            'words: ' || evidence,
            case when has_police_ref then 'police or crime reference quoted' end,
            case when is_communal_text then 'text says communal area' end
        ) as facts,
        description_enc as text_enc
    from repairs
    where len(coalesce(categories, [])) > 0
),

recharge_rows as (
    select
        raised_at as "on",
        'recharge' as source,
        recharge_ref as record_ref,
        array_to_string(categories, ', ') as categories,
        cast(null as varchar) as location,
        concat_ws(
            '; ',
            printf('recharge £%.2f', amount_gbp),
            'status ' || lower(trim(status)),
            'for job ' || job_ref
        ) as facts,
        reason_enc as text_enc
    from recharges
),

asb_rows as (
    select
        opened_at as "on",
        'asb' as source,
        case_ref as record_ref,
        category as categories,
        cast(null as varchar) as location,
        concat_ws(
            '; ',
            'household role ' || coalesce(role, 'not recorded'),
            'closed ' || strftime(closed_at, '%d/%m/%Y')
        ) as facts,
        description_enc as text_enc
    from asb
),

rent_rows as (
    select
        week_ending as "on",
        'rent' as source,
        cast(null as varchar) as record_ref,
        'arrears balance' as categories,
        cast(null as varchar) as location,
        printf('rent balance £%.2f in arrears', balance_gbp) as facts,
        cast(null as blob) as text_enc
    from latest_rent
    where balance_gbp > 0
),

unioned as (
    select * from repair_rows
    union all by name
    select * from recharge_rows
    union all by name
    select * from asb_rows
    union all by name
    select * from rent_rows
),

final as (
    select
        "on",
        source,
        record_ref,
        categories,
        location,
        facts,
        text_enc
    from unioned
    where "on" between $date_from and $as_of
    order by "on", source, record_ref
)

select * from final
