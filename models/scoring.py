"""Explainable scoring, team routing and capacity for the weekly review list (pure: values in, frames out).

Three scores, every one visible per household (docs/scoring.md):

- ``points_score``: configured points per red-flag INCIDENT (counted red flags within a day or two of each
  other) for its strongest component (by category and location, weighted by its recency: half after
  ``recency_half_life_days``), a little for its other components, plus points for a recent burst of incidents,
  for a mix of categories across incidents, for damage recharges, for ASB cases matching the domestic-abuse
  lens, for an arrears onset near the repairs pattern, and (not recency-weighted) for each kind of independent
  corroborating signal in the year beside red flags on separate occasions.
- The rules decide eligibility, as the policies state them and independent of recency: red flags on
  ``min_incidents`` (2) separate occasions (incidents) in the counting period with at least
  ``min_corroborating_signals`` (1) corroborating signal in it (ASB through the lens as subject or victim, an
  arrears onset, a damage recharge), or on ``min_incidents_alone`` (3) occasions alone.
  ``min_points`` (default 0) is an optional floor for a landlord that wants shorter lists.
- ``surprise_score``: ``-log10 P(X >= observed)`` for ``X ~ Poisson(expected)``: incidents in the recent
  window against what similar homes (peer group, shrunk towards the landlord-wide rate) show over the same
  exposure.
- ``anomaly_score``: the percentile (0-1) of an isolation forest's score among households with any signal.

``score = points_score + surprise_weight * min(surprise_score, surprise_cap)
+ anomaly_weight * anomaly_score``
(the statistics order the eligible households; they never list one on their own).
"""

from __future__ import annotations

import logging
import math
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

log = logging.getLogger(__name__)

# Per-incident components: an incident scores its strongest component (``<component>_weighted``:
# recency-weighted incidents led by it); its other components add ``incident_extra_category`` each.
REPAIR_COMPONENTS: tuple[str, ...] = (
    "lock_change_external",
    "lock_change_internal",
    "lock_change_unknown",
    "door_damage_external",
    "door_damage_internal",
    "door_damage_unknown",
    "window_damage",
    "lost_keys",
    "forced_entry",
)
SIGNAL_COMPONENTS: tuple[str, ...] = (
    "incident_extra_category",
    "repeat_incident",
    "burst",
    "extra_category",
    "damage_recharge",
    "asb_lens",
    "arrears_near_pattern",
    "corroborating_signal",
)
COMPONENTS: tuple[str, ...] = REPAIR_COMPONENTS + SIGNAL_COMPONENTS

# The feature vector the isolation forest sees (standardised). Counts, recency and the peer surprise.
ANOMALY_COLUMNS: tuple[str, ...] = (
    "incidents_short",
    "incidents_recent",
    "incidents_long",
    "incidents_weighted",
    "flags_long",
    "distinct_categories_recent",
    "max_burst_incidents",
    "days_since_last_flag",
    "lock_change_external_long",
    "lock_change_internal_long",
    "door_damage_internal_long",
    "window_damage_long",
    "lost_keys_long",
    "forced_entry_long",
    "damage_recharges_long",
    "asb_lens_cases_long",
    "arrears_rise_gbp",
    "surprise_score",
)


@dataclass(frozen=True)
class ScoringRules:
    """Plain values from ``settings.scoring`` (and ``burst_min_repairs`` from ``settings.features``)."""

    weights: Mapping[str, float]
    max_counted_per_component: int = 6
    max_counted_other_signals: int = 3
    min_points: float = 0.0
    min_red_flag_repairs: int = 1
    min_incidents: int = 2
    min_corroborating_signals: int = 1
    min_incidents_alone: int = 3
    surprise_weight: float = 1.0
    surprise_cap: float = 6.0
    anomaly_weight: float = 1.0
    anomaly_trees: int = 200
    anomaly_seed: int = 0
    burst_min_repairs: int = 3
    long_window_days: int = 365


@dataclass(frozen=True)
class RoutingRules:
    """Plain values from ``settings.routing`` and each team's ``capacity_per_week``."""

    capacities: Mapping[str, int]
    tst_min_other_signals: int = 1
    complex_case_min_signals: int = 3
    tst_team: str = "tst"
    default_team: str = "repairs_admin"
    overflow_team: str | None = None


