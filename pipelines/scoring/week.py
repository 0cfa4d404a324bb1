"""One week's scoring: run the SQL models as of a date, score, route, rank and cut to capacity.

``score_week(con, settings, as_of)`` is what the weekly flow, the backtest and the benchmark call. The SQL
models materialise as temporary tables on ``con`` (named after their files); the scoring itself is pure
(models/).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from models.reasons import household_reasons
from models.reranker import LearningStatus
from models.scoring import (
    REPAIR_COMPONENTS,
    RoutingRules,
    ScoringRules,
    prefetch_imports,
    rank_households,
    score_households,
    suppression_counts,
)
from pipelines.core.settings import Settings
from pipelines.scoring import incremental as incremental_weeks
from pipelines.scoring.learning import (
    apply_learning,
    explain_moves,
    finish_status,
    learning_rules,
    record_features,
    warehouse_examples,
)
from pipelines.warehouse.connection import checkpoint_deferred, materialise_model, query
from pipelines.warehouse.crypto import FieldCipher
from pipelines.warehouse.references import REFERENCE_COLUMNS, reveal, reveal_quoted

log = logging.getLogger(__name__)

# In dependency order: each model reads the tables of the ones before it.
MODELS: tuple[str, ...] = (
    "staging/stg_repairs__known",
    "staging/stg_repairs",
    "staging/stg_recharges",
    "staging/stg_asb",
    "staging/stg_rent",
    "staging/stg_tenancies",
    "staging/stg_properties",
    "staging/stg_known_cases",
    "staging/stg_planned_works",
    "intermediate/repairs__classified",
    "intermediate/asb__lens",
    "intermediate/rent__trajectory",
    "intermediate/recharges__damage",
    "intermediate/known_cases__live",
    "intermediate/outcomes__latest",
    "intermediate/tenancies__counting_period",
    "intermediate/repairs__incidents",
    "intermediate/signals__corroborating",
    "intermediate/households__waiting",
    "marts/household_features",
    "marts/household_evidence",
)

LISTED_COLUMNS: tuple[str, ...] = (
    "rank",
    "tenancy_ref",
    "property_ref",
    "team",
    "score",
    "points_score",
    "surprise_score",
    "anomaly_score",
    "is_complex_case",
    "reasons",
)
EVIDENCE_COLUMNS: tuple[str, ...] = (
    "tenancy_ref",
    "on",
    "source",
    "record_ref",
    "categories",
    "location",
    "is_counted",
    "note",
    "evidence",
    "amount_gbp",
    "summary",
    "summary_enc",
)


@dataclass(frozen=True)
class ScoredWeek:
    """The week's result.

    listed: the review list, ranked within team (1 = review first), cut to each team's capacity
        (LISTED_COLUMNS).
    carried: households that met the rules but did not fit their team's capacity
        (tenancy_ref, team, score, rank within the team, weeks_waiting: this week and the consecutive earlier
        published weeks it was carried forward).
    features: every live household with its features, every score component and its routing (for backtests).
    suppressed: households that met the rules but were kept off, by reason
        (live_marker, outcome_no_concern, ...).
    evidence: the records behind each listed household, in date order (EVIDENCE_COLUMNS; summary_enc is BLOB).
    discounted: red-flag repairs in the long window not counted, by look-alike rule.
    learning: whether the outcome-trained re-ranker ordered the list, and the sentence saying so (or why not).
    """

    as_of: dt.date
    listed: pl.DataFrame
    carried: pl.DataFrame
    features: pl.DataFrame
    suppressed: dict[str, int]
    evidence: pl.DataFrame
    discounted: dict[str, int] = field(default_factory=dict)
    learning: LearningStatus | None = None
    rules_listed: tuple[str, ...] | None = None  # the households the rules alone would list (None: the same)


def component_order(weights: dict[str, float]) -> list[str]:
    """The repair components strongest first (by weight; ties in ``REPAIR_COMPONENTS`` order): an incident's
    strongest component is the first of its components in this list."""
    return sorted(REPAIR_COMPONENTS, key=lambda c: (-float(weights.get(c, 0.0)), REPAIR_COMPONENTS.index(c)))


def known_by(settings: Settings, as_of: dt.date) -> dt.date:
    """The latest extract date the list for the week ending ``as_of`` may use: ``as_of`` plus the publication
    lag (EXTRACTS.md "Knowledge time"); events are still cut at ``as_of``."""
    return as_of + dt.timedelta(days=settings.knowledge.publication_lag_days)


def model_params(settings: Settings, as_of: dt.date) -> dict[str, Any]:
    """The bound values the SQL models use (each model binds only the ones it mentions)."""
    f, s = settings.features, settings.suppression
    return {
        "as_of": as_of,
        "known_by": known_by(settings, as_of),
        "short_window_days": f.short_window_days,
        "recent_window_days": f.recent_window_days,
        "long_window_days": f.long_window_days,
        "burst_window_days": f.burst_window_days,
        "recency_half_life_days": f.recency_half_life_days,
        "tenancy_start_grace_days": f.tenancy_start_grace_days,
        "block_cluster_window_days": f.block_cluster_window_days,
        "block_cluster_min_households": f.block_cluster_min_households,
        "block_cluster_categories": list(f.block_cluster_categories),
        "planned_programme_categories": list(f.planned_programme_categories),
        "planned_scope_terms": list(f.planned_programme_scope) or [""],
        "planned_scope_categories": [list(c) for c in f.planned_programme_scope.values()] or [[]],
        "police_ref_incident_days": f.police_ref_incident_days,
        "police_ref_max_discounted_incidents": f.police_ref_max_discounted_incidents,
        "asb_lens_terms": [t.lower() for t in f.asb_lens_terms],
        "asb_lens_roles": [r.lower() for r in f.asb_lens_roles],
        "arrears_clear_weeks": f.arrears_clear_weeks,
        "arrears_clear_max_gbp": f.arrears_clear_max_gbp,
        "arrears_rise_min_gbp": f.arrears_rise_min_gbp,
        "economic_abuse_window_days": f.economic_abuse_window_days,
        "peer_prior_home_years": f.peer_prior_home_years,
        "incident_gap_days": f.incident_gap_days,
        "corroboration_window_days": f.corroboration_window_days,
        "corroborating_asb_roles": [r.lower() for r in f.corroborating_asb_roles],
        "component_order": component_order(settings.scoring.weights.model_dump()),
        "markers": [m.strip().lower() for m in s.markers],
        "default_live_months": s.default_live_months,
        "suppressing_outcomes": [o.lower() for o in s.suppressing_outcomes],
    }


def scoring_rules(settings: Settings) -> ScoringRules:
    sc = settings.scoring
    return ScoringRules(
        weights=sc.weights.model_dump(),
        max_counted_per_component=sc.max_counted_per_component,
        max_counted_other_signals=sc.max_counted_other_signals,
        min_points=sc.min_points,
        min_red_flag_repairs=sc.min_red_flag_repairs,
        min_incidents=sc.min_incidents,
        min_corroborating_signals=sc.min_corroborating_signals,
        min_incidents_alone=sc.min_incidents_alone,
        surprise_weight=sc.surprise_weight,
        surprise_cap=sc.surprise_cap,
        anomaly_weight=sc.anomaly_weight,
        anomaly_trees=sc.anomaly_trees,
        anomaly_seed=sc.anomaly_seed,
        burst_min_repairs=settings.features.burst_min_repairs,
        long_window_days=settings.features.long_window_days,
    )


def routing_rules(settings: Settings) -> RoutingRules:
    r = settings.routing
    return RoutingRules(
        capacities={name: team.capacity_per_week for name, team in settings.teams.items()},
        tst_min_other_signals=r.tst_min_other_signals,
        complex_case_min_signals=r.complex_case_min_signals,
        tst_team=r.tst_team,
        default_team=r.default_team,
        overflow_team=r.default_team if r.overflow_to_default_team else None,
    )


def build_features(
    con: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date, *, incremental: bool = False
) -> None:
    """Materialise every SQL model as of ``as_of`` as a temporary table on ``con``.

    ``incremental``: rent trajectories and each job's latest repairs version come from the rows kept in the
    warehouse by the last run, carried forward by what is new (``pipelines/scoring/incremental.py``; the same rows
    as in full), and the kept rows are updated: the weekly run's way. Replays of many weeks or settings
    (backtests) leave it off.
    """
    params = model_params(settings, as_of)
    with checkpoint_deferred(con):
        for name in MODELS:
            if incremental and name in incremental_weeks.REPLACED:
                if name == "intermediate/rent__trajectory":
                    incremental_weeks.rent_trajectory(con, params, settings.fingerprint())
                elif name == "staging/stg_repairs":
                    incremental_weeks.stg_repairs(con, params, settings.fingerprint())
                continue
            materialise_model(con, name, params)


def _discount_counts(con: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date) -> dict[str, int]:
    rows = query(
        con,
        "select discount_reason, count(*) as n from repairs__classified"
        " where not is_counted and reported_on > $as_of - cast($days as integer)"
        " group by discount_reason order by discount_reason",
        {"as_of": as_of, "days": settings.features.long_window_days},
    )
    return {str(r): int(n) for r, n in rows.iter_rows()}


def record_week_features(
    con: duckdb.DuckDBPyConnection, list_id: str, week: ScoredWeek, *, cipher: FieldCipher | None
) -> int:
    """Keep the feature rows of the week's listed households and of those the rules alone would have listed
    (``review_list_features``: what the re-ranker learns from), under the warehouse's pseudonyms."""
    listed = week.listed["tenancy_ref"].to_list()
    return record_features(
        con,
        list_id=list_id,
        as_of=week.as_of,
        scored=week.features,
        listed=listed,
        rules_listed=list(week.rules_listed) if week.rules_listed is not None else listed,
        learning_active=bool(week.learning and week.learning.active),
        cipher=cipher,
    )


