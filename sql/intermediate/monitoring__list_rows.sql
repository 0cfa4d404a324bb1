-- monitoring__list_rows: the rows of each week's list with the household's latest outcome on that list,
-- shared by the monitoring marts (materialised after monitoring__weekly_lists).
-- Grain: one row per review_list_rows row on a list in monitoring__weekly_lists.
-- outcome: the latest outcome row for the household on that list (a correction is a later row); null when none.
-- first_reviewed_on: the earliest review date among its outcomes on that list; null when none.
-- Parameters: none (the weeks are monitoring__weekly_lists').

with

weekly_lists as (
    select * from monitoring__weekly_lists
),

review_list_rows as (
    select * from review_list_rows
),

outcomes as (
    select * from outcomes
),

latest_outcomes as (
    select
        list_id,
        tenancy_ref,
        decrypt_text(outcome_enc) as outcome
    from outcomes
    qualify row_number() over (
        partition by list_id, tenancy_ref order by imported_at desc, outcome_id desc, source_row desc
    ) = 1
),

first_reviews as (
    select
        list_id,
        tenancy_ref,
        min(reviewed_on) as first_reviewed_on
    from outcomes
    group by list_id, tenancy_ref
),

final as (
    select
        wl.week_ending,
        wl.published_at,
        rl.list_id,
        rl.team,
        rl.tenancy_ref,
        rl.property_ref,
        rl.is_complex_case,
        lo.outcome,
        fr.first_reviewed_on
    from weekly_lists as wl
    inner join review_list_rows as rl on wl.list_id = rl.list_id
    left join latest_outcomes as lo on rl.list_id = lo.list_id and rl.tenancy_ref = lo.tenancy_ref
    left join first_reviews as fr on rl.list_id = fr.list_id and rl.tenancy_ref = fr.tenancy_ref
)

select * from final
