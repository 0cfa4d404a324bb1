-- list_records: the records of every household on one published list, for the web page's household pages.
-- Grain: one row per record per listed household, dated $date_from to the list's week ending, in household then date
--   order: red-flag repairs (its own, or on its home with no tenancy_ref), recharges, ASB cases; and one row for
--   the latest rent balance in arrears (of the five weeks to the week ending).
-- Knowledge time: of each key, the latest version with known_on <= the week ending (greatest known_on, file_id,
--   source_row), as in the staging models; rows are filtered on the list's households first, so only their own
--   versions are sorted. One pass serves the whole list: a page's first household view reads the big tables once.
-- Text: text_enc is the record's encrypted free text (decrypted by the web page for a signed-in reviewer); facts holds
--   coded facts only (priority, trade, status, amounts, roles, the classifier's words), never free text; facts_ref is
--   the reference facts quotes (a recharge's job), turned back from its pseudonym by the page.
-- Units: pounds. Parameters: $list_id, $date_from (date), $as_of (date: the list's week ending).

with

households as (
    select distinct
        tenancy_ref,
        property_ref
    from review_list_rows
    where list_id = $list_id
),

own_repair_versions as (
    -- a join on one column at a time: an OR of the two (with the blank test) read every row far more slowly
    select
        raw_repairs.*,
        raw_repairs.tenancy_ref as household
    from raw_repairs
    inner join households on raw_repairs.tenancy_ref = households.tenancy_ref
    where raw_repairs.known_on <= $as_of
),

home_repair_versions as (
    select
        raw_repairs.*,
        households.tenancy_ref as household
    from raw_repairs
    inner join households on raw_repairs.property_ref = households.property_ref
    where raw_repairs.known_on <= $as_of and nullif(trim(raw_repairs.tenancy_ref), '') is null
),

repair_versions as (
    select * from own_repair_versions
    union all by name
    select * from home_repair_versions
),

repairs as (
    select *
    from repair_versions
    qualify
        row_number() over (
            partition by household, job_ref order by known_on desc, file_id desc, source_row desc
        ) = 1
),

recharge_versions as (
    select *
    from raw_recharges
    where known_on <= $as_of and tenancy_ref in (select households.tenancy_ref from households)
),

recharges as (
    select *
    from recharge_versions
    qualify
        row_number() over (
            partition by tenancy_ref, recharge_ref order by known_on desc, file_id desc, source_row desc
        ) = 1
),

asb_versions as (
    select *
    from raw_asb
    where known_on <= $as_of and tenancy_ref in (select households.tenancy_ref from households)
),

asb as (
    select *
    from asb_versions
    qualify
        row_number() over (
            partition by tenancy_ref, case_ref order by known_on desc, file_id desc, source_row desc
        ) = 1
),

rent_versions as (
    -- the last five weeks only: week_ending is part of the key (so no version is missed), and weekly files load
    -- in date order, so DuckDB skips the older row groups of a table that holds every week for every home
    select *
    from raw_rent
    where
        week_ending between $as_of - interval 35 days and $as_of
        and known_on <= $as_of
        and tenancy_ref in (select households.tenancy_ref from households)
),

latest_rent as (
    select *
    from rent_versions
    qualify
        row_number() over (
            partition by tenancy_ref order by week_ending desc, known_on desc, file_id desc, source_row desc
        ) = 1
),

repair_rows as (
    select
        household as tenancy_ref,
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
        tenancy_ref,
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
        job_ref as facts_ref,
        reason_enc as text_enc
    from recharges
),

asb_rows as (
    select
        tenancy_ref,
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
        tenancy_ref,
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
        tenancy_ref,
        "on",
        source,
        record_ref,
        categories,
        location,
        facts,
        facts_ref,
        text_enc
    from unioned
    where "on" between $date_from and $as_of
    order by tenancy_ref, "on", source, record_ref
)

select * from final
