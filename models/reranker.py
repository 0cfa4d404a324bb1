"""The outcome-trained re-ranker (pure: frames in, frames out): learn from reviewers' recorded outcomes, inside
the policy's rules.

Training examples are the landlord's own reviews: one row per household listed in an earlier week and reviewed
(``tenancy_ref, listed_on, reviewed_on, outcome`` and the household's feature vector as scored the week it was
listed, ``LEARNING_FEATURES``). Only outcomes reviewed on or before the as-of date are used, and only those in
``positive_values`` (a referral worth making) or ``negative_values`` (no concern); the rest say nothing about the
list.

The model is a logistic regression on the standardised features, calibrated (sigmoid, on time-ordered folds) so
its output reads as "the chance a reviewer refers a household like this". It never decides who is on the list:
``rerank`` adds ``learning_weight x n / (n + shrinkage) x (p - referral rate)`` points to the ranking key of
households the rules made listable (``n``: reviewed households with a similar pattern), so it only changes their
order (and with it who fits the week's capacity). Two guards keep it honest:

- **Not outside what was reviewed.** Outcomes exist only for households that were listed (selection bias). A
  household's move is shrunk towards none by the evidence behind it, the reviewed households with a similar pattern
  (the same kinds of red flags and other signals, about as many occasions: ``pattern_distance`` within
  ``similar_distance``): with 1 of them it gets a third of the model's adjustment, with 6 three quarters
  (``shrinkage`` 2). One with fewer than ``min_similar`` (none, by default) is unlike anything reviewers have seen:
  it keeps its rules score, so it is still listed and reviewed in the rules' order (the product's exploration).
- **Explained.** Every household moved carries a sentence with the evidence that moved it: "reviewers referred 7 of
  9 households with a similar pattern". The rules' reasons stay first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from models.scoring import ANOMALY_COLUMNS, COMPONENTS

# What the model sees: every points component the rules gave, the statistics, and the counts behind them.
# What "a similar pattern" means to a reviewer: the same kinds of red flags and of other signals, about as many
# occasions (the kinds from the year's counts per component; a kind is present when any of its columns is > 0).
PATTERN_KINDS: dict[str, tuple[str, ...]] = {
    "lock_change": ("lock_change_external_long", "lock_change_internal_long", "lock_change_unknown_long"),
    "door_damage": ("door_damage_external_long", "door_damage_internal_long", "door_damage_unknown_long"),
    "window_damage": ("window_damage_long",),
    "lost_keys": ("lost_keys_long",),
    "forced_entry": ("forced_entry_long",),
    "asb": ("asb_lens_cases_long",),
    "recharges": ("damage_recharges_long",),
    "arrears": ("is_arrears_near_pattern",),
}
OCCASIONS = "incidents_long"
LEARNING_FEATURES: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            *(f"pts_{c}" for c in COMPONENTS),
            *ANOMALY_COLUMNS,
            "anomaly_score",
            "other_signals",
            "corroborating_signals_long",
            *(c for cols in PATTERN_KINDS.values() for c in cols),
        )
    )
)
EXAMPLE_COLUMNS: tuple[str, ...] = ("tenancy_ref", "listed_on", "reviewed_on", "outcome")


@dataclass(frozen=True)
class LearningRules:
    """Plain values from ``settings.outcomes`` (docs/scoring.md, "Learning from outcomes")."""

    enabled: bool = False
    min_outcomes: int = 200
    positive_values: tuple[str, ...] = ("new_concern_referred",)
    negative_values: tuple[str, ...] = ("no_concern",)
    weight: float = 8.0
    neighbours: int = 15
    min_similar: int = 1
    similar_distance: float = 1.0
    shrinkage: float = 2.0
    seed: int = 0


@dataclass(frozen=True)
class LearningStatus:
    """Whether the re-ranker ordered this week's list, and one sentence saying so (or why not)."""

    active: bool
    sentence: str
    outcomes: int = 0
    referred: int = 0
    moved: int = 0
    validation_auc: float | None = None


@dataclass
class Reranker:
    """A fitted re-ranker: the calibrated model, and the reviewed examples it compares households with."""

    model: Any
    mean: np.ndarray
    scale: np.ndarray
    pattern: np.ndarray  # reviewed examples' pattern_matrix
    labels: np.ndarray  # 1 = referred
    referral_rate: float
    outcomes: int
    validation_auc: float | None


def feature_matrix(frame: pl.DataFrame, columns: Sequence[str] = LEARNING_FEATURES) -> np.ndarray:
    """The frame's ``columns`` as floats (booleans 0/1; a missing value or column is 0)."""
    if frame.height == 0:
        return np.zeros((0, len(columns)))
    missing = [pl.lit(0.0).alias(c) for c in columns if c not in frame.columns]
    full = frame.with_columns(missing) if missing else frame
    return full.select(pl.col(c).cast(pl.Float64).fill_null(0.0).fill_nan(0.0) for c in columns).to_numpy()


