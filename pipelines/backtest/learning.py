"""``redflags backtest --compare``: rules only against rules + the outcome-trained re-ranker, over simulated
reviewers on a synthetic landlord (its answer key says what a reviewer would find).

Each week is scored once by the rules (``score_week``: eligibility, suppression and discounts are theirs in both
arms). Simulated reviewers review each household the first time the published list (the re-ranker's; the rules'
until it is active) shows it, and record, one to a few weeks later, a referral with a set probability:
``refer_pattern`` for a planted pattern that has started, ``refer_lookalike`` for a planted innocent look-alike,
``refer_other`` (noise) for anyone else; otherwise no concern. Outcomes exist only for listed households: the
selection bias is part of the simulation. A household with an outcome recorded leaves the pool (a referral becomes a
known case, a no concern is suppressed). The re-ranker learns only from outcomes recorded by each week's as-of date.

Both orders are measured every week on the same pool, so they differ only in order, against the answer key, on
the ranking (the households not yet reviewed, by each arm's ranking key, best first): precision@25 (planted
patterns started), recall@50 (live patterns in the top 50, or already referred), look-alikes in the top 50, the
precision of the list cut at capacity; over the weeks after the learning weeks, listing rates by estate and property
type, re-ranker on against off.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import polars as pl

from models.backtest_metrics import answer_key_truth, ratio
from models.reranker import LEARNING_FEATURES
from models.scoring import rank_households
from pipelines.core.errors import UserError
from pipelines.core.progress import get_progress
from pipelines.core.settings import Settings
from pipelines.core.spreadsheets import write_csv
from pipelines.scoring.learning import apply_learning, empty_examples, learning_rules
from pipelines.scoring.week import routing_rules, score_week
from pipelines.warehouse.connection import Warehouse

log = logging.getLogger(__name__)

RULES, LEARNED = "rules only", "rules + re-ranker"
GROUP_COLUMNS = ("estate", "property_type")


@dataclass(frozen=True)
class SimulatedReviewers:
    """How the simulated reviewers decide (probabilities of a referral) and how long they take (weeks)."""

    refer_pattern: float = 0.85
    refer_lookalike: float = 0.05
    refer_other: float = 0.10
    min_delay_weeks: int = 1
    max_delay_weeks: int = 3
    seed: int = 0


@dataclass
class LearningComparison:
    """Week by week (``weekly``: config, week, outcomes, active, precision_25, recall_50, lookalikes_50) and the
    listing rates by group with the re-ranker on against off (``groups``), plus the pooled summary."""

    weeks: list[dt.date]
    learning_weeks: int
    weekly: pl.DataFrame
    groups: pl.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    examples: pl.DataFrame | None = None  # the re-ranker arm's simulated outcomes, with features


def _draw(seed: int, ref: str) -> tuple[float, float]:
    """Two uniform draws fixed by the reviewers' seed and the household: the same household gets the same
    decision and delay in both arms, so the arms differ only in whom they list."""
    digest = hashlib.sha256(f"{seed}:{ref}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64, int.from_bytes(digest[8:16], "big") / 2**64


def simulate_reviews(
    refs: Sequence[str],
    week: dt.date,
    truth: pl.DataFrame,
    reviewers: SimulatedReviewers,
    *,
    positive: str,
    negative: str,
) -> pl.DataFrame:
    """One outcome per household in ``refs`` (listed ``week``, in that order): tenancy_ref, listed_on,
    reviewed_on, outcome. ``truth``: ``answer_key_truth`` for the week."""
    kinds = {
        r: (p, la) for r, p, la in truth.select("tenancy_ref", "is_positive", "is_lookalike").iter_rows()
    }
    rows = []
    spread = reviewers.max_delay_weeks - reviewers.min_delay_weeks + 1
    for ref in refs:
        is_positive, is_lookalike = kinds.get(ref, (False, False))
        chance = (
            reviewers.refer_pattern
            if is_positive
            else reviewers.refer_lookalike
            if is_lookalike
            else reviewers.refer_other
        )
        decide, wait = _draw(reviewers.seed, ref)
        delay = reviewers.min_delay_weeks + min(int(wait * spread), spread - 1)
        outcome = positive if decide < chance else negative
        rows.append((ref, week, week + dt.timedelta(weeks=delay), outcome))
    return pl.DataFrame(
        rows,
        schema={"tenancy_ref": pl.String, "listed_on": pl.Date, "reviewed_on": pl.Date, "outcome": pl.String},
        orient="row",
    )


def ranking(scored: pl.DataFrame, key: str) -> list[str]:
    """The listable households best first by ``key`` (as published, two decimals; then the exact key, then
    tenancy_ref): the order staff work through, across teams."""
    return (
        scored.filter(pl.col("is_listable"))
        .with_columns(_shown=pl.col(key).round(2))
        .sort(["_shown", key, "tenancy_ref"], descending=[True, True, False])["tenancy_ref"]
        .to_list()
    )


def week_measures(order: list[str], truth: pl.DataFrame, referred: set[str]) -> dict[str, float | int | None]:
    """One arm's week: ``order`` its ranking of the households not yet reviewed; ``referred`` the households its
    reviewers have referred so far (a live pattern already referred counts as found for recall)."""
    positive = set(truth.filter(pl.col("is_positive"))["tenancy_ref"].to_list())
    live = set(truth.filter(pl.col("is_live"))["tenancy_ref"].to_list())
    lookalike = set(truth.filter(pl.col("is_lookalike"))["tenancy_ref"].to_list())
    top25, top50 = set(order[:25]), set(order[:50])
    return {
        "eligible": len(order),
        "precision_25": ratio(len(top25 & positive), len(top25)),
        # the best precision@25 any order of this pool could have: what is left to gain by ordering at all
        "ceiling_25": ratio(min(len(top25), len(positive.intersection(order))), len(top25)),
        "live_25": ratio(len(top25 & live), len(top25)),
        "precision_50": ratio(len(top50 & positive), len(top50)),
        "recall_50": ratio(len((top50 | referred) & live), len(live)),
        "lookalikes_50": ratio(len(top50 & lookalike), len(top50)),
    }


def compare_learning(
    wh: Warehouse,
    weeks: Sequence[dt.date],
    settings: Settings,
    answer_key: pl.DataFrame,
    *,
    reviewers: SimulatedReviewers | None = None,
    learning_weeks: int = 12,
) -> LearningComparison:
    """Replay ``weeks`` with simulated reviewers (module docstring). ``settings``: the re-ranker's (learning is
    switched on here whatever the file says); ``learning_weeks``: weeks of reviewing before the measure that
    counts (the summary pools the weeks after them)."""
    if not weeks:
        raise UserError("the date range holds no week-ending Sunday")
    reviewers = reviewers or SimulatedReviewers()
    rules_settings = settings.model_copy(
        update={"outcomes": settings.outcomes.model_copy(update={"learning_enabled": False})}
    )
    learn = replace(learning_rules(settings), enabled=True)
    routing = routing_rules(settings)
    positive, negative = settings.outcomes.positive_values[0], settings.outcomes.negative_values[0]
    examples = empty_examples()
    reviewed: set[str] = set()
    rows: list[dict[str, Any]] = []
    listed_sets: dict[str, list[pl.DataFrame]] = {RULES: [], LEARNED: []}
    homes = pl.DataFrame(schema={"tenancy_ref": pl.String, **{c: pl.String for c in GROUP_COLUMNS}})
    with get_progress().stage(f"Replaying {len(weeks)} weeks with simulated reviewers"):
        for i, week in enumerate(weeks):
            # the week scored by the rules (eligibility, suppression and discounts are theirs in both arms)
            base = score_week(wh.con, rules_settings, week, cipher=wh.cipher).features
            truth = answer_key_truth(answer_key, week)
            homes = base.select("tenancy_ref", *(pl.col(c).cast(pl.String) for c in GROUP_COLUMNS))
            # households with an outcome recorded leave the pool: referred (the specialist team holds them now,
            # a known case) or no concern (the product suppresses them)
            done = examples.filter(pl.col("reviewed_on") <= week)
            pool = base.with_columns(
                is_listable=pl.col("is_listable")
                & ~pl.col("tenancy_ref").is_in(done["tenancy_ref"].implode())
            )
            learned, status = apply_learning(pool, learn, week, examples)
            key = "rank_score" if status.active else "score"
            referred = set(done.filter(pl.col("outcome") == positive)["tenancy_ref"].to_list())
            lists = {}
            for name, (frame, by) in {RULES: (pool, "score"), LEARNED: (learned, key)}.items():
                lists[name], _ = rank_households(
                    frame, routing.capacities, overflow_team=routing.overflow_team, by=by
                )
                rows.append(
                    {
                        "config": name,
                        "week": week,
                        "week_number": i + 1,
                        "outcomes": done.height,
                        "active": status.active,
                        "listed": lists[name].height,
                        "listed_positive": int(
                            lists[name]["tenancy_ref"]
                            .is_in(truth.filter(pl.col("is_positive"))["tenancy_ref"].implode())
                            .sum()
                        ),
                    }
                    | week_measures(ranking(frame, by), truth, referred)
                )
                if i >= learning_weeks:
                    listed_sets[name].append(lists[name].select("tenancy_ref"))
            # the reviewers review the list the product published: the re-ranker's (the rules' until it is active)
            new = [r for r in lists[LEARNED]["tenancy_ref"].to_list() if r not in reviewed]
            reviewed.update(new)
            if new:
                outcomes = simulate_reviews(new, week, truth, reviewers, positive=positive, negative=negative)
                features = pool.filter(pl.col("tenancy_ref").is_in(new)).select(
                    "tenancy_ref",
                    *(pl.col(c).cast(pl.Float64) for c in LEARNING_FEATURES if c in pool.columns),
                )
                examples = pl.concat(
                    [examples, outcomes.join(features, on="tenancy_ref", how="left")], how="diagonal_relaxed"
                ).select(examples.columns)
    weekly = pl.DataFrame(rows, infer_schema_length=None)
    groups = listing_rates(listed_sets, homes)
    result = LearningComparison(
        weeks=list(weeks), learning_weeks=learning_weeks, weekly=weekly, groups=groups, examples=examples
    )
    result.summary = summarise(
        result, settings.monitoring.fairness_max_ratio, settings.monitoring.small_count_threshold
    )
    return result


def listing_rates(listed_sets: dict[str, list[pl.DataFrame]], homes: pl.DataFrame) -> pl.DataFrame:
    """Households listed at least once (over the measured weeks) per 1,000 households, by estate and property
    type, re-ranker off and on: attribute, group, households, listed_off, listed_on, rate_off, rate_on, ratio."""
    frames = []
    for attribute in GROUP_COLUMNS:
        base = homes.group_by(pl.col(attribute).cast(pl.String).fill_null("not recorded").alias("group")).len(
            "households"
        )
        counts = []
        for name, col in ((RULES, "listed_off"), (LEARNED, "listed_on")):
            refs = (
                pl.concat(listed_sets[name]).unique()
                if listed_sets[name]
                else pl.DataFrame(schema={"tenancy_ref": pl.String})
            )
            counts.append(
                homes.join(refs, on="tenancy_ref")
                .group_by(pl.col(attribute).cast(pl.String).fill_null("not recorded").alias("group"))
                .len(col)
            )
        frame = (
            base.join(counts[0], on="group", how="left").join(counts[1], on="group", how="left").fill_null(0)
        )
        frames.append(
            frame.with_columns(
                attribute=pl.lit(attribute),
                rate_off=1000 * pl.col("listed_off") / pl.col("households"),
                rate_on=1000 * pl.col("listed_on") / pl.col("households"),
            )
        )
    out = pl.concat(frames, how="diagonal_relaxed")
    return (
        out.with_columns(
            ratio=pl.when(pl.col("listed_off") > 0)
            .then(pl.col("listed_on") / pl.col("listed_off"))
            .otherwise(None)
        )
        .select("attribute", "group", "households", "listed_off", "listed_on", "rate_off", "rate_on", "ratio")
        .sort("attribute", "group")
    )


def summarise(result: LearningComparison, max_ratio: float, small: int) -> dict[str, Any]:
    """Pooled over the weeks after the learning weeks: each arm's mean precision@25, recall@50 and look-alikes in
    the top 50; the largest on/off listing-rate ratio (either way) among groups with at least ``small`` listings
    in both arms, and whether it is within ``max_ratio``; and each arm's largest disparity (either way) of a
    group's listing rate against its attribute's largest group (the report's fairness audit), groups with at least
    ``small`` listings."""
    after = result.weekly.filter(pl.col("week_number") > result.learning_weeks)
    out: dict[str, Any] = {
        "weeks_measured": after["week"].n_unique(),
        "learning_weeks": result.learning_weeks,
    }
    for name, tag in ((RULES, "rules"), (LEARNED, "learned")):
        mine = after.filter(pl.col("config") == name)
        for measure in (
            "precision_25",
            "ceiling_25",
            "live_25",
            "precision_50",
            "recall_50",
            "lookalikes_50",
        ):
            out[f"{tag}_{measure}"] = (
                mine[measure].mean() if mine.height and measure in mine.columns else None
            )
        # the DSSG measure: of the households the team could review (the list, cut at capacity), the share planted
        on_lists = int(mine["listed"].sum()) if "listed" in mine.columns else 0
        out[f"{tag}_list_precision"] = (
            ratio(int(mine["listed_positive"].sum()), on_lists) if on_lists else None
        )
    out["weeks_active"] = int(after.filter((pl.col("config") == LEARNED) & pl.col("active")).height)
    assessed = result.groups.filter((pl.col("listed_off") >= small) & (pl.col("listed_on") >= small))
    ratios = [max(r, 1 / r) for r in assessed["ratio"].to_list() if r]
    out["worst_group_ratio"] = max(ratios) if ratios else None
    out["groups_within_fairness"] = all(r <= max_ratio for r in ratios)
    # the fairness audit's own measure, per arm: each group's listing rate against its attribute's largest group
    for tag, count, rate in (("rules", "listed_off", "rate_off"), ("learned", "listed_on", "rate_on")):
        worst = None
        for _, part in result.groups.group_by("attribute"):
            reference = part.sort("households", descending=True).row(0, named=True)
            if reference[count] < small or not reference[rate]:
                continue
            for r in part.filter(pl.col(count) >= small).iter_rows(named=True):
                d = r[rate] / reference[rate]
                worst = max(worst or 0.0, d, 1 / d)
        out[f"{tag}_worst_disparity"] = worst
    return out


def write_learning_outputs(result: LearningComparison, out_dir: Path) -> dict[str, Path]:
    """learning_weekly.csv, learning_groups.csv and learning_curve.png under ``out_dir`` (counts and rates only)."""
    from pipelines.backtest.plots import learning_curve

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "learning_weekly": out_dir / "learning_weekly.csv",
        "learning_groups": out_dir / "learning_groups.csv",
    }
    write_csv(result.weekly, files["learning_weekly"], float_precision=4)
    write_csv(result.groups, files["learning_groups"], float_precision=4)
    files["learning_curve"] = learning_curve(
        result.weekly, result.learning_weeks, out_dir / "learning_curve.png"
    )
    result.files = files
    return files


def learning_backtest_folder(
    extracts: Path,
    mapping: Path,
    date_from: dt.date,
    date_to: dt.date,
    settings: Settings,
    *,
    out_dir: Path,
    answer_key: Path,
    db: Path | None = None,
    allow_unencrypted: bool = False,
    reviewers: SimulatedReviewers | None = None,
    learning_weeks: int = 12,
) -> LearningComparison:
    """Ingest ``extracts`` once (a temporary warehouse in ``out_dir`` unless ``db``), replay the Sundays from
    ``date_from`` to ``date_to`` with simulated reviewers, and write the tables and learning_curve.png."""
    from pipelines.backtest.replay import ingest_once, read_answer_key, replay_weeks
    from pipelines.warehouse.connection import open_warehouse, remove_warehouse

    extracts, mapping, out_dir = Path(extracts), Path(mapping), Path(out_dir)
    weeks = replay_weeks(extracts, mapping, date_from, date_to)
    key = read_answer_key(answer_key)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = Path(db) if db is not None else out_dir / ".backtest-learning.duckdb"
    if db is None:
        remove_warehouse(path)
    wh = open_warehouse(path, allow_unencrypted=allow_unencrypted)
    try:
        with get_progress().stage("Loading the extracts"):
            ingest_once(wh, extracts, mapping, settings, out_dir)
        result = compare_learning(
            wh, weeks, settings, key, reviewers=reviewers, learning_weeks=learning_weeks
        )
    finally:
        wh.close()
        if db is None:
            remove_warehouse(path)  # the file, its write-ahead log and its spill folder
    write_learning_outputs(result, out_dir)
    return result


def _pct(value: Any) -> str:
    return "    -" if value is None else f"{100 * float(value):5.1f}%"


def print_learning_report(result: LearningComparison, out: IO[str] | None = None) -> None:
    """Terminal tables: each week's precision@25 and recall@50 side by side, then the measured weeks pooled."""
    out = out or sys.stdout
    s = result.summary
    out.write(
        f"Rules only against rules + re-ranker, {len(result.weeks)} week(s) ending {result.weeks[0]:%d %b %Y} to "
        f"{result.weeks[-1]:%d %b %Y}, simulated reviewers; measured over the {s['weeks_measured']} week(s) "
        f"after the first {result.learning_weeks}.\n\n"
    )
    out.write(
        "  week  outcomes  re-ranker   precision@25 rules / +re-ranker   recall@50 rules / +re-ranker\n"
    )
    rules = result.weekly.filter(pl.col("config") == RULES).sort("week")
    learned = result.weekly.filter(pl.col("config") == LEARNED).sort("week")
    for r, m in zip(rules.iter_rows(named=True), learned.iter_rows(named=True), strict=True):
        out.write(
            f"  {r['week_number']:>4}  {r['outcomes']:>8}  {'active' if r['active'] else 'off':>9}   "
            f"{_pct(r['precision_25'])} / {_pct(m['precision_25'])}{'':14}{_pct(r['recall_50'])} / "
            f"{_pct(m['recall_50'])}\n"
        )
    out.write("\n  pooled over the measured weeks            rules only   rules + re-ranker\n")
    for label, key in (
        ("precision@25 (planted patterns started)", "precision_25"),
        ("recall@50 (live patterns, or referred)", "recall_50"),
        ("look-alikes in the top 50", "lookalikes_50"),
        ("precision of the list (at capacity)", "list_precision"),
        ("best precision@25 any order could have", "ceiling_25"),
    ):
        out.write(f"  {label:42}{_pct(s[f'rules_{key}']):>10}{_pct(s[f'learned_{key}']):>20}\n")
    ratio_text = "-" if s["worst_group_ratio"] is None else f"{s['worst_group_ratio']:.2f}"
    out.write(
        f"  largest change in a group's listing rate, on against off: {ratio_text} "
        f"({'within' if s['groups_within_fairness'] else 'OUTSIDE'} monitoring.fairness_max_ratio)\n"
    )
    for tag, name in (("rules", RULES), ("learned", LEARNED)):
        d = s.get(f"{tag}_worst_disparity")
        out.write(
            f"  largest listing disparity against the largest group, {name}: {'-' if d is None else f'{d:.2f}'}\n"
        )
    if result.files:
        out.write(f"\nTables and learning_curve.png: {next(iter(result.files.values())).parent}\n")
