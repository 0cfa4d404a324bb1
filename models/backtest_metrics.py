"""Backtest metrics (pure): how good a week's list was, judged against known truth.

"Truth" is either a synthetic landlord's answer key or reviewers' recorded outcomes. Both arrive as one
frame per week with a row per household that the truth knows about:

- ``tenancy_ref``
- ``is_positive`` (bool or null): would listing this household have been right? null = unknown (unreviewed,
  or an outcome that says nothing about the list); unknown rows are left out of precision.
- ``is_live`` (bool): a planted pattern is under way this week (recall counts these).
- ``is_lookalike`` (bool): a planted look-alike (burglary, vandalism, planned works, ...).
- ``is_known_case`` (bool): a household the landlord already knows about (it should be suppressed).

A household missing from the truth frame is a negative for the answer key (not planted) and unknown for
outcomes: the caller says which with ``missing_is_negative``.

Precision at capacity is the DSSG measure: of the list a team can act on, the share that were right.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

POSITIVE_KINDS = ("da_pattern", "known_case_lapsed")
TRUTH_SCHEMA = {
    "tenancy_ref": pl.String,
    "is_positive": pl.Boolean,
    "is_live": pl.Boolean,
    "is_lookalike": pl.Boolean,
    "is_known_case": pl.Boolean,
}


def ratio(numerator: int | float, denominator: int | float) -> float | None:
    """numerator / denominator, or None when the denominator is 0 (no evidence either way)."""
    return None if denominator == 0 else numerator / denominator


@dataclass(frozen=True)
class WeekMetrics:
    """One week's list against the truth. Counts are households; precision and recall are fractions (0-1)."""

    list_size: int
    labelled: int  # listed households whose truth is known (the precision denominator)
    positives_listed: int
    precision: float | None
    live: int
    live_listed: int
    recall: float | None
    lookalikes_listed: int
    known_cases_listed: int


def week_metrics(
    listed_refs: Sequence[str], truth: pl.DataFrame, *, missing_is_negative: bool
) -> WeekMetrics:
    """Precision of the listed households and recall of the live patterns, for one week.

    ``listed_refs``: the households on the list (already cut to capacity), each once. ``truth``: columns as
    in the module docstring, one row per household.
    """
    listed = pl.DataFrame(
        {"tenancy_ref": list(dict.fromkeys(listed_refs))}, schema={"tenancy_ref": pl.String}
    )
    on_list = listed.join(truth, on="tenancy_ref", how="left")
    if missing_is_negative:
        on_list = on_list.with_columns(
            pl.col("is_positive").fill_null(False),
            pl.col("is_lookalike").fill_null(False),
            pl.col("is_known_case").fill_null(False),
        )
    labelled = int(on_list["is_positive"].is_not_null().sum())
    positives = int(on_list["is_positive"].fill_null(False).sum())
    live = int(truth["is_live"].fill_null(False).sum())
    live_listed = int(on_list["is_live"].fill_null(False).sum())
    return WeekMetrics(
        list_size=listed.height,
        labelled=labelled,
        positives_listed=positives,
        precision=ratio(positives, labelled),
        live=live,
        live_listed=live_listed,
        recall=ratio(live_listed, live),
        lookalikes_listed=int(on_list["is_lookalike"].fill_null(False).sum()),
        known_cases_listed=int(on_list["is_known_case"].fill_null(False).sum()),
    )


def answer_key_truth(key: pl.DataFrame, week: dt.date) -> pl.DataFrame:
    """The synthetic answer key read as of one week-ending date.

    ``key``: tenancy_ref, kind, pattern_start (date), pattern_end (date or null). Positive = a kind in
    ``POSITIVE_KINDS`` whose pattern has started by ``week``; live = started and not yet ended. A household
    with several key rows is positive (live, a look-alike) if any of its rows is. One row per household.
    """
    started = pl.col("pattern_start").is_not_null() & (pl.col("pattern_start") <= week)
    planted = pl.col("kind").is_in(POSITIVE_KINDS)
    not_ended = pl.col("pattern_end").is_null() | (pl.col("pattern_end") >= week)
    return (
        key.with_columns(
            (planted & started).alias("is_positive"),
            (planted & started & not_ended).alias("is_live"),
            pl.col("kind").str.starts_with("lookalike").alias("is_lookalike"),
            (pl.col("kind") == "known_case").alias("is_known_case"),
        )
        .group_by("tenancy_ref")
        .agg(pl.col("is_positive", "is_live", "is_lookalike", "is_known_case").any())
        .select(list(TRUTH_SCHEMA))
        .cast(TRUTH_SCHEMA)  # type: ignore[arg-type]
        .sort("tenancy_ref")
    )


def outcome_truth(
    latest: pl.DataFrame, *, positive_values: Sequence[str], negative_values: Sequence[str]
) -> pl.DataFrame:
    """Reviewers' outcomes as truth: ``latest`` has one row per household (tenancy_ref, outcome).

    Positive and negative outcome values are labels; any other value (already_known, unable_to_assess) is
    unknown. Outcomes say nothing about households nobody listed, so there is no recall here (``is_live`` is
    all false).
    """
    outcome = pl.col("outcome")
    return latest.select(
        "tenancy_ref",
        pl.when(outcome.is_in(list(positive_values)))
        .then(True)
        .when(outcome.is_in(list(negative_values)))
        .then(False)
        .otherwise(None)
        .alias("is_positive"),
        pl.lit(False).alias("is_live"),
        pl.lit(False).alias("is_lookalike"),
        (outcome == "already_known").alias("is_known_case"),
    ).cast(TRUTH_SCHEMA)  # type: ignore[arg-type]