def training_examples(examples: pl.DataFrame, as_of: dt.date, rules: LearningRules) -> pl.DataFrame:
    """The examples the model may learn from on ``as_of``: reviewed on or before it (an outcome recorded later
    was not known yet), from a list published on or before it, with an outcome that is a referral or a no
    concern. Adds ``label`` (1 referred, 0 not). Sorted by listing week, then tenancy_ref (same input, same model).
    """
    positive = [v.lower() for v in rules.positive_values]
    negative = [v.lower() for v in rules.negative_values]
    outcome = pl.col("outcome").str.strip_chars().str.to_lowercase()
    return (
        examples.filter(
            (pl.col("reviewed_on") <= as_of)
            & (pl.col("listed_on") <= as_of)
            & outcome.is_in(positive + negative)
        )
        .with_columns(label=outcome.is_in(positive).cast(pl.Int8))
        .sort(["listed_on", "tenancy_ref", "reviewed_on"])
    )


def _logistic(seed: int) -> Any:
    # strongly regularised: a few dozen to a few hundred outcomes against some forty features
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=0.1, max_iter=2000, random_state=seed)


def _fit_calibrated(x: np.ndarray, y: np.ndarray, seed: int) -> Any:
    """A logistic regression calibrated by sigmoid on time-ordered folds (earlier weeks fit, later calibrate);
    with too few of either class for folds, the plain regression (already a probability)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import TimeSeriesSplit

    minority = int(min(y.sum(), len(y) - y.sum()))
    if minority >= 6 and len(y) >= 40:
        folds = list(TimeSeriesSplit(n_splits=3).split(x))
        if all(len(set(y[train])) == 2 for train, _ in folds):
            return CalibratedClassifierCV(_logistic(seed), method="sigmoid", cv=folds).fit(x, y)
    return _logistic(seed).fit(x, y)


def time_split_auc(x: np.ndarray, y: np.ndarray, weeks: np.ndarray, seed: int) -> float | None:
    """Validation that respects time: fit on the earlier weeks' examples (about the first 70%), measure the
    area under the ROC curve on the later weeks'. None when either part lacks a referral or a no concern."""
    from sklearn.metrics import roc_auc_score

    distinct = np.unique(weeks)
    if len(distinct) < 2:
        return None
    cut = distinct[max(1, int(len(distinct) * 0.7)) - 1]
    early, late = weeks <= cut, weeks > cut
    if len(set(y[early])) < 2 or len(set(y[late])) < 2:
        return None
    mean, scale = _standardiser(x[early])
    model = _logistic(seed).fit((x[early] - mean) / scale, y[early])
    return float(roc_auc_score(y[late], model.predict_proba((x[late] - mean) / scale)[:, 1]))


def _standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    std = x.std(axis=0)
    return x.mean(axis=0), np.where(std > 0, std, 1.0)


def fit_reranker(train: pl.DataFrame, rules: LearningRules) -> Reranker | str:
    """Fit on ``training_examples`` output; or, when it cannot be fitted, the reason (part of a sentence)."""
    y = train["label"].to_numpy().astype(int)
    referred = int(y.sum())
    if referred == 0 or referred == len(y):
        missing = "no-concern outcomes" if referred else "referrals"
        return (
            f"all {len(y)} outcomes are of one kind (it needs referrals and no-concern outcomes, and has no "
            f"{missing})"
        )
    x = feature_matrix(train)
    mean, scale = _standardiser(x)
    model = _fit_calibrated((x - mean) / scale, y, rules.seed)
    pattern = pattern_matrix(train)
    weeks = train["listed_on"].cast(pl.Int64).to_numpy()
    return Reranker(
        model=model,
        mean=mean,
        scale=scale,
        pattern=pattern,
        labels=y,
        referral_rate=referred / len(y),
        outcomes=len(y),
        validation_auc=time_split_auc(x, y, weeks, rules.seed),
    )


def pattern_matrix(frame: pl.DataFrame) -> np.ndarray:
    """One row per household: a 0/1 column per kind in ``PATTERN_KINDS``, then its occasions in the year."""
    x = feature_matrix(frame, [c for cols in PATTERN_KINDS.values() for c in cols])
    kinds, start = [], 0
    for cols in PATTERN_KINDS.values():
        kinds.append((x[:, start : start + len(cols)] > 0).any(axis=1))
        start += len(cols)
    occasions = feature_matrix(frame, [OCCASIONS])[:, 0]
    return np.column_stack([*kinds, occasions]) if frame.height else np.zeros((0, len(PATTERN_KINDS) + 1))


