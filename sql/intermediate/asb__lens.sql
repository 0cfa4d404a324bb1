-- asb__lens: anti-social behaviour case parties read through a domestic-abuse lens (Dover 8.7).
-- Grain: one row per (case_ref, tenancy_ref) party known on the as-of date.
-- is_lens_category: the landlord's category contains any of $asb_lens_terms (case-insensitive substring);
-- lens_terms: which terms matched. is_lens_match: a lens category with the household as one of $asb_lens_roles
-- (or with no role recorded: the household is a party either way).
-- Parameters: $asb_lens_terms (list of text), $asb_lens_roles (list of text).

with

asb as (
    select * from stg_asb
),

matched as (
    select
        *,
        list_filter($asb_lens_terms, lambda t: contains(lower(category), lower(t))) as lens_terms
    from asb
),

final as (
    select
        case_ref,
        tenancy_ref,
        opened_on,
        closed_on,
        category,
        role,
        description_enc,
        lens_terms,
        len(lens_terms) > 0 as is_lens_category,
        len(lens_terms) > 0 and (role is null or list_contains($asb_lens_roles, role)) as is_lens_match
    from matched
)

select * from final
