"""The backtest's PNG plots: precision and recall against the threshold, list size per week, time to flag.

Every plot has a title, labelled axes with units, and one line (or bar set) per config compared.
matplotlib is imported here only. Figures are built as ``matplotlib.figure.Figure`` objects and saved with
``Figure.savefig`` (which renders through Agg by itself): pyplot and the global backend are never touched, so a
notebook that calls the backtest keeps its own backend and figure list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from pipelines.backtest.result import BacktestResult

_DPI = 110


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    return path


def precision_recall_threshold(result: BacktestResult, path: Path) -> Path:
    """Top: precision and recall (%) against the swept threshold. Bottom: households per week at it."""
    fig = _figure(8, 7)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    swept = result.sweep["swept"][0] if result.sweep.height else "score"
    for i, name in enumerate(result.summary["config"].to_list()):
        s = result.sweep.filter(pl.col("config") == name).sort("threshold")
        colour = f"C{i}"
        x = s["threshold"].to_list()
        top.plot(
            x,
            [_pct(v) for v in s["precision"].to_list()],
            "-o",
            ms=3,
            color=colour,
            label=f"precision: {name}",
        )
        top.plot(
            x, [_pct(v) for v in s["recall"].to_list()], "--s", ms=3, color=colour, label=f"recall: {name}"
        )
        bottom.plot(x, s["households_per_week"].to_list(), "-", color=colour, label=name)
        current = s.filter(pl.col("is_current"))
        if current.height:
            top.axvline(current["threshold"][0], color=colour, lw=0.8, ls=":")
            bottom.axvline(current["threshold"][0], color=colour, lw=0.8, ls=":")
    capacity = int(result.summary["capacity"][0])
    bottom.axhline(capacity, color="grey", lw=1, ls="-.", label=f"capacity ({capacity} a week)")
    what = "scoring.min_points (points)" if swept == "scoring.min_points" else "score cut-off (points)"
    top.set_title(
        f"Precision and recall if every household at or above the threshold were listed\n"
        f"({len(result.weeks)} weeks pooled, truth: {result.truth_source}; dotted line: current setting)"
    )
    top.set_ylabel("per cent")
    top.set_ylim(0, 100)
    top.grid(alpha=0.3)
    top.legend(fontsize=8)
    bottom.set_xlabel(what)
    bottom.set_ylabel("households per week")
    bottom.set_title("List size at that threshold, before the capacity cut", fontsize=10)
    bottom.grid(alpha=0.3)
    bottom.legend(fontsize=8)
    return _save(fig, path)


def list_size_per_week(result: BacktestResult, path: Path) -> Path:
    """Households listed (solid) and carried forward (dashed) each week, against total capacity."""
    fig = _figure(9, 4.5)
    ax = fig.subplots()
    for i, name in enumerate(result.summary["config"].to_list()):
        w = result.weekly.filter(pl.col("config") == name).sort("week")
        ax.plot(
            w["week"].to_list(), w["list_size"].to_list(), "-o", ms=3, color=f"C{i}", label=f"listed: {name}"
        )
        ax.plot(
            w["week"].to_list(), w["carried"].to_list(), "--", color=f"C{i}", label=f"carried forward: {name}"
        )
    capacity = int(result.summary["capacity"][0])
    ax.axhline(capacity, color="grey", lw=1, ls="-.", label=f"capacity ({capacity} a week)")
    ax.set_title("Households listed each week against the teams' capacity")
    ax.set_xlabel("week ending (date)")
    ax.set_ylabel("households")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _save(fig, path)


def time_to_flag(result: BacktestResult, path: Path) -> Path:
    """Histogram of weeks from a planted pattern's start to its first listing (one-week bins)."""
    fig = _figure(8, 4.5)
    ax = fig.subplots()
    names = result.summary["config"].to_list()
    values = {n: result.weeks_to_flag.filter(pl.col("config") == n)["weeks_to_flag"] for n in names}
    listed = [v.drop_nulls().to_list() for v in values.values()]
    top = max([max(v) for v in listed if v] + [1.0])
    bins = list(range(0, int(top) + 2))
    labels = []
    for name, v in values.items():
        never = v.null_count()
        labels.append(f"{name} ({len(v) - never} listed, {never} never listed of {len(v)})")
    ax.hist(listed, bins=bins, label=labels, color=[f"C{i}" for i in range(len(names))])
    ax.set_title("Time from the start of a planted pattern to its first listing")
    ax.set_xlabel("weeks from pattern start to first listing (weeks)")
    ax.set_ylabel("patterns")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def _pct(value: float | None) -> float:
    return float("nan") if value is None else 100 * value


def learning_curve(weekly: pl.DataFrame, learning_weeks: int, path: Path) -> Path:
    """Top: precision@25 (%) each week, rules only and rules + re-ranker (filled markers where the re-ranker was
    active). Bottom: simulated outcomes recorded by each week. ``weekly``: pipelines/backtest/learning.py."""
    fig = _figure(9, 6.5)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    for i, name in enumerate(dict.fromkeys(weekly["config"].to_list())):
        w = weekly.filter(pl.col("config") == name).sort("week")
        top.plot(
            w["week_number"].to_list(),
            [_pct(v) for v in w["precision_25"].to_list()],
            "-o",
            ms=3,
            color=f"C{i}",
            label=f"precision@25: {name}",
        )
        top.plot(
            w["week_number"].to_list(),
            [_pct(v) for v in w["recall_50"].to_list()],
            ":",
            color=f"C{i}",
            label=f"recall@50: {name}",
        )
    first = weekly.filter(pl.col("config") == weekly["config"][0]).sort("week")
    bottom.bar(
        first["week_number"].to_list(), first["outcomes"].to_list(), color="C2", label="outcomes recorded"
    )
    active = first.filter(pl.col("active"))["week_number"].to_list()
    if active:
        bottom.axvspan(min(active) - 0.5, max(active) + 0.5, color="C1", alpha=0.1, label="re-ranker active")
    for ax in (top, bottom):
        ax.axvline(learning_weeks + 0.5, color="grey", lw=1, ls="-.")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    top.set_title(
        "Learning from simulated reviewers: planted patterns in the top 25 (precision) and live patterns in the "
        f"top 50 (recall)\n(dash-dot line: after {learning_weeks} weeks of reviewing, the weeks measured)",
        fontsize=10,
    )
    top.set_ylabel("per cent")
    top.set_ylim(0, 100)
    from matplotlib.ticker import MaxNLocator

    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.set_xlabel("week of the replay (week number)")
    bottom.set_ylabel("outcomes (households)")
    return _save(fig, path)
