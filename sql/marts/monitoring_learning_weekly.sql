-- monitoring_learning_weekly: the outcome-trained re-ranker week by week (models/reranker.py), for the report.
-- Grain: one row per report week whose list kept its households' features (review_list_features).
-- learning_active: the re-ranker ordered that week's list. moved_on: listed with it and not by the rules alone;
-- moved_off: listed by the rules alone and not with it. referred / no_concern: listed households whose latest
-- outcome for that list is in $positive_values / $negative_values; moved_on_* the same for those it moved on.
-- Units: households. Parameters: $positive_values, $negative_values (varchar[]); the weeks are
-- monitoring__weekly_lists'.

with

weekly_lists as (
    select * from monitoring__weekly_lists
),

list_features as (
    select * from review_list_features
),

latest_outcomes as (
    select
        list_id,
        tenancy_ref,
        lower(trim(decrypt_text(outcome_enc))) as outcome
    from outcomes
    qualify row_number() over (
        partition by list_id, tenancy_ref
        order by reviewed_on desc, imported_at desc, outcome_id desc
    ) = 1
),

week_rows as (
    select
        w.week_ending,
        f.is_listed,
        f.rules_listed,
        f.learning_active,
        coalesce(list_contains($positive_values, o.outcome), false) as is_referred,
        coalesce(list_contains($negative_values, o.outcome), false) as is_no_concern
    from weekly_lists as w
    inner join list_features as f on w.list_id = f.list_id
    left join latest_outcomes as o on f.list_id = o.list_id and f.tenancy_ref = o.tenancy_ref
),

final as (
    select
        week_ending,
        bool_or(learning_active) as learning_active,
        count(*) filter (where is_listed) as listed,
        count(*) filter (where is_listed and not rules_listed) as moved_on,
        count(*) filter (where rules_listed and not is_listed) as moved_off,
        count(*) filter (where is_listed and is_referred) as referred,
        count(*) filter (where is_listed and is_no_concern) as no_concern,
        count(*) filter (where is_listed and not rules_listed and is_referred) as moved_on_referred,
        count(*) filter (where is_listed and not rules_listed and is_no_concern) as moved_on_no_concern
    from week_rows
    group by week_ending
)

select * from final
order by week_ending