def _encrypted(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse's references are pseudonyms (its meta says so); a bare connection has no meta."""
    try:
        rows = con.execute("select value from meta where key = 'encryption'").fetchall()
    except duckdb.CatalogException:
        return False
    return bool(rows) and rows[0][0] != "none"


def score_week(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: dt.date,
    *,
    learning_examples: pl.DataFrame | None = None,
    incremental: bool = False,
    cipher: FieldCipher | None = None,
) -> ScoredWeek:
    """Features, scores, reasons, routing and capacity for the week ending ``as_of``, as known then.

    With ``outcomes.learning_enabled`` the outcome-trained re-ranker may order the eligible households
    (``pipelines/scoring/learning.py``); ``learning_examples`` (reviewed listings with their features) default to
    the warehouse's. Off, or with too few outcomes, the week is the rules' alone. ``incremental``: see
    ``build_features`` (the same result; needs a writable warehouse).

    ``cipher``: the warehouse's (required for an encrypted one): the households' references are turned back from
    pseudonyms here, in memory, so the scores' order and ties (by tenancy_ref) and every frame returned hold the
    landlord's references. Nothing of them is written back to DuckDB."""
    if cipher is None and _encrypted(con):
        # without it every frame would hold pseudonyms where a reviewer reads references: a caller's mistake
        raise RuntimeError("score_week on an encrypted warehouse needs its cipher (cipher=wh.cipher)")
    prefetch_imports()  # while the SQL models run (they release Python's lock)
    build_features(con, settings, as_of, incremental=incremental)
    features = query(
        con,
        "select household_features.*, coalesce(households__waiting.weeks_waited, 0) as weeks_waited"
        " from household_features left join households__waiting using (tenancy_ref)",
    )
    keys = cipher or FieldCipher(None)
    features = reveal(con, keys, features, REFERENCE_COLUMNS)
    scored = score_households(features, scoring_rules(settings), routing_rules(settings))
    routing = routing_rules(settings)
    learn = learning_rules(settings)
    if learn.enabled and learning_examples is None:
        learning_examples = warehouse_examples(con)
    scored, learning = apply_learning(scored, learn, as_of, learning_examples)
    listed, carried = rank_households(
        scored,
        routing.capacities,
        overflow_team=routing.overflow_team,
        by="rank_score" if learning.active else "score",
    )
    moves: dict[str, str] = {}
    rules_refs: tuple[str, ...] | None = None
    if learning.active:
        rules_listed, _ = rank_households(scored, routing.capacities, overflow_team=routing.overflow_team)
        rules_refs = tuple(rules_listed["tenancy_ref"].to_list())
        moves = explain_moves(listed, rules_listed, scored)
        learning = finish_status(learning, learn, as_of, len(moves))

    evidence = query(con, "select * from household_evidence")
    listed_keys = pl.Series(keys.pseudonyms(listed["tenancy_ref"].to_list()), dtype=pl.String)
    evidence = evidence.filter(pl.col("tenancy_ref").is_in(listed_keys.implode()))
    # the listed households' references are known (their pseudonyms were just computed); only the records'
    # are looked up, the quoted and the listed ones from the same books
    evidence = evidence.with_columns(
        pl.col("tenancy_ref").replace_strict(listed_keys, listed["tenancy_ref"], return_dtype=pl.String)
    )
    evidence = reveal_quoted(con, keys, evidence, "summary", "summary_ref", also=("record_ref",))
    # in the mart's order (household, date, source, record) by the landlord's references; a rent week's arrears
    # onset before its balance (the two share household, date and source, and DuckDB's sort is not stable)
    evidence = evidence.sort(
        [
            pl.col("tenancy_ref"),
            pl.col("on"),
            pl.col("source"),
            pl.col("record_ref"),
            pl.col("note").eq("balance").fill_null(False),
        ],
        nulls_last=True,
        maintain_order=True,
    )
    events_by_household: dict[str, list[dict[str, Any]]] = {}
    for row in evidence.iter_rows(named=True):
        events_by_household.setdefault(row["tenancy_ref"], []).append(row)
    reasons = [
        household_reasons(
            row,
            events_by_household.get(row["tenancy_ref"], []),
            as_of,
            burst_window_days=settings.features.burst_window_days,
            burst_min_repairs=settings.features.burst_min_repairs,
            recent_window_days=settings.features.recent_window_days,
            incident_gap_days=settings.features.incident_gap_days,
        )
        for row in listed.iter_rows(named=True)
    ]
    # the rules' evidence first; the re-ranker's sentence after it, only where it moved the household
    reasons = [
        f"{text}; {moves[ref]}" if ref in moves else text
        for ref, text in zip(listed["tenancy_ref"].to_list(), reasons, strict=True)
    ]
    listed = listed.with_columns(reasons=pl.Series(reasons, dtype=pl.String)).select(LISTED_COLUMNS)
    week = ScoredWeek(
        as_of=as_of,
        listed=listed,
        carried=carried,
        features=scored,
        suppressed=suppression_counts(scored),
        evidence=evidence.select(EVIDENCE_COLUMNS),
        discounted=_discount_counts(con, settings, as_of),
        learning=learning,
        rules_listed=rules_refs,
    )
    log.info(
        "scored %d households: %d listed, %d carried, %d suppressed",
        scored.height,
        listed.height,
        carried.height,
        sum(week.suppressed.values()),
    )
    return week