def weeks_to_first_listing(
    pattern_starts: pl.DataFrame, listings: pl.DataFrame, *, first_week: dt.date, last_week: dt.date
) -> pl.DataFrame:
    """For each pattern that started inside the backtest, the weeks from its start to its first listing.

    ``pattern_starts``: tenancy_ref, pattern_start (date). ``listings``: tenancy_ref, week (the week-ending
    date of each list the household was on). A pattern counts when it started after the week before
    ``first_week`` and on or before ``last_week`` (earlier starts could have been listed before the backtest
    began). Output: one row per counted pattern: tenancy_ref, pattern_start, first_listed (date or null),
    weeks_to_flag (days / 7, null when never listed). Listings before the pattern started do not count.
    """
    window_start = first_week - dt.timedelta(days=6)
    starts = pattern_starts.filter(
        pl.col("pattern_start").is_between(window_start, last_week, closed="both")
    ).unique("tenancy_ref", keep="first")
    first = (
        starts.join(listings, on="tenancy_ref", how="inner")
        .filter(pl.col("week") >= pl.col("pattern_start"))
        .group_by("tenancy_ref")
        .agg(pl.col("week").min().alias("first_listed"))
    )
    return (
        starts.select("tenancy_ref", "pattern_start")
        .join(first, on="tenancy_ref", how="left")
        .with_columns(
            ((pl.col("first_listed") - pl.col("pattern_start")).dt.total_days() / 7).alias("weeks_to_flag")
        )
        .sort("pattern_start", "tenancy_ref")
    )


@dataclass(frozen=True)
class TimeToFlag:
    patterns: int
    listed: int
    median_weeks: float | None
    share_never_listed: float | None


def summarise_time_to_flag(frame: pl.DataFrame) -> TimeToFlag:
    """Median weeks to first listing (of the patterns listed) and the share of patterns never listed."""
    weeks = frame["weeks_to_flag"].drop_nulls()
    median = weeks.median() if weeks.len() else None
    return TimeToFlag(
        patterns=frame.height,
        listed=weeks.len(),
        median_weeks=float(median) if median is not None else None,  # type: ignore[arg-type]
        share_never_listed=ratio(frame.height - weeks.len(), frame.height),
    )


def threshold_sweep(
    scored: pl.DataFrame,
    truth: pl.DataFrame,
    thresholds: Sequence[float],
    *,
    weeks: int,
    missing_is_negative: bool,
) -> pl.DataFrame:
    """Precision and recall if everyone scoring at least ``t`` were listed, pooled over the weeks.

    ``scored``: week, tenancy_ref, score (every household the scorer scored, listed or not). ``truth``: week
    plus the truth columns, one row per household per week. Output: one row per threshold: threshold,
    households_per_week (mean over ``weeks``), precision (positives / labelled among those at or above t),
    recall (live households at or above t / live households, over all weeks).
    """
    joined = scored.join(truth, on=["week", "tenancy_ref"], how="left")
    if missing_is_negative:
        joined = joined.with_columns(pl.col("is_positive").fill_null(False))
    live_total = int(truth["is_live"].fill_null(False).sum())
    rows = []
    for t in thresholds:
        above = joined.filter(pl.col("score") >= t)
        labelled = int(above["is_positive"].is_not_null().sum())
        positives = int(above["is_positive"].fill_null(False).sum())
        live_above = int(above["is_live"].fill_null(False).sum())
        rows.append(
            {
                "threshold": float(t),
                "households_per_week": above.height / weeks if weeks else 0.0,
                "precision": ratio(positives, labelled),
                "recall": ratio(live_above, live_total),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "threshold": pl.Float64,
            "households_per_week": pl.Float64,
            "precision": pl.Float64,
            "recall": pl.Float64,
        },
    )


def sweep_thresholds(scores: pl.Series, steps: int = 20) -> list[float]:
    """Cut-offs to sweep, lowest first, distinct (4 decimals): the 0th, 1/steps, ..., 100th percentiles of the
    scores seen (where most households are) plus ``steps`` even steps from the lowest to the highest score
    (where the few high scorers are)."""
    values = scores.drop_nulls()
    if values.is_empty():
        return []
    qs = [values.quantile(i / steps, interpolation="lower") for i in range(steps + 1)]
    low, high = float(values.min()), float(values.max())  # type: ignore[arg-type]
    even = [low + (high - low) * i / steps for i in range(steps + 1)]
    return sorted({round(float(q), 4) for q in [*qs, *even] if q is not None and math.isfinite(float(q))})


def top_k(candidates: pl.DataFrame, k: int, *, by: Sequence[str], descending: Sequence[bool]) -> list[str]:
    """The ``k`` tenancy refs ranked first by ``by`` (ties broken by tenancy_ref, so the result is stable)."""
    if k <= 0 or candidates.is_empty():
        return []
    ordered = candidates.sort([*by, "tenancy_ref"], descending=[*descending, False])
    return ordered["tenancy_ref"].head(k).to_list()


def pooled(weekly: pl.DataFrame) -> dict[str, float | None]:
    """Totals over weeks: pooled precision (sum of positives / sum labelled) and recall, mean list size."""
    sums = {
        c: float(weekly[c].sum())
        for c in ("positives_listed", "labelled", "live_listed", "live", "list_size")
    }
    return {
        "precision": ratio(sums["positives_listed"], sums["labelled"]),
        "recall": ratio(sums["live_listed"], sums["live"]),
        "mean_list_size": ratio(sums["list_size"], weekly.height),
    }