def pattern_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances between the rows of ``a`` and of ``b`` (``pattern_matrix`` rows): the number of kinds present in
    one and not the other, plus half the difference in occasions. 0: the same kinds, as many occasions; 1: one
    kind more or less, or two occasions more or less."""
    kinds = np.abs(a[:, None, :-1] - b[None, :, :-1]).sum(axis=2)
    return kinds + np.abs(a[:, None, -1] - b[None, :, -1]) / 2


def similar_reviewed(
    reranker: Reranker, households: pl.DataFrame, rules: LearningRules
) -> tuple[np.ndarray, np.ndarray]:
    """For each household: how many reviewed households have a similar pattern (of its ``neighbours`` nearest by
    ``pattern_distance``, those within ``similar_distance``), and how many of those reviewers referred."""
    cur = pattern_matrix(households)
    ref = reranker.pattern
    if cur.shape[0] == 0 or ref.shape[0] == 0:
        return np.zeros(cur.shape[0], dtype=int), np.zeros(cur.shape[0], dtype=int)
    dist = pattern_distance(cur, ref)
    k = min(rules.neighbours, ref.shape[0])
    nearest = np.argsort(dist, axis=1, kind="stable")[:, :k]
    close = np.take_along_axis(dist, nearest, axis=1) <= rules.similar_distance
    similar = close.sum(axis=1)
    referred = (close & (reranker.labels[nearest] == 1)).sum(axis=1)
    return similar.astype(int), referred.astype(int)


def evidence_share(similar: np.ndarray, shrinkage: float) -> np.ndarray:
    """How much of the model's adjustment a household gets, by the evidence behind it: ``n / (n + shrinkage)`` for
    ``n`` similar reviewed households (empirical-Bayes shrinkage towards no move: with ``shrinkage`` 5, 5 similar
    households give half the adjustment, 15 three quarters); 1 with ``shrinkage`` 0 (the ``min_similar`` cut alone).
    """
    n = similar.astype(float)
    return n / (n + shrinkage) if shrinkage > 0 else np.ones_like(n)


def rerank(scored: pl.DataFrame, reranker: Reranker, rules: LearningRules) -> pl.DataFrame:
    """The scored frame plus ``learned_p`` (chance of a referral, null where not compared), ``similar_reviewed``,
    ``similar_referred``, ``learning_adjustment`` (points added to the ranking key; 0 for households not listable
    or unlike any reviewed) and ``rank_score`` (``score`` + adjustment). Nothing else changes: eligibility,
    suppression, the look-alike discounts and the published score are the rules'.
    """
    listable = scored["is_listable"].fill_null(False).to_numpy()
    rows = np.flatnonzero(listable)
    p = np.full(scored.height, np.nan)
    similar = np.zeros(scored.height, dtype=int)
    referred = np.zeros(scored.height, dtype=int)
    if rows.size:
        part = scored[rows]
        x = (feature_matrix(part) - reranker.mean) / reranker.scale
        p[rows] = reranker.model.predict_proba(x)[:, 1]
        similar[rows], referred[rows] = similar_reviewed(reranker, part, rules)
    compared = listable & (similar >= rules.min_similar)
    adjustment = np.where(
        compared,
        rules.weight * evidence_share(similar, rules.shrinkage) * (np.nan_to_num(p) - reranker.referral_rate),
        0.0,
    )
    return scored.with_columns(
        learned_p=pl.Series(np.where(compared, p, np.nan), dtype=pl.Float64).fill_nan(None),
        similar_reviewed=pl.Series(similar, dtype=pl.Int64),
        similar_referred=pl.Series(referred, dtype=pl.Int64),
        learning_adjustment=pl.Series(adjustment, dtype=pl.Float64),
    ).with_columns(rank_score=pl.col("score") + pl.col("learning_adjustment"))


def moved_reason(similar: int, referred: int, up: bool) -> str:
    """The sentence added after the rules' reasons for a household the re-ranker moved."""
    direction = "up" if up else "down"
    households = (
        "household" if similar == 1 else "households"
    )  # with shrinkage, one is enough for a small move
    return (
        f"Moved {direction} by reviewers' outcomes: reviewers referred {referred} of {similar} {households} "
        "with a similar pattern."
    )


def status_sentence(
    *,
    enabled: bool,
    outcomes: int,
    min_outcomes: int,
    as_of: dt.date,
    problem: str | None = None,
    referred: int = 0,
    moved: int = 0,
    auc: float | None = None,
) -> str:
    """One sentence for the run's summary: whether the re-ranker ordered the week's list and, if not, why."""
    if not enabled:
        return "The re-ranker is off (outcomes.learning_enabled is false): the list is in the rules' order."
    if outcomes < min_outcomes:
        return (
            f"The re-ranker is not active: {outcomes} referral or no-concern outcomes were recorded by "
            f"{as_of:%d %b %Y}, fewer than the {min_outcomes} it needs (outcomes.learning_min_outcomes), "
            "so the list is in the rules' order."
        )
    if problem is not None:
        return f"The re-ranker is not active: {problem}, so the list is in the rules' order."
    checked = (
        f"; on later weeks held out it ranked a referral above a no concern {auc:.0%} of the time"
        if auc is not None
        else ""
    )
    return (
        f"The re-ranker is active: trained on {outcomes} outcomes reviewed by {as_of:%d %b %Y} ({referred} "
        f"referred), it moved {moved} listed household(s){checked}."
    )