def points_components(features: pl.DataFrame, rules: ScoringRules) -> pl.DataFrame:
    """Points per component (``pts_<component>`` columns) and their sum ``points_score``.

    Input: household_features columns (``<component>_weighted``: recency-weighted incidents whose strongest
    component it is; ``incident_extra_weighted``: recency x components beyond the strongest;
    ``incidents_recent`` (each beyond the first adds ``repeat_incident``); ``max_burst_incidents``;
    ``distinct_categories_recent`` and ``max_incident_categories_recent``;
    ``damage_recharges_weighted``, ``asb_lens_weighted``, ``is_arrears_near_pattern``, and
    ``independent_signals_long`` beside ``incidents_long``: each kind of signal in the counting period that the
    repairs do not already show (an ASB case as subject or victim, an arrears onset, a recharge for something
    else) adds ``corroborating_signal`` points to red flags on ``min_incidents`` occasions). Output: the input plus
    the points columns, one row per household. The category mix counts the categories the other incidents
    add to the most varied one: ``distinct_categories_recent - max(max_incident_categories_recent, 1)``.
    """
    w = {name: float(rules.weights.get(name, 0.0)) for name in COMPONENTS}
    cap = rules.max_counted_other_signals
    per_component = rules.max_counted_per_component
    exprs = [
        (w[name] * pl.col(f"{name}_weighted").clip(upper_bound=per_component)).alias(f"pts_{name}")
        for name in REPAIR_COMPONENTS
    ]
    one_incident = pl.max_horizontal(pl.col("max_incident_categories_recent"), pl.lit(1))
    exprs += [
        (
            w["incident_extra_category"] * pl.col("incident_extra_weighted").clip(upper_bound=per_component)
        ).alias("pts_incident_extra_category"),
        (w["repeat_incident"] * (pl.col("incidents_recent") - 1).clip(0, per_component)).alias(
            "pts_repeat_incident"
        ),
        pl.when(pl.col("max_burst_incidents") >= rules.burst_min_repairs)
        .then(w["burst"])
        .otherwise(0.0)
        .alias("pts_burst"),
        (
            w["extra_category"] * (pl.col("distinct_categories_recent") - one_incident).clip(lower_bound=0)
        ).alias("pts_extra_category"),
        (w["damage_recharge"] * pl.col("damage_recharges_weighted").clip(upper_bound=cap)).alias(
            "pts_damage_recharge"
        ),
        (w["asb_lens"] * pl.col("asb_lens_weighted").clip(upper_bound=cap)).alias("pts_asb_lens"),
        pl.when(pl.col("is_arrears_near_pattern"))
        .then(w["arrears_near_pattern"])
        .otherwise(0.0)
        .alias("pts_arrears_near_pattern"),
        # the policies' combination: red flags on separate occasions with a signal from another service in the
        # year, whenever in the year it was (the signals above fade with recency; this does not)
        pl.when(pl.col("incidents_long") >= rules.min_incidents)
        .then(w["corroborating_signal"] * pl.col("independent_signals_long").clip(upper_bound=cap))
        .otherwise(0.0)
        .alias("pts_corroborating_signal"),
    ]
    out = features.with_columns([e.cast(pl.Float64) for e in exprs])
    return out.with_columns(points_score=pl.sum_horizontal([pl.col(f"pts_{c}") for c in COMPONENTS]))


# The statistics' libraries, imported on first use: scikit-learn's ensemble module brings SciPy's statistics with
# it, about a second of Python import (docs/scaling.md) that a weekly run otherwise pays in the middle of scoring.
_STATS_MODULES: tuple[str, ...] = ("sklearn.ensemble", "scipy.stats")
_prefetch: threading.Thread | None = None
_prefetch_lock = threading.Lock()


def prefetch_imports() -> None:
    """Start importing the statistics' libraries on a side thread, so that the import overlaps work that releases
    Python's lock (the SQL models): call it before that work. The same modules are imported as without it; any
    failure here is left for the first use to raise. The thread is not a daemon: a process that ends early waits
    for the import (about a second) rather than stopping it half-way."""
    global _prefetch
    with _prefetch_lock:
        if _prefetch is not None or all(m in sys.modules for m in _STATS_MODULES):
            return
        _prefetch = threading.Thread(target=_import_stats, name="redflags-imports")
        _prefetch.start()


def _import_stats() -> None:
    try:
        for name in _STATS_MODULES:
            __import__(name)
    except Exception:  # the first use imports again and raises it where it matters
        log.debug("prefetching the statistics' libraries failed", exc_info=True)


def _await_prefetch() -> None:
    """Wait for :func:`prefetch_imports` (if it ran): this thread never imports those modules while the side thread
    is importing them (two threads importing one package's modules in turn can deadlock)."""
    thread = _prefetch
    if thread is not None:
        thread.join()


def poisson_surprise(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """``-log10 P(X >= observed)`` for ``X ~ Poisson(expected)``, elementwise; 0 when nothing was observed.

    An observation with no expectation at all (expected 0) is infinitely surprising: the caller caps it.
    """
    _await_prefetch()
    from scipy.stats import poisson

    observed = np.asarray(observed, dtype=float)
    expected = np.asarray(expected, dtype=float)
    out = np.zeros(observed.shape, dtype=float)
    seen = observed > 0
    safe_mu = np.where(expected > 0, expected, 1.0)
    log_sf = poisson.logsf(observed - 1, safe_mu)  # P(X > obs-1) = P(X >= obs)
    out[seen] = -log_sf[seen] / math.log(10)
    out[seen & (expected <= 0)] = np.inf
    return np.maximum(out, 0.0)


def anomaly_percentiles(matrix: np.ndarray, *, trees: int, seed: int) -> np.ndarray:
    """Percentile (0-1, higher = more unusual) of each row's isolation-forest anomaly score.

    Rows must come in a fixed order (the caller sorts by tenancy_ref): the same input gives the same output.
    Columns are standardised first; a constant column contributes nothing. Fewer than 10 rows: all zeros.
    """
    n = matrix.shape[0]
    if n < 10:
        return np.zeros(n)
    _await_prefetch()
    from sklearn.ensemble import IsolationForest

    x = np.nan_to_num(np.asarray(matrix, dtype=float))
    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    forest = IsolationForest(n_estimators=trees, random_state=seed, n_jobs=1).fit(x)
    unusual = -forest.score_samples(x)
    order = np.argsort(np.argsort(unusual, kind="stable"), kind="stable")
    return (order + 1) / n


def has_any_signal() -> pl.Expr:
    return (
        (pl.col("flags_long") > 0)
        | (pl.col("asb_lens_cases_long") > 0)
        | (pl.col("damage_recharges_long") > 0)
        | pl.col("has_arrears_onset")
    )


def score_households(features: pl.DataFrame, rules: ScoringRules, routing: RoutingRules) -> pl.DataFrame:
    """Every component, the combined score, eligibility, team and complex-case flag for each household.

    Input: one row per household (household_features). Output: the same rows sorted by tenancy_ref, plus
    ``pts_*``, ``points_score``, ``surprise_score``, ``anomaly_score``, ``score``, ``other_signals``,
    ``signal_kinds``, ``team``, ``is_complex_case``, ``meets_rules`` (the occasions-and-signals rule, before the
    optional ``min_points`` floor), ``is_eligible`` (would be listed but for suppression) and ``is_listable``
    (eligible and not suppressed).
    """
    frame = points_components(features.sort("tenancy_ref"), rules)
    surprise = poisson_surprise(
        frame["incidents_recent"].to_numpy(), frame["expected_incidents_recent"].to_numpy()
    )
    frame = frame.with_columns(surprise_score=pl.Series(np.minimum(surprise, 1e6), dtype=pl.Float64))

    signal = frame.select(has_any_signal()).to_series()
    anomaly = np.zeros(frame.height)
    if signal.any():
        rows = np.flatnonzero(signal.to_numpy())
        vectors = (
            frame[rows]
            .select(
                [
                    pl.col(c).cast(pl.Float64).fill_null(float(rules.long_window_days))
                    if c == "days_since_last_flag"
                    else pl.col(c).cast(pl.Float64).fill_null(0.0)
                    for c in ANOMALY_COLUMNS
                ]
            )
            .to_numpy()
        )
        anomaly[rows] = anomaly_percentiles(vectors, trees=rules.anomaly_trees, seed=rules.anomaly_seed)
    frame = frame.with_columns(anomaly_score=pl.Series(anomaly, dtype=pl.Float64))

    kinds = {
        "asb": pl.col("asb_lens_cases_long") > 0,
        "arrears": pl.col("is_arrears_near_pattern"),
        "recharges": pl.col("damage_recharges_long") > 0,
    }
    other = pl.sum_horizontal([e.cast(pl.Int32) for e in kinds.values()])
    kind_names = pl.concat_list(
        [pl.when(pl.col("flags_long") > 0).then(pl.lit("repairs")).otherwise(None)]
        + [pl.when(e).then(pl.lit(name)).otherwise(None) for name, e in kinds.items()]
    ).list.drop_nulls()
    # Occasions are incidents (repairs__incidents) in the counting period; the signals are counted over the same
    # period (corroborating_signals_long). Recency and strength order the list; they never decide who is on it.
    corroborated = (pl.col("incidents_long") >= rules.min_incidents) & (
        pl.col("corroborating_signals_long") >= rules.min_corroborating_signals
    )
    repeated = pl.col("incidents_long") >= rules.min_incidents_alone
    meets_rules = (pl.col("flags_long") >= rules.min_red_flag_repairs) & (repeated | corroborated)
    eligible = meets_rules & (pl.col("points_score") >= rules.min_points)
    return frame.with_columns(
        score=(
            pl.col("points_score")
            + rules.surprise_weight * pl.col("surprise_score").clip(upper_bound=rules.surprise_cap)
            + rules.anomaly_weight * pl.col("anomaly_score")
        ),
        other_signals=other,
        signal_kinds=kind_names.list.join(", "),
        team=pl.when(other >= routing.tst_min_other_signals)
        .then(pl.lit(routing.tst_team))
        .otherwise(pl.lit(routing.default_team)),
        is_complex_case=((pl.col("flags_long") > 0).cast(pl.Int32) + other)
        >= routing.complex_case_min_signals,
        meets_rules=meets_rules,
        is_eligible=eligible,
        is_listable=eligible & pl.col("suppression_reason").is_null(),
    )


def rank_households(
    scored: pl.DataFrame,
    capacities: Mapping[str, int],
    *,
    overflow_team: str | None = None,
    by: str = "score",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rank listable households within their team and cut each team at its weekly capacity.

    Order: score descending (as published, to two decimals), then households already waiting on the backlog
    (``weeks_waited``: consecutive earlier weeks carried forward; 0 or absent for a new one) before newer ones
    of the same score, then tenancy_ref ascending (a stable tie-break: same input, same list).
    Returns ``(listed, carried)``: listed rows carry ``rank`` (1 = review first within the team), sorted by
    team and rank; carried rows are the listable households beyond their team's capacity
    (tenancy_ref, team, score, rank, weeks_waiting = weeks_waited + 1, this week included).
    A team missing from ``capacities`` has no capacity: its households are all carried.
    ``overflow_team``: that team's places go, highest score first, to its own households and to those that did
    not fit another team's capacity (its reviewers refer them on); those listed there take the team's name and
    are ranked with its own households by score. Capacity is a maximum, never a quota.
    ``by``: the ranking key, ``score`` unless the outcome-trained re-ranker is active (``rank_score``: the score
    plus its adjustment, models/reranker.py); the published score stays ``score``.
    """
    if "weeks_waited" not in scored.columns:
        scored = scored.with_columns(weeks_waited=pl.lit(0, dtype=pl.Int64))
    # Equal as published (two decimals): a reviewer comparing two rows of 6.31 sees the waiting one first.
    scored = scored.with_columns(
        pl.col("weeks_waited").fill_null(0).cast(pl.Int64), _score_shown=pl.col(by).round(2)
    )
    order = (["_score_shown", "weeks_waited", by, "tenancy_ref"], [True, True, True, False])
    ranked = (
        scored.filter(pl.col("is_listable"))
        .sort(order[0], descending=order[1])
        .with_columns(rank=pl.int_range(1, pl.len() + 1).over("team").cast(pl.Int64))
    )
    capacity = pl.col("team").replace_strict(dict(capacities), default=0, return_dtype=pl.Int64)
    fits = pl.col("rank") <= capacity
    if overflow_team is not None:
        # The default team's places go, highest score first, to its own households and to those that did not
        # fit another team's capacity: a household waiting for the TST outranks a weaker repairs-only one.
        pool = (pl.col("team") == overflow_team) | (~fits & (pl.col("team") != overflow_team))
        chosen = ranked.filter(pool).head(int(capacities.get(overflow_team, 0)))["tenancy_ref"].implode()
        moved = pl.col("tenancy_ref").is_in(chosen) & (pl.col("team") != overflow_team)
        ranked = (
            ranked.with_columns(
                team=pl.when(moved).then(pl.lit(overflow_team)).otherwise(pl.col("team")),
                _listed=pl.when(pool).then(pl.col("tenancy_ref").is_in(chosen)).otherwise(fits),
            )
            .sort(order[0], descending=order[1])
            .with_columns(rank=pl.int_range(1, pl.len() + 1).over("team").cast(pl.Int64))
        )
        fits = pl.col("_listed")
    listed = ranked.filter(fits).drop("_score_shown", "_listed", strict=False).sort(["team", "rank"])
    carried = (
        ranked.filter(~fits)
        .select("tenancy_ref", "team", "score", "rank", (pl.col("weeks_waited") + 1).alias("weeks_waiting"))
        .sort(["team", "rank"])
    )
    return listed, carried


def suppression_counts(scored: pl.DataFrame) -> dict[str, int]:
    """How many households that met the listing rules were kept off the list, by suppression reason."""
    counts = (
        scored.filter(pl.col("is_eligible") & pl.col("suppression_reason").is_not_null())
        .group_by("suppression_reason")
        .len()
        .sort("suppression_reason")
    )
    return {str(r): int(n) for r, n in counts.iter_rows()}
