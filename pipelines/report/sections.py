"""The managers' monitoring report: ``redflags report`` and the Prefect flow ``monitoring-report``.

Aggregates only: no tenancy, property, block, job or case reference and no free text ever leaves the database
through this module, and counts from 1 to ``small_count_threshold - 1`` are shown as "fewer than N" (rates
derived from them as "suppressed"). The HTML is self-contained (charts are embedded PNGs) and every table is
also written as a CSV file, with ``columns.csv`` describing each column.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import matplotlib
import polars as pl
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from models import monitoring as mon
from pipelines.settings import Settings, load_settings
from pipelines.spreadsheets import write_csv
from pipelines.warehouse import Warehouse, WarehouseError, materialise_model, model_sql, open_warehouse, query

log = logging.getLogger(__name__)

Cell = int | float | str | dt.date | dt.datetime | None

MAX_RUNS = 20
HTML_RECENT_WEEKS = 4
ROLLING_PRECISION_WEEKS = 4
FAILED_STATUSES = frozenset({"failed", "failure", "error", "crashed", "aborted"})

# Colour-blind-safe (Okabe-Ito), each with its own marker and line style so the charts survive grey printing.
_STYLES = [
    ("#0072B2", "o", "-"),
    ("#D55E00", "s", "--"),
    ("#009E73", "^", "-."),
    ("#CC79A7", "D", ":"),
    ("#E69F00", "v", "-"),
    ("#56B4E9", "P", "--"),
    ("#000000", "X", "-."),
]
_RC: dict[Any, Any] = {
    "font.size": 11,
    "axes.titlesize": 13,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


@dataclass(frozen=True)
class ReportPaths:
    """Where the report went: the HTML page, one CSV per table, and the column dictionary."""

    out_dir: Path
    html: Path
    csv: dict[str, Path]
    columns: Path


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    # label | date | timestamp | count (people or records: suppressed) | machine (files, runs: shown)
    # | capacity | rate (derived from counts: suppressed with them) | share (0-1; a % in HTML) | ratio
    # | minutes
    kind: str
    meaning: str
    in_html: bool = True  # the team key is in the CSV; the page shows the team's name


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Cell]]
    in_html: bool = True
    # Weekly tables show their latest weeks on the page (the charts show all); the CSV has every week.
    html_recent_weeks: int | None = HTML_RECENT_WEEKS


@dataclass(frozen=True)
class Chart:
    title: str
    x_label: str
    y_label: str
    caption: str
    png: bytes
    # The value axes' tick positions as drawn (for checks: an empty chart has whole-number ticks only).
    x_ticks: tuple[float, ...] = ()
    y_ticks: tuple[float, ...] = ()


@dataclass
class Section:
    anchor: str
    title: str
    intro: str
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Ctx:
    settings: Settings
    weeks: int
    today: dt.date
    last_day: dt.date
    threshold: int

    @property
    def week_endings(self) -> list[dt.date]:
        return [self.last_day - dt.timedelta(days=7 * i) for i in range(self.weeks - 1, -1, -1)]

    def count(self, n: int | None) -> int | str | None:
        return mon.shown_count(n, self.threshold)

    def rate(self, value: float | None, *parts: int | None) -> float | str | None:
        return mon.shown_rate(value, parts, self.threshold)

    def small(self, n: int | None) -> bool:
        return mon.is_small(n, self.threshold)

    def team_label(self, team: str) -> str:
        t = self.settings.teams.get(team)
        return t.label if t else team

    def capacity(self, team: str) -> int | None:
        t = self.settings.teams.get(team)
        return t.capacity_per_week if t else None


# ----------------------------------------------------------------------------------------------------
# Reading the marts


# The weekly lists and their rows, shared by the list, review, outcome and group marts: materialised as
# temporary tables, in this order, before those marts run.
LIST_MODELS = ("monitoring__weekly_lists", "monitoring__list_rows")


def materialise_list_models(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any]) -> None:
    """Create the temporary tables the list marts read (``$last_day`` and ``$weeks`` set the weeks)."""
    for name in LIST_MODELS:
        materialise_model(con, f"marts/{name}", params)


def _model(con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any]) -> pl.DataFrame:
    text = model_sql(f"marts/{name}")
    return query(con, text, {k: v for k, v in params.items() if f"${k}" in text})


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    found = query(
        con,
        "select count(*) as n from information_schema.columns where table_name = $t and column_name = $c",
        {"t": table, "c": column},
    )
    return bool(found["n"][0])


def _read(con: duckdb.DuckDBPyConnection, ctx: _Ctx) -> dict[str, Any]:
    mset = ctx.settings.monitoring
    params = {
        "last_day": ctx.last_day,
        "weeks": ctx.weeks,
        "today": ctx.today,
        "within_working_days": ctx.settings.outcomes.review_within_working_days,
        # Lists of the report's weeks were published after their week ended; a week's margin either side.
        "bank_holidays": mon.bank_holidays(ctx.last_day - dt.timedelta(weeks=ctx.weeks + 1), ctx.today),
        "max_runs": MAX_RUNS,
    }
    materialise_list_models(con, params)
    data: dict[str, Any] = {
        "ingest": _model(con, "monitoring_ingest_weekly", params),
        "quarantine": _model(con, "monitoring_quarantine_reasons", params),
        "flags": _model(
            con, "monitoring_flags_weekly", {**params, "weeks": ctx.weeks + mset.drift_trailing_weeks}
        ),
        "lists": _model(con, "monitoring_lists_weekly", params),
        "reviews": _model(con, "monitoring_reviews_weekly", params),
        "outcomes": _model(con, "monitoring_outcomes_weekly", params),
        "groups": _model(con, "monitoring_groups", params),
        "runs": _model(con, "monitoring_runs", params),
        "has_age_band": _has_column(con, "raw_tenancies", "age_band"),
    }
    if data["has_age_band"]:
        data["groups"] = pl.concat([data["groups"], _model(con, "monitoring_groups_age_band", params)])
    first = query(con, "select min(known_on) as first_known_on from raw_repairs")["first_known_on"][0]
    data["history_start"] = first
    return data


# ----------------------------------------------------------------------------------------------------
# Charts


def _week_label(d: dt.date) -> str:
    return f"{d.day} {d:%b %Y}"


def _short_week(d: dt.date) -> str:
    return f"{d.day} {d:%b}"


def _num(value: Cell) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("nan")


def _render(fig: Figure, ax: Axes, caption: str) -> Chart:
    title, x_label, y_label = ax.get_title(), ax.get_xlabel(), ax.get_ylabel()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(
        buf,
        format="png",
        dpi=110,
        metadata={
            "Title": title,
            "Description": caption,
            "X axis": x_label,
            "Y axis": y_label,
            "Software": "Repairs Red Flags monitoring report",
        },
    )
    lo, hi = ax.get_ylim()
    y_ticks = tuple(float(t) for t in ax.get_yticks() if min(lo, hi) <= t <= max(lo, hi))
    lo, hi = ax.get_xlim()
    x_ticks = tuple(float(t) for t in ax.get_xticks() if min(lo, hi) <= t <= max(lo, hi))
    return Chart(
        title=title,
        x_label=x_label,
        y_label=y_label,
        caption=caption,
        png=buf.getvalue(),
        x_ticks=x_ticks,
        y_ticks=y_ticks,
    )


def _ratio_ticks(axis: Axis, top: float) -> None:
    # Log-scale ratio axes read as "0.5x, 1x, 2x" rather than powers of two.
    ticks = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    axis.set_major_locator(FixedLocator([t for t in ticks if t <= top * 1.01]))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}x"))
    axis.set_minor_locator(NullLocator())


def _new_axes(height: float = 3.8) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(10, height))
    return fig, fig.add_subplot()


def _no_data(ax: Axes, message: str = "No data for these weeks", *, value_axis: str = "y") -> None:
    """Say the chart is empty, and keep its value axis to whole numbers (an empty count has no 0.2)."""
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", fontsize=12, color="#555555")
    vertical = value_axis == "y"
    axis, scale = (ax.yaxis, ax.get_yscale()) if vertical else (ax.xaxis, ax.get_xscale())
    if scale == "linear":
        # Whole-number ticks need at least two whole numbers in view: zero-height bars leave 0 to 0.05.
        get, set_ = (ax.get_ylim, ax.set_ylim) if vertical else (ax.get_xlim, ax.set_xlim)
        if get()[1] < 1:
            set_(0, 1)
        axis.set_major_locator(MaxNLocator(integer=True))


def _week_axis(ax: Axes, weeks: Sequence[dt.date]) -> None:
    step = max(1, -(-len(weeks) // 13))
    ticks = list(range(0, len(weeks), step))
    ax.set_xticks(ticks, [_short_week(weeks[i]) for i in ticks], rotation=45 if len(ticks) > 8 else 0)
    ax.set_xlim(-0.5, len(weeks) - 0.5)


def _label_weekly(ax: Axes, title: str, y_label: str, weeks: Sequence[dt.date]) -> None:
    """Title, axis labels and week ticks of a chart with one point or bar per week."""
    ax.set_title(title)
    ax.set_xlabel("Week ending")
    ax.set_ylabel(y_label)
    _week_axis(ax, weeks)


def _legend_outside(ax: Axes) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def _ratio_band(ax: Axes, max_ratio: float, *, vertical: bool = False) -> None:
    """A log-2 ratio axis with the acceptable band (1/max_ratio x to max_ratio x) shaded and 1x drawn."""
    scale, span, line = (
        (ax.set_xscale, ax.axvspan, ax.axvline) if vertical else (ax.set_yscale, ax.axhspan, ax.axhline)
    )
    scale("log", base=2)
    span(
        1 / max_ratio,
        max_ratio,
        color="#009E73",
        alpha=0.12,
        label=f"band (1/{max_ratio:g}x to {max_ratio:g}x)",
    )
    line(1.0, color="#555555", linewidth=1)


def _weekly_lines(
    title: str,
    y_label: str,
    weeks: Sequence[dt.date],
    series: Sequence[tuple[str, Sequence[Cell]]],
    caption: str,
    *,
    percent: bool = False,
    hlines: Sequence[tuple[str, float, str]] = (),
    log_band: float | None = None,
) -> Chart:
    with matplotlib.rc_context(_RC):
        fig, ax = _new_axes()
        xs = list(range(len(weeks)))
        plotted = False
        for i, (name, values) in enumerate(series):
            colour, marker, style = _STYLES[i % len(_STYLES)]
            ys = [_num(v) * (100 if percent else 1) for v in values]
            if any(y == y for y in ys):  # at least one number (NaN != NaN)
                plotted = True
            ax.plot(
                xs, ys, label=name, color=colour, marker=marker, linestyle=style, linewidth=2, markersize=6
            )
        for name, y, colour in hlines:
            ax.axhline(y * (100 if percent else 1), color=colour, linestyle="--", linewidth=1.5, label=name)
        if log_band:
            _ratio_band(ax, log_band)
            top = max([4.0, log_band * 1.5] + [y * 1.3 for _, vs in series for y in map(_num, vs) if y == y])
            ax.set_ylim(min(0.25, 1 / (log_band * 1.5)), top)
            _ratio_ticks(ax.yaxis, top)
        elif plotted:
            ax.set_ylim(bottom=0)
            if percent:
                ax.set_ylim(0, 105)
        if not plotted and not hlines:
            suppressed = any(isinstance(v, str) for _, values in series for v in values)
            _no_data(
                ax,
                "Every value is suppressed (too small to show)" if suppressed else "No data for these weeks",
            )
            if not log_band:
                ax.set_ylim(0, 100 if percent else 1)
        _label_weekly(ax, title, y_label, weeks)
        if series or hlines:
            _legend_outside(ax)
        return _render(fig, ax, caption)


def _weekly_bars(
    title: str, y_label: str, weeks: Sequence[dt.date], values: Sequence[Cell], caption: str
) -> Chart:
    with matplotlib.rc_context(_RC):
        fig, ax = _new_axes(3.4)
        ys = [_num(v) for v in values]
        ax.bar(range(len(weeks)), [0 if y != y else y for y in ys], color="#0072B2", width=0.7)
        if not any(y == y and y > 0 for y in ys):
            _no_data(ax)
        _label_weekly(ax, title, y_label, weeks)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        return _render(fig, ax, caption)


def _stacked_weekly_bars(
    title: str,
    y_label: str,
    weeks: Sequence[dt.date],
    series: Sequence[tuple[str, Sequence[Cell]]],
    caption: str,
) -> Chart:
    with matplotlib.rc_context(_RC):
        fig, ax = _new_axes()
        xs = list(range(len(weeks)))
        bottom = [0.0] * len(weeks)
        hatches = ["", "//", "..", "xx", "\\\\", "++", "oo"]
        any_value = False
        for i, (name, values) in enumerate(series):
            ys = [0.0 if _num(v) != _num(v) else _num(v) for v in values]
            any_value = any_value or any(y > 0 for y in ys)
            ax.bar(
                xs,
                ys,
                bottom=bottom,
                label=name,
                color=_STYLES[i % len(_STYLES)][0],
                hatch=hatches[i % 7],
                edgecolor="white",
                width=0.7,
            )
            bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
        if not any_value:
            _no_data(ax)
        _label_weekly(ax, title, y_label, weeks)
        ax.set_ylim(bottom=0)
        _legend_outside(ax)
        return _render(fig, ax, caption)


def _group_bars(
    title: str,
    x_label: str,
    y_label: str,
    groups: Sequence[str],
    values: Sequence[Cell],
    caption: str,
    *,
    threshold: int,
    reference: float | None = None,
) -> Chart:
    with matplotlib.rc_context(_RC):
        fig, ax = _new_axes(max(2.6, 0.42 * len(groups) + 1.6))
        ys = list(range(len(groups)))[::-1]
        nums = [_num(v) for v in values]
        ax.barh(ys, [0 if n != n else n for n in nums], color="#0072B2", height=0.6)
        # An empty chart still gets an axis from 0 to 1 (whole-number ticks), not one to a billionth.
        top = max([n for n in nums if n == n] + [reference or 0]) if groups else 1.0
        top = top or 1.0
        for y, v in zip(ys, values, strict=True):
            if isinstance(v, str):
                ax.text(top * 0.01, y, f"  {v}", va="center", fontsize=10, color="#555555")
        if reference is not None:
            ax.axvline(reference, color="#D55E00", linestyle="--", linewidth=1.5, label="whole landlord")
            ax.legend(loc="lower right", frameon=False)
        if not groups:
            _no_data(ax, "No homes recorded", value_axis="x")
        ax.set_yticks(ys, list(groups))
        ax.set_title(title)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.set_xlim(0, top * 1.15)
        ax.set_ylim(-0.6, len(groups) - 0.4)
        ax.grid(axis="y", visible=False)
        return _render(fig, ax, caption)


def _disparity_chart(
    title: str, y_label: str, rows: Sequence[dict[str, Any]], max_ratio: float, caption: str
) -> Chart:
    with matplotlib.rc_context(_RC):
        fig, ax = _new_axes(max(2.6, 0.42 * len(rows) + 1.6))
        ys = list(range(len(rows)))[::-1]
        _ratio_band(ax, max_ratio, vertical=True)
        for key, name, colour, marker in (
            ("listing_disparity_shown", "listing rate", "#0072B2", "o"),
            ("precision_disparity_shown", "precision", "#D55E00", "s"),
        ):
            xs = [_num(r[key]) for r in rows]
            ax.scatter(xs, ys, label=name, color=colour, marker=marker, s=60, zorder=3)
        ax.set_yticks(ys, [str(r["group_name"]) for r in rows])
        if not rows:
            _no_data(ax)
        for y, r in zip(ys, rows, strict=True):
            if _num(r["listing_disparity_shown"]) != _num(r["listing_disparity_shown"]) and _num(
                r["precision_disparity_shown"]
            ) != _num(r["precision_disparity_shown"]):
                ax.text(0.27, y, "too small to assess", va="center", fontsize=10, color="#555555")
        ax.set_xlim(0.25, 4)
        _ratio_ticks(ax.xaxis, 4)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_title(title)
        ax.set_xlabel("Ratio to the reference group (log scale; 1 = same)")
        ax.set_ylabel(y_label)
        _legend_outside(ax)
        ax.grid(axis="y", visible=False)
        return _render(fig, ax, caption)


def _runs_chart(rows: Sequence[dict[str, Any]], caption: str) -> Chart:
    with matplotlib.rc_context(_RC):
        fig, ax = _new_axes(3.6)
        kinds = sorted({str(r["kind"]) for r in rows})
        for i, kind in enumerate(kinds):
            colour, marker, _ = _STYLES[i % len(_STYLES)]
            mine = [r for r in rows if r["kind"] == kind and r["duration_seconds"] is not None]
            ax.scatter(
                [r["started_at"] for r in mine],
                [r["duration_seconds"] / 60 for r in mine],
                label=kind,
                color=colour,
                marker=marker,
                s=50,
                zorder=3,
            )
        failed = [r for r in rows if r["status"] in FAILED_STATUSES and r["duration_seconds"] is not None]
        if failed:
            ax.scatter(
                [r["started_at"] for r in failed],
                [r["duration_seconds"] / 60 for r in failed],
                label="failed",
                facecolors="none",
                edgecolors="#D55E00",
                s=180,
                linewidths=2,
                zorder=4,
            )
        if not rows:
            _no_data(ax, "No runs recorded")
        ax.set_title("Pipeline runs: how long each took")
        ax.set_xlabel("Run started (date)")
        ax.set_ylabel("Duration (minutes)")
        ax.set_ylim(bottom=0)
        ax.xaxis.set_major_formatter(DateFormatter("%d %b"))
        fig.autofmt_xdate()
        if rows:
            _legend_outside(ax)
        return _render(fig, ax, caption)


# ----------------------------------------------------------------------------------------------------
# Sections


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dicts()


def _in_weeks(rows: list[dict[str, Any]], ctx: _Ctx) -> list[dict[str, Any]]:
    first = ctx.week_endings[0]
    return [r for r in rows if first <= r["week_ending"] <= ctx.last_day]


def _kind_key(extract: str, reason_kind: str) -> str:
    return f"{extract}__{reason_kind.replace(' ', '_')}"


def _unless_small(value: Cell, small: bool) -> Cell:
    """A rate or mean as shown: "suppressed" when a count behind it is small."""
    return mon.SUPPRESSED_RATE if small else value


def _capacity_line(label: str, capacity: int | None) -> list[tuple[str, float, str]]:
    """The dashed capacity line of a weekly chart; none when the team has no capacity set."""
    return [(label, float(capacity), "#555555")] if capacity is not None else []


def _team_week_row(week: dt.date, team: str, listed: int, ctx: _Ctx) -> dict[str, Cell]:
    """The leading cells of a row of a per-team weekly table (see :func:`_team_week_columns`)."""
    return {
        "week_ending": week,
        "team": team,
        "team_label": ctx.team_label(team),
        "households_listed": ctx.count(listed),
    }


def _team_week_columns(week_meaning: str = "the list's week", team_meaning: str = "team key") -> list[Column]:
    """The leading columns of a per-team weekly table: the week, the team (key and name), households listed."""
    return [
        Column("week_ending", "Week ending", "date", week_meaning),
        Column("team", "Team", "label", team_meaning, in_html=False),
        Column("team_label", "Team name", "label", "team name"),
        Column("households_listed", "Listed", "count", "households on the list"),
    ]


def _ingest_section(data: dict[str, Any], ctx: _Ctx) -> Section:
    weeks = ctx.week_endings
    ingest = {r["week_ending"]: r for r in _rows(data["ingest"])}
    rows: list[dict[str, Cell]] = []
    for w in weeks:
        r = ingest.get(w, {})
        rows.append(
            {
                "week_ending": w,
                "files_loaded": r.get("files_loaded", 0),
                "extracts_loaded": r.get("extracts_loaded", 0),
                "rows_loaded": ctx.count(r.get("rows_loaded", 0)),
                "rows_quarantined": ctx.count(r.get("rows_quarantined", 0)),
            }
        )
    problems = _rows(data["quarantine"])
    kinds = sorted({(r["extract"], r["reason_kind"]) for r in problems})
    by_kind = {(r["week_ending"], r["extract"], r["reason_kind"]): r["problems"] for r in problems}
    reasons: list[dict[str, Cell]] = [
        {"week_ending": w, **{_kind_key(e, k): ctx.count(by_kind.get((w, e, k), 0)) for e, k in kinds}}
        for w in weeks
        if kinds  # no problems at all: an empty table says so
    ]
    section = Section(
        "extracts",
        "Extracts loaded and rows quarantined",
        "Each week's extract files (by the date in their name) and the rows set aside because a value was "
        "blank "
        "or unreadable. Reasons are grouped by kind; the values themselves are never shown.",
    )
    section.charts.append(
        _weekly_bars(
            "Extract files loaded per week",
            "Files loaded",
            weeks,
            [r["files_loaded"] for r in rows],
            "Number of extract files loaded, by the week of the extract date.",
        )
    )
    section.charts.append(
        _weekly_lines(
            "Rows quarantined per week",
            "Rows quarantined",
            weeks,
            [("rows quarantined", [r["rows_quarantined"] for r in rows])],
            f"Rows set aside at loading. Weeks with {mon.suppressed_label(ctx.threshold)} are left blank.",
        )
    )
    section.tables.append(
        Table(
            "extracts_weekly",
            "Extract files and rows per week",
            [
                Column(
                    "week_ending", "Week ending", "date", "last day of the week (the extract date's week)"
                ),
                Column("files_loaded", "Files loaded", "machine", "extract files loaded"),
                Column(
                    "extracts_loaded", "Kinds of extract", "machine", "distinct extracts (repairs, rent, ...)"
                ),
                Column("rows_loaded", "Rows loaded", "count", "rows stored"),
                Column("rows_quarantined", "Rows quarantined", "count", "rows set aside with a reason"),
            ],
            rows,
        )
    )
    section.tables.append(
        Table(
            "quarantine_reasons",
            "Quarantined problems per week, by extract and kind of problem",
            [
                Column("week_ending", "Week ending", "date", "week of the file's extract date"),
                *[
                    Column(
                        _kind_key(e, k),
                        f"{e}: {k}",
                        "count",
                        f"{e} quarantine entries of this kind (never the value; a row with two problems "
                        "counts twice)",
                    )
                    for e, k in kinds
                ],
            ],
            reasons,
        )
    )
    last = rows[-1]
    if any(by_kind.get((ctx.last_day, e, k)) for e, k in kinds if k == "whole file refused"):
        section.warnings.append(
            "A whole extract file was refused this week (a required column missing or the file unreadable): "
            "see the ingest log; the week's list was built without it."
        )
    if last["files_loaded"] == 0:
        section.warnings.append(
            f"No extract files were loaded for the week ending {_week_label(ctx.last_day)}: "
            "check the export schedule and the extracts folder."
        )
    return section


def _flags_sections(data: dict[str, Any], ctx: _Ctx) -> tuple[Section, Section, pl.DataFrame]:
    weeks = ctx.week_endings
    mset = ctx.settings.monitoring
    flags = data["flags"]
    categories = list(dict.fromkeys(flags["category"].to_list()))
    by = {(r["week_ending"], r["category"]): r["flags"] for r in _rows(flags)}
    rows: list[dict[str, Cell]] = [
        {"week_ending": w, **{c: ctx.count(by.get((w, c), 0)) for c in categories}} for w in weeks
    ]
    flags_section = Section(
        "flags",
        "Red-flag repairs by category",
        "Repairs with a red-flag category, in the week they were reported and as that week's run saw them "
        "(known by the week's end; cancelled jobs excluded). A repair with two categories counts under each.",
    )
    flags_section.charts.append(
        _weekly_lines(
            "Red-flag repairs reported per week, by category",
            "Repairs",
            weeks,
            [(c, [r[c] for r in rows]) for c in categories],
            f"Weeks with {mon.suppressed_label(ctx.threshold)} in a category are left blank.",
        )
    )
    flags_section.tables.append(
        Table(
            "flags_weekly",
            "Red-flag repairs per week",
            [
                Column(
                    "week_ending", "Week ending", "date", "last day of the week the repair was reported in"
                ),
                *[Column(c, c, "count", f"repairs classified {c}") for c in categories],
            ],
            rows,
        )
    )

    table = mon.drift(
        flags,
        trailing_weeks=mset.drift_trailing_weeks,
        band_ratio=mset.drift_band_ratio,
        min_count=ctx.threshold,
        history_start=data["history_start"],
    )
    in_weeks = _in_weeks(_rows(table), ctx)
    drift_rows: list[dict[str, Cell]] = []
    for r in in_weeks:
        drift_rows.append(
            {
                "week_ending": r["week_ending"],
                "category": r["category"],
                "flags": ctx.count(r["flags"]),
                "trailing_mean": _unless_small(r["trailing_mean"], r["trailing_has_small"]),
                "ratio": ctx.rate(r["ratio"], r["flags"]),
                "status": r["status"],
            }
        )
    drift_columns = [
        Column("week_ending", "Week ending", "date", "the week compared"),
        Column("category", "Category", "label", "red-flag category"),
        Column("flags", "Repairs this week", "count", "red-flag repairs reported that week"),
        Column(
            "trailing_mean",
            f"{mset.drift_trailing_weeks}-week average",
            "rate",
            "average repairs per week over the previous weeks (suppressed when one of them was small)",
        ),
        Column("ratio", "Ratio", "ratio", "this week / the average"),
        Column("status", "Status", "label", "above band, below band, within band, new, too few to tell, ..."),
    ]
    drift_section = Section(
        "drift",
        "Drift: is a category moving away from its usual level?",
        "Each category's repairs this week against its average over the previous "
        f"{mset.drift_trailing_weeks} "
        f"weeks. Outside the band (more than {mset.drift_band_ratio:g}x or under "
        f"1/{mset.drift_band_ratio:g} of "
        "the average) usually means something changed in how repairs are written or classified, not in "
        "households: a new contractor, a new schedule of rates, a vocabulary change, or a missing extract.",
    )
    series = []
    for c in categories:
        mine = {r["week_ending"]: r for r in drift_rows if r["category"] == c}
        series.append((c, [mine[w]["ratio"] if w in mine else None for w in weeks]))
    drift_section.charts.append(
        _weekly_lines(
            "Red-flag repairs against their trailing average",
            "Ratio to trailing average (log scale)",
            weeks,
            series,
            "1 = the usual level. Blank where a week's count is suppressed or there is no history yet.",
            log_band=mset.drift_band_ratio,
        )
    )
    latest = [r for r in drift_rows if r["week_ending"] == ctx.last_day]
    drift_section.tables.append(
        Table("drift_this_week", "This week against the trailing average", drift_columns, latest)
    )
    drift_section.tables.append(
        Table("drift_weekly", "Drift, every week", drift_columns, drift_rows, in_html=False)
    )
    for r in in_weeks:
        if r["week_ending"] == ctx.last_day:
            message = mon.drift_warning(
                r["category"], r["flags"], r["ratio"], r["status"], mset.drift_trailing_weeks, ctx.threshold
            )
            if message:
                drift_section.warnings.append(message)
    return flags_section, drift_section, table


def _teams(data: dict[str, Any], ctx: _Ctx) -> list[str]:
    seen = set(data["lists"]["team"].to_list()) | set(data["reviews"]["team"].to_list())
    return list(ctx.settings.teams) + sorted(seen - set(ctx.settings.teams))


def _lists_section(data: dict[str, Any], ctx: _Ctx) -> Section:
    weeks = ctx.week_endings
    by = {(r["week_ending"], r["team"]): r for r in _rows(data["lists"])}
    rows: list[dict[str, Cell]] = []
    for w in weeks:
        for team in _teams(data, ctx):
            r = by.get((w, team), {})
            rows.append(
                {
                    **_team_week_row(w, team, r.get("households_listed", 0), ctx),
                    "capacity": ctx.capacity(team),
                    "carried_forward": ctx.count(r.get("carried_forward", 0)),
                    "waiting_2plus_weeks": ctx.count(r.get("waiting_2plus_weeks", 0)),
                    "complex_cases": ctx.count(r.get("complex_cases", 0)),
                    "lists_published": r.get("lists_published", 0),
                }
            )
    section = Section(
        "lists",
        "Review list size against capacity",
        "Households on each team's list (the last list published for the week) against the team's weekly "
        "capacity, and households above the threshold carried forward because the list was full.",
    )
    for team in _teams(data, ctx):
        mine = [r for r in rows if r["team"] == team]
        cap = ctx.capacity(team)
        section.charts.append(
            _weekly_lines(
                f"{ctx.team_label(team)}: households listed and carried forward",
                "Households",
                weeks,
                [
                    ("listed", [r["households_listed"] for r in mine]),
                    ("carried forward", [r["carried_forward"] for r in mine]),
                    ("waiting 2+ weeks", [r["waiting_2plus_weeks"] for r in mine]),
                ],
                f"Dashed line: capacity per week. Weeks with {mon.suppressed_label(ctx.threshold)} are "
                "left blank.",
                hlines=_capacity_line("capacity", cap),
            )
        )
        last = by.get((ctx.last_day, team), {})
        carried = last.get("carried_forward", 0)
        if carried:
            section.warnings.append(
                f"{ctx.team_label(team)}: {ctx.count(carried)} households above the threshold were carried "
                "forward this week because the list was at capacity: consider more review time or a higher "
                "threshold."
            )
    section.tables.append(
        Table(
            "lists_weekly",
            "List size, capacity and carried forward",
            [
                *_team_week_columns("the list's week (its as-of date's week)", "team key in the settings"),
                Column(
                    "capacity", "Capacity", "capacity", "households the team can review per week (settings)"
                ),
                Column("carried_forward", "Carried forward", "count", "households above threshold left off"),
                Column(
                    "waiting_2plus_weeks",
                    "Waiting 2+ weeks",
                    "count",
                    "carried forward this week and the week before (the backlog not moving)",
                ),
                Column(
                    "complex_cases", "Complex cases", "count", "listed households with several complex issues"
                ),
                Column(
                    "lists_published", "Lists published", "machine", "lists published for the week (re-runs)"
                ),
            ],
            rows,
        )
    )
    return section


def _reviews_section(data: dict[str, Any], ctx: _Ctx) -> Section:
    weeks = ctx.week_endings
    within = ctx.settings.outcomes.review_within_working_days
    by = {(r["week_ending"], r["team"]): r for r in _rows(data["reviews"])}
    rows: list[dict[str, Cell]] = []
    for w in weeks:
        for team in _teams(data, ctx):
            r = by.get((w, team))
            if r is None:
                continue
            due = r["households_listed"] - r["awaiting_review"]
            rows.append(
                {
                    **_team_week_row(w, team, r["households_listed"], ctx),
                    "reviewed": ctx.count(r["reviewed"]),
                    "reviewed_on_time": ctx.count(r["reviewed_on_time"]),
                    "reviewed_late": ctx.count(r["reviewed_late"]),
                    "overdue": ctx.count(r["overdue"]),
                    "awaiting_review": ctx.count(r["awaiting_review"]),
                    "share_on_time": ctx.rate(
                        mon.ratio(r["reviewed_on_time"], due), r["reviewed_on_time"], due
                    ),
                }
            )
    section = Section(
        "reviews",
        "Reviews completed and on time",
        f"A household counts as reviewed on time when its first outcome is dated within {within} working "
        "days after the list was published (Monday to Friday, not counting England and Wales bank "
        "holidays). Overdue: not reviewed and past that deadline today; awaiting: not yet due.",
    )
    section.charts.append(
        _weekly_lines(
            f"Share of due reviews done within {within} working days",
            "Reviewed on time (%)",
            weeks,
            [
                (
                    ctx.team_label(t),
                    [
                        next(
                            (r["share_on_time"] for r in rows if r["team"] == t and r["week_ending"] == w),
                            None,
                        )
                        for w in weeks
                    ],
                )
                for t in _teams(data, ctx)
            ],
            "Of households whose deadline has passed. Blank where a count behind the share is "
            f"{mon.suppressed_label(ctx.threshold)} or nothing was due.",
            percent=True,
        )
    )
    section.tables.append(
        Table(
            "reviews_weekly",
            "Review completion and timeliness",
            [
                *_team_week_columns(),
                Column("reviewed", "Reviewed", "count", "households with an outcome"),
                Column("reviewed_on_time", "On time", "count", f"first outcome within {within} working days"),
                Column("reviewed_late", "Late", "count", "first outcome after the deadline"),
                Column("overdue", "Overdue", "count", "no outcome, deadline passed"),
                Column("awaiting_review", "Awaiting", "count", "no outcome, not yet due"),
                Column("share_on_time", "On time (share of due)", "share", "on time / (listed - awaiting)"),
            ],
            rows,
        )
    )
    for team in _teams(data, ctx):
        # Weeks, not households: a sum over weeks could reveal a suppressed week.
        overdue_weeks = sum(1 for w in weeks if (w, team) in by and by[(w, team)]["overdue"])
        if overdue_weeks:
            section.warnings.append(
                f"{ctx.team_label(team)}: in {overdue_weeks} of these {len(weeks)} weeks, listed households "
                f"have no outcome recorded and are past the {within}-working-day deadline."
            )
    return section


def _outcome_counts(
    data: dict[str, Any], ctx: _Ctx
) -> tuple[list[str], dict[tuple[dt.date, str], dict[str, int]]]:
    values = list(ctx.settings.outcomes.values)
    seen = set(data["outcomes"]["outcome"].to_list()) - set(values) - {"not_reviewed"}
    columns = [*values, *sorted(seen), "not_reviewed"]
    counts: dict[tuple[dt.date, str], dict[str, int]] = {
        (w, team): dict.fromkeys(columns, 0) for w in ctx.week_endings for team in _teams(data, ctx)
    }
    for r in _rows(data["outcomes"]):
        if (r["week_ending"], r["team"]) in counts:
            counts[(r["week_ending"], r["team"])][r["outcome"]] += r["households"]
    return columns, counts


def _outcomes_section(data: dict[str, Any], ctx: _Ctx) -> tuple[Section, dict[str, tuple[int, int]]]:
    # Per team, never summed over teams beside per-team figures (a sum could reveal a suppressed part).
    weeks = ctx.week_endings
    teams = _teams(data, ctx)
    columns, counts = _outcome_counts(data, ctx)
    rows: list[dict[str, Cell]] = []
    period: dict[str, tuple[int, int]] = {}
    pooled_series: list[tuple[str, list[Cell]]] = []
    for team in teams:
        pooled_values: list[Cell] = []
        for i, w in enumerate(weeks):
            c = counts[(w, team)]
            if not any(c.values()):
                pooled_values.append(None)
                continue
            ref, no = c["new_concern_referred"], c["no_concern"]
            window = [counts[(x, team)] for x in weeks[max(0, i - ROLLING_PRECISION_WEEKS + 1) : i + 1]]
            p_ref = sum(x["new_concern_referred"] for x in window)
            p_no = sum(x["no_concern"] for x in window)
            pooled = ctx.rate(mon.precision(p_ref, p_no), p_ref, p_no)
            pooled_values.append(pooled)
            rows.append(
                {
                    **_team_week_row(w, team, sum(c.values()), ctx),
                    **{k: ctx.count(v) for k, v in c.items()},
                    "precision": ctx.rate(mon.precision(ref, no), ref, no),
                    "precision_4_weeks": pooled,
                }
            )
        period[team] = (
            sum(counts[(w, team)]["new_concern_referred"] for w in weeks),
            sum(counts[(w, team)]["no_concern"] for w in weeks),
        )
        pooled_series.append((ctx.team_label(team), pooled_values))
    section = Section(
        "outcomes",
        "Outcomes and the list's precision",
        "What reviewers decided for each week's list (the latest outcome per household). Precision is "
        "new concerns referred / (new concerns referred + no concern): of the households a reviewer could "
        "decide either way, the share where the flag led to a referral. 'Already known' and 'unable to "
        "assess' are left out of it.",
    )
    mix = [
        (
            k.replace("_", " "),
            [mon.shown_total([counts[(w, team)][k] for team in teams], ctx.threshold) for w in weeks],
        )
        for k in columns
    ]
    section.charts.append(
        _stacked_weekly_bars(
            "Outcome of each week's list (all teams)",
            "Households",
            weeks,
            mix,
            "A segment is not drawn when it, or one team's part of it, is "
            f"{mon.suppressed_label(ctx.threshold)}.",
        )
    )
    section.charts.append(
        _weekly_lines(
            f"Precision of the list, last {ROLLING_PRECISION_WEEKS} weeks pooled",
            "Precision (%)",
            weeks,
            pooled_series,
            f"Each week with the {ROLLING_PRECISION_WEEKS - 1} before it. Blank where a count behind it is "
            "suppressed or nobody was decided yet.",
            percent=True,
        )
    )
    section.tables.append(
        Table(
            "outcomes_weekly",
            "Outcomes per week and team",
            [
                *_team_week_columns(),
                *[
                    Column(k, k.replace("_", " "), "count", f"households whose latest outcome is {k}")
                    for k in columns
                ],
                Column(
                    "precision",
                    "Precision",
                    "share",
                    "new_concern_referred / (new_concern_referred + no_concern)",
                ),
                Column(
                    "precision_4_weeks",
                    f"Precision, {ROLLING_PRECISION_WEEKS} weeks",
                    "share",
                    "the same over this and the previous three weeks pooled",
                ),
            ],
            rows,
        )
    )
    return section, period


def _tst_section(data: dict[str, Any], ctx: _Ctx) -> Section:
    weeks = ctx.week_endings
    tst = ctx.settings.routing.tst_team
    lists = {r["week_ending"]: r for r in _rows(data["lists"]) if r["team"] == tst}
    reviews = {r["week_ending"]: r for r in _rows(data["reviews"]) if r["team"] == tst}
    _, outcomes = _outcome_counts(data, ctx)
    rows: list[dict[str, Cell]] = []
    for w in weeks:
        listed = lists.get(w, {}).get("households_listed", 0)
        referred = outcomes.get((w, tst), {}).get("new_concern_referred", 0)
        rows.append(
            {
                "week_ending": w,
                "routed_to_tst": ctx.count(listed),
                "tst_capacity": ctx.capacity(tst),
                "tst_reviewed_on_time": ctx.count(reviews.get(w, {}).get("reviewed_on_time", 0)),
                "new_concerns_referred": ctx.count(referred),
            }
        )
    section = Section(
        "tst",
        "Referrals to the Tenancy Support Team",
        "Households the list routed straight to the Tenancy Support Team (repairs red flags with ASB, "
        "arrears or recharge signals), and of those, the ones the team took on as a new concern.",
    )
    section.charts.append(
        _weekly_lines(
            "Referrals to the Tenancy Support Team",
            "Households",
            weeks,
            [
                ("routed to the TST by the list", [r["routed_to_tst"] for r in rows]),
                ("taken on as a new concern", [r["new_concerns_referred"] for r in rows]),
            ],
            f"Dashed line: TST capacity per week. Weeks with {mon.suppressed_label(ctx.threshold)} are "
            "left blank.",
            hlines=_capacity_line("TST capacity", ctx.capacity(tst)),
        )
    )
    section.tables.append(
        Table(
            "tst_referrals",
            "Referrals to the Tenancy Support Team",
            [
                Column("week_ending", "Week ending", "date", "the list's week"),
                Column("routed_to_tst", "Routed to the TST", "count", "households on the TST's list"),
                Column("tst_capacity", "TST capacity", "capacity", "households per week (settings)"),
                Column(
                    "tst_reviewed_on_time",
                    "TST reviewed on time",
                    "count",
                    "first outcome within the deadline",
                ),
                Column(
                    "new_concerns_referred",
                    "New concerns referred",
                    "count",
                    "TST households whose outcome is new_concern_referred",
                ),
            ],
            rows,
        )
    )
    return section


_ATTRIBUTE_TITLES = {"estate": "Estate", "property_type": "Property type", "age_band": "Household age band"}


def _groups_sections(data: dict[str, Any], ctx: _Ctx) -> tuple[Section, Section, int]:
    mset = ctx.settings.monitoring
    table = mon.disparity(data["groups"], max_ratio=mset.fairness_max_ratio, threshold=ctx.threshold)
    rates = Section(
        "rates",
        "Listing rates by estate and property type",
        f"Households listed at least once in these {ctx.weeks} weeks per 1,000 homes in the group "
        "(homes known on the last day; communal references excluded). The dashed line is the whole landlord.",
    )
    fair = Section(
        "fairness",
        "Fairness audit",
        "Aequitas-style disparity: each group's listing rate and precision divided by the reference group's "
        f"(the largest group). Beyond {mset.fairness_max_ratio:g}x or under 1/{mset.fairness_max_ratio:g} is "
        "flagged. A difference is a question to look into, not proof of bias: repairs are recorded "
        "differently "
        "by estate, contractor and building type. Groups too small for a ratio to mean anything are marked "
        "so.",
    )
    attributes = list(dict.fromkeys(table["attribute_name"].to_list()))
    for attribute in ("estate", "property_type"):
        if attribute not in attributes:
            attributes.append(attribute)
    all_homes = data["groups"].filter(pl.col("attribute_name") == "property_type")
    homes_total = int(all_homes["homes"].sum() or 0)
    listed_total = int(all_homes["households_listed"].sum() or 0)
    overall = mon.rate_per_1000(listed_total, homes_total)
    fair_rows: list[dict[str, Cell]] = []
    for attribute in attributes:
        title = _ATTRIBUTE_TITLES.get(attribute, attribute)
        mine = [r for r in _rows(table) if r["attribute_name"] == attribute]
        if attribute in ("estate", "property_type"):
            rate_rows: list[dict[str, Cell]] = [
                {
                    "group": r["group_name"],
                    "homes": ctx.count(r["homes"]),
                    "households_listed": ctx.count(r["households_listed"]),
                    "listing_rate_per_1000": _unless_small(r["listing_rate_per_1000"], r["listing_small"]),
                }
                for r in mine
            ]
            rates.charts.append(
                _group_bars(
                    f"Households listed per 1,000 homes, by {title.lower()}",
                    "Households listed per 1,000 homes",
                    title,
                    [str(r["group"]) for r in rate_rows],
                    [r["listing_rate_per_1000"] for r in rate_rows],
                    f"Over the {ctx.weeks} weeks of this report. Groups with "
                    f"{mon.suppressed_label(ctx.threshold)} homes or listings show no bar.",
                    threshold=ctx.threshold,
                    reference=overall if not ctx.small(listed_total) else None,
                )
            )
            rates.tables.append(
                Table(
                    f"rates_by_{attribute}",
                    f"Listing rate by {title.lower()}",
                    [
                        Column("group", title, "label", f"the {title.lower()} ('not recorded' when blank)"),
                        Column("homes", "Homes", "count", "homes in the group on the last day"),
                        Column("households_listed", "Households listed", "count", "listed at least once"),
                        Column(
                            "listing_rate_per_1000",
                            "Per 1,000 homes",
                            "rate",
                            "households listed per 1,000 homes",
                        ),
                    ],
                    rate_rows,
                )
            )
        chart_rows = []
        for r in mine:
            row: dict[str, Cell] = {
                "attribute": attribute,
                "group": r["group_name"],
                "is_reference": "yes" if r["is_reference"] else "",
                "listing_rate_per_1000": _unless_small(r["listing_rate_per_1000"], r["listing_small"]),
                "listing_disparity": _assessed(r["listing_disparity"], r["listing_flag"], r["listing_small"]),
                "listing_assessment": r["listing_flag"],
                "precision": _unless_small(r["precision"], r["precision_small"]),
                "precision_disparity": _assessed(
                    r["precision_disparity"], r["precision_flag"], r["precision_small"]
                ),
                "precision_assessment": r["precision_flag"],
            }
            fair_rows.append(row)
            chart_rows.append(
                {
                    "group_name": r["group_name"],
                    "listing_disparity_shown": row["listing_disparity"],
                    "precision_disparity_shown": row["precision_disparity"],
                }
            )
        if mine:
            fair.charts.append(
                _disparity_chart(
                    f"Disparity against the reference group, by {title.lower()}",
                    title,
                    chart_rows,
                    mset.fairness_max_ratio,
                    "Only groups large enough to assess are plotted; the shaded band is acceptable.",
                )
            )
    fair.tables.append(
        Table(
            "fairness",
            "Disparity by group",
            [
                Column("attribute", "Attribute", "label", "estate, property_type or age_band"),
                Column("group", "Group", "label", "the group"),
                Column("is_reference", "Reference", "label", "yes for the reference (largest) group"),
                Column(
                    "listing_rate_per_1000",
                    "Listed per 1,000",
                    "rate",
                    "households listed per 1,000 in the group",
                ),
                Column("listing_disparity", "Listing disparity", "ratio", "group rate / reference rate"),
                Column(
                    "listing_assessment", "Listing check", "label", "ok, higher, lower or too small to assess"
                ),
                Column("precision", "Precision", "share", "new_concern_referred / (that + no_concern)"),
                Column(
                    "precision_disparity",
                    "Precision disparity",
                    "ratio",
                    "group precision / reference precision",
                ),
                Column(
                    "precision_assessment",
                    "Precision check",
                    "label",
                    "ok, higher, lower or too small to assess",
                ),
            ],
            fair_rows,
        )
    )
    findings = mon.fairness_findings(table)
    fair.warnings.extend(mon.fairness_warning(f, mset.fairness_max_ratio) for f in findings)
    if not data["has_age_band"]:
        fair.notes.append(
            "No household age band is recorded in the tenancies extract, so the audit cannot look at age. "
            "If a "
            "landlord adds an age_band column to tenancies, this section includes it automatically."
        )
    return rates, fair, len(findings)


def _assessed(value: float | None, flag: str, small: bool) -> Cell:
    if small:
        return mon.SUPPRESSED_RATE
    if flag == "too small to assess":
        return None
    return value


def _runs_section(data: dict[str, Any], ctx: _Ctx) -> Section:
    runs = _rows(data["runs"])
    rows: list[dict[str, Cell]] = [
        {
            "started_at": r["started_at"],
            "kind": r["kind"],
            "as_of": r["as_of"],
            "status": r["status"],
            "duration_minutes": None if r["duration_seconds"] is None else r["duration_seconds"] / 60,
            "files_loaded": r["files_loaded"],
            "files_failed": r["files_failed"],
            "rows_loaded": ctx.count(r["rows_loaded"]),
            "rows_quarantined": ctx.count(r["rows_quarantined"]),
        }
        for r in runs
    ]
    section = Section(
        "runs",
        "Pipeline run health",
        f"The last {MAX_RUNS} runs of the pipeline (loading, weekly review, backtest, report, purge): what "
        "ran, "
        "whether it worked and how long it took. The run's detail text is not shown here; see the logs.",
    )
    section.charts.append(_runs_chart(runs, "Each point is a run; a ringed point failed."))
    section.tables.append(
        Table(
            "runs",
            "Latest runs",
            [
                Column("started_at", "Started", "timestamp", "when the run started"),
                Column("kind", "Kind", "label", "which pipeline"),
                Column("as_of", "As of", "date", "the week-ending date it ran for"),
                Column("status", "Status", "label", "as the run recorded it"),
                Column("duration_minutes", "Minutes", "minutes", "finished - started"),
                Column("files_loaded", "Files loaded", "machine", "extract files loaded"),
                Column("files_failed", "Files failed", "machine", "extract files refused"),
                Column("rows_loaded", "Rows loaded", "count", "rows stored"),
                Column("rows_quarantined", "Rows quarantined", "count", "rows set aside"),
            ],
            rows,
        )
    )
    first = dt.datetime.combine(ctx.week_endings[0] - dt.timedelta(days=6), dt.time())
    failed = [r for r in runs if r["status"] in FAILED_STATUSES and r["started_at"] >= first]
    if failed:
        kinds = ", ".join(sorted({str(r["kind"]) for r in failed}))
        section.warnings.append(
            f"{len(failed)} of the last {len(runs)} pipeline runs in these weeks failed ({kinds}): see the "
            "logs."
        )
    interrupted = [r for r in runs if r["status"] == "interrupted"]
    if interrupted:
        section.warnings.append(
            f"{len(interrupted)} of the last {len(runs)} runs were interrupted: the process ended before the "
            "run finished (killed, or the machine stopped), noticed when the next run started."
        )
    latest = next((r for r in runs if r["kind"] == "weekly-review" and r["status"] != "running"), None)
    if latest is not None:
        for warning in latest.get("warnings") or []:
            section.warnings.append(
                f"The latest weekly review (week ending {latest['as_of']}) warned: {warning}"
            )
    unfinished = [
        r
        for r in runs
        if r["finished_at"] is None and r["status"] not in FAILED_STATUSES and r["status"] != "interrupted"
    ]
    if unfinished:
        section.warnings.append(
            f"{len(unfinished)} recorded runs have no finish time (still running or killed)."
        )
    return section


# ----------------------------------------------------------------------------------------------------
# Summary


def _summary(
    data: dict[str, Any], ctx: _Ctx, precision_counts: dict[str, tuple[int, int]]
) -> tuple[list[str], Table]:
    w = ctx.last_day
    facts: list[tuple[str, Cell]] = []
    ingest = {r["week_ending"]: r for r in _rows(data["ingest"])}.get(w, {})
    files = ingest.get("files_loaded", 0)
    quarantined = ctx.count(ingest.get("rows_quarantined", 0))
    lines = [f"{files} extract files loaded; {quarantined} rows quarantined."]
    facts += [("extract files loaded this week", files), ("rows quarantined this week", quarantined)]

    flags = {r["category"]: r["flags"] for r in _rows(data["flags"]) if r["week_ending"] == w}
    lines.append(
        "Red-flag repairs reported: " + ", ".join(f"{c} {ctx.count(n)}" for c, n in flags.items()) + "."
    )
    facts += [(f"{c} repairs this week", ctx.count(n)) for c, n in flags.items()]

    lists = {r["team"]: r for r in _rows(data["lists"]) if r["week_ending"] == w}
    parts = []
    for team in _teams(data, ctx):
        r = lists.get(team, {})
        listed, carried = ctx.count(r.get("households_listed", 0)), ctx.count(r.get("carried_forward", 0))
        cap = ctx.capacity(team)
        parts.append(
            f"{ctx.team_label(team)} {listed} of capacity {cap if cap is not None else 'not set'}"
            f" ({carried} carried forward)"
        )
        facts += [
            (f"{team} listed this week", listed),
            (f"{team} capacity", cap),
            (f"{team} carried forward this week", carried),
        ]
    lines.append("Review list: " + "; ".join(parts) + ".")

    within = ctx.settings.outcomes.review_within_working_days
    reviews = _rows(data["reviews"])
    due_weeks = sorted({r["week_ending"] for r in reviews if r["awaiting_review"] < r["households_listed"]})
    if due_weeks:
        dw = due_weeks[-1]
        parts = []
        for r in (r for r in reviews if r["week_ending"] == dw):
            due = ctx.count(r["households_listed"] - r["awaiting_review"])
            on_time, late, overdue = (
                ctx.count(r[k]) for k in ("reviewed_on_time", "reviewed_late", "overdue")
            )
            parts.append(
                f"{ctx.team_label(r['team'])} {on_time} of {due} on time, {late} late, {overdue} overdue"
            )
            facts += [
                (f"{r['team']} reviews due for the week ending {dw}", due),
                (f"{r['team']} reviewed on time", on_time),
                (f"{r['team']} reviewed late", late),
                (f"{r['team']} overdue", overdue),
            ]
        lines.append(
            f"Reviews of the list for the week ending {_week_label(dw)} (due within {within} working days): "
            + "; ".join(parts)
            + "."
        )
    awaiting = [r for r in reviews if r["week_ending"] == w and r["awaiting_review"]]
    if awaiting:
        lines.append(
            "This week's list, not yet due: "
            + "; ".join(f"{ctx.team_label(r['team'])} {ctx.count(r['awaiting_review'])}" for r in awaiting)
            + " households awaiting review."
        )
    parts = []
    for team, (ref, no) in precision_counts.items():
        if ref + no == 0:
            continue
        prec = ctx.rate(mon.precision(ref, no), ref, no)
        parts.append(
            f"{ctx.team_label(team)} {_fmt_share(prec)} ({ctx.count(ref)} new concerns referred, "
            f"{ctx.count(no)} no concern)"
        )
        facts += [
            (f"{team} precision over the report", prec),
            (f"{team} new concerns referred", ctx.count(ref)),
        ]
    lines.append(
        f"Precision over the {ctx.weeks} weeks: " + ("; ".join(parts) if parts else "no decisions yet") + "."
    )
    tst = ctx.settings.routing.tst_team
    routed = lists.get(tst, {}).get("households_listed", 0)
    lines.append(f"Routed to the Tenancy Support Team this week: {ctx.count(routed)}.")
    facts.append(("routed to the TST this week", ctx.count(routed)))
    runs = _rows(data["runs"])
    if runs:
        r = runs[0]
        lines.append(
            f"Last pipeline run: {r['kind']}, {r['status']}, started {r['started_at']:%d %b %Y %H:%M}."
        )
        facts.append(("last run status", f"{r['kind']}: {r['status']}"))
    else:
        lines.append("No pipeline runs are recorded.")
    table = Table(
        "summary",
        "This week at a glance",
        [
            Column("measure", "Measure", "label", "what is counted (week ending the report's last day)"),
            Column("value", "Value", "label", "counts 1 to threshold - 1 shown as 'fewer than N'"),
        ],
        [{"measure": m, "value": v} for m, v in facts],
        in_html=False,
    )
    return lines, table


# ----------------------------------------------------------------------------------------------------
# Writing


def _fmt_share(value: Cell) -> str:
    return (
        f"{100 * value:.0f}%"
        if isinstance(value, float)
        else ("not yet known" if value is None else str(value))
    )


def _csv_value(value: Cell, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.4f}" if kind in ("share", "ratio") else f"{value:.2f}"
    return str(value)


def _html_value(value: Cell, kind: str) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, dt.datetime):
        return html.escape(f"{value:%d %b %Y %H:%M}")
    if isinstance(value, dt.date):
        return html.escape(_week_label(value))
    if kind == "share" and isinstance(value, float):
        return f"{100 * value:.0f}%"
    if kind == "ratio" and isinstance(value, float):
        return f"{value:.2f}x"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def _table_frame(table: Table) -> pl.DataFrame:
    """A table as a frame for the project's CSV writer: a column of numbers only stays numeric (floats as
    decimals with 4 places for shares and ratios, 2 otherwise, so "8.00" reads as written); a column mixing
    numbers and labels ("fewer than 5", "suppressed") is text."""
    columns: list[pl.Series] = []
    for c in table.columns:
        values = [row.get(c.key) for row in table.rows]
        present = [v for v in values if v is not None]
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in present)
        if present and numbers and any(isinstance(v, float) for v in present):
            places = 4 if c.kind in ("share", "ratio") else 2
            decimals = [
                None
                if v is None or v != v or v in (float("inf"), float("-inf"))
                else Decimal(f"{v:.{places}f}")
                for v in values
            ]
            columns.append(pl.Series(c.key, decimals, dtype=pl.Decimal(38, places)))
        elif present and numbers:
            columns.append(pl.Series(c.key, values, dtype=pl.Int64))
        else:
            columns.append(pl.Series(c.key, [_csv_value(v, c.kind) for v in values], dtype=pl.String))
    return pl.DataFrame(columns)


def _write_csv(path: Path, table: Table) -> None:
    write_csv(_table_frame(table), path)


_CSS = """
body{font-family:"DejaVu Sans",Verdana,Arial,sans-serif;color:#1a1a1a;margin:0 auto;max-width:1120px;
  padding:1.5em;line-height:1.45;font-size:15px}
h1{font-size:1.7em;margin:0 0 .2em}
h2{font-size:1.3em;border-bottom:2px solid #0072B2;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.05em;margin:1.2em 0 .4em}
.meta{color:#444;margin:0}nav{margin:1em 0;font-size:.92em}nav a{margin-right:1em;color:#0072B2}
.glance{background:#eef5fb;border-left:6px solid #0072B2;padding:.8em 1.2em}
.warn{background:#fff4e5;border-left:6px solid #D55E00;padding:.8em 1.2em}
.glance ul,.warn ul{margin:.3em 0;padding-left:1.2em}
.glance h2,.warn h2{margin-top:.2em}
.ok{color:#1b5e20}
figure{margin:1em 0;break-inside:avoid}figure img{width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.9em;color:#444}
table{border-collapse:collapse;font-size:.88em;margin:.5em 0 1em;break-inside:auto}
th,td{border:1px solid #ccc;padding:.25em .55em;text-align:right;white-space:nowrap}th{background:#f0f0f0}
td.l,th.l{text-align:left}tbody tr:nth-child(even){background:#fafafa}
.tablewrap{overflow-x:auto}.note{font-size:.9em;color:#333}
@media print{body{max-width:none;font-size:11pt}nav{display:none}h2{break-after:avoid}}
"""


def _chart_html(chart: Chart) -> str:
    data = base64.b64encode(chart.png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(chart.title)}: '
        f'{html.escape(chart.caption)}" data-chart-title="{html.escape(chart.title)}" '
        f'data-x-label="{html.escape(chart.x_label)}" data-y-label="{html.escape(chart.y_label)}">'
        f"<figcaption>{html.escape(chart.caption)}</figcaption></figure>"
    )


def _table_html(table: Table) -> str:
    if not table.rows:
        return f'<h3>{html.escape(table.title)}</h3><p class="note">Nothing to show for these weeks.</p>'
    columns = [c for c in table.columns if c.in_html]
    rows = table.rows
    note = ""
    weeks: list[dt.date] = sorted({v for r in rows if isinstance(v := r.get("week_ending"), dt.date)})
    if table.html_recent_weeks and len(weeks) > table.html_recent_weeks:
        recent = set(weeks[-table.html_recent_weeks :])
        rows = [r for r in rows if r.get("week_ending") in recent]
        note = f"latest {table.html_recent_weeks} weeks; every week in {table.name}.csv"
    head = "".join(
        f'<th class="{_align(c)}" data-kind="{c.kind}" title="{html.escape(c.meaning)}">'
        f"{html.escape(c.heading)}</th>"
        for c in columns
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="{_align(c)}">{_html_value(row.get(c.key), c.kind)}</td>' for c in columns
        )
        body.append(f"<tr>{cells}</tr>")
    where = html.escape(note or f"{table.name}.csv")
    return (
        f'<h3>{html.escape(table.title)} <span class="note">({where})</span></h3>'
        f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _align(column: Column) -> str:
    return "l" if column.kind in ("label", "date", "timestamp") else ""


def _notes(ctx: _Ctx) -> list[str]:
    t = mon.suppressed_label(ctx.threshold)
    within = ctx.settings.outcomes.review_within_working_days
    return [
        "Aggregates only. This report holds no tenancy, property, block, job or case reference, no names "
        "and no free text from repairs, ASB cases or reviewers' rationale. It may be shared with managers "
        "who are not cleared to see the review lists.",
        f"Small numbers are suppressed: a count of households, repairs or rows from 1 to "
        f"{ctx.threshold - 1} is shown as '{t}' (zero is shown as 0), and any rate, share or ratio worked "
        "out from such a count is shown as 'suppressed', so it cannot be worked back. A total beside "
        "suppressed parts is suppressed too. Counts of files, runs and configured capacities are not about "
        "people and are shown as they are.",
        "Weeks end on the report's last day (normally a Sunday) and every seven days before it. Lists "
        "belong to the week of their as-of date; if a week's run was repeated, the last list published "
        "counts.",
        f"Working days are Monday to Friday. Bank holidays are not taken out: a deadline of {within} "
        "working days over a bank holiday is one day shorter in practice than it looks here.",
        "Protected characteristics, and the attributes that stand in for them (estate, property type, "
        "household age band), are used here for auditing the list's fairness only. They are never used to "
        "score or rank households.",
        "Red-flag repair counts describe how repairs were recorded and classified, not how many households "
        "are at risk; drift warnings are about the data and the classifier first.",
        "Each table is also in a CSV file of the same name beside this page; columns.csv describes every "
        "column.",
    ]


def _page(sections: Sequence[Section], summary: list[str], ctx: _Ctx) -> str:
    warnings = [w for s in sections for w in s.warnings]
    first = ctx.week_endings[0] - dt.timedelta(days=6)
    out = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Repairs Red Flags: monitoring report to {html.escape(_week_label(ctx.last_day))}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<header><h1>Repairs Red Flags: monitoring report</h1>",
        f'<p class="meta">{ctx.weeks} weeks from {html.escape(_week_label(first))} to '
        f"{html.escape(_week_label(ctx.last_day))} &middot; produced {html.escape(_week_label(ctx.today))} "
        f"&middot; settings version {html.escape(ctx.settings.version)} &middot; aggregates only, small "
        "numbers "
        "suppressed</p></header>",
        "<nav>"
        + "".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in sections)
        + '<a href="#notes">About this report</a></nav>',
        '<section class="glance" id="summary">'
        f"<h2>This week (ending {html.escape(_week_label(ctx.last_day))})</h2><ul>"
        + "".join(f"<li>{html.escape(line)}</li>" for line in summary)
        + "</ul></section>",
    ]
    if warnings:
        out.append(
            '<section class="warn" id="warnings"><h2>Things to check</h2><ul>'
            + "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
            + "</ul></section>"
        )
    else:
        out.append(
            '<p class="ok">Nothing to check: no drift, fairness, capacity, review or run warnings.</p>'
        )
    for s in sections:
        out.append(f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2><p>{html.escape(s.intro)}</p>')
        out.extend(_chart_html(c) for c in s.charts)
        out.extend(_table_html(t) for t in s.tables if t.in_html)
        hidden = [t.name for t in s.tables if not t.in_html]
        if hidden:
            out.append(
                '<p class="note">Also in CSV: ' + ", ".join(f"{html.escape(n)}.csv" for n in hidden) + "</p>"
            )
        out.extend(f'<p class="note">{html.escape(n)}</p>' for n in s.notes)
        out.append("</section>")
    out.append(
        '<section id="notes"><h2>About this report</h2><ul class="note">'
        + "".join(f"<li>{html.escape(n)}</li>" for n in _notes(ctx))
        + "</ul></section>"
    )
    out.append("</body></html>")
    return "\n".join(out)


def build_report(
    wh: Warehouse, settings: Settings, out_dir: str | Path, weeks: int, today: dt.date | None = None
) -> ReportPaths:
    """Write ``report.html``, one CSV per table and ``columns.csv`` to ``out_dir``; return where they are.

    The report covers ``weeks`` weeks ending on the last Sunday on or before ``today`` (default: today).
    """
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    today = today or dt.date.today()
    ctx = _Ctx(settings, weeks, today, mon.last_week_ending(today), settings.monitoring.small_count_threshold)
    data = _read(wh.con, ctx)
    flags_section, drift_section, _ = _flags_sections(data, ctx)
    outcomes_section, precision_counts = _outcomes_section(data, ctx)
    rates_section, fairness_section, _ = _groups_sections(data, ctx)
    sections = [
        _ingest_section(data, ctx),
        flags_section,
        drift_section,
        _lists_section(data, ctx),
        _reviews_section(data, ctx),
        outcomes_section,
        _tst_section(data, ctx),
        rates_section,
        fairness_section,
        _runs_section(data, ctx),
    ]
    summary_lines, summary_table = _summary(data, ctx, precision_counts)
    tables = [summary_table, *[t for s in sections for t in s.tables]]

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_paths: dict[str, Path] = {}
    for table in tables:
        csv_paths[table.name] = out / f"{table.name}.csv"
        _write_csv(csv_paths[table.name], table)
    columns_path = out / "columns.csv"
    _write_csv(
        columns_path,
        Table(
            "columns",
            "Columns",
            [
                Column("table", "table", "label", "CSV file (without .csv)"),
                Column("column", "column", "label", "column name"),
                Column(
                    "kind",
                    "kind",
                    "label",
                    "count (suppressed), machine, capacity, rate, share, ratio, date, label",
                ),
                Column("meaning", "meaning", "label", "what it holds"),
            ],
            [
                {"table": t.name, "column": c.key, "kind": c.kind, "meaning": c.meaning}
                for t in tables
                for c in t.columns
            ],
        ),
    )
    html_path = out / "report.html"
    html_path.write_text(_page(sections, summary_lines, ctx), encoding="utf-8")
    log.info("monitoring report: %d weeks to %s, %d tables", weeks, ctx.last_day, len(tables))
    return ReportPaths(out_dir=out, html=html_path, csv=csv_paths, columns=columns_path)


# ----------------------------------------------------------------------------------------------------
# Flow and command line


def _locked(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only while the database is held by another process (the weekly run finishing its writes)."""
    try:
        state.result()
    except WarehouseError as exc:
        return str(exc).startswith("cannot open the database")
    except Exception:
        return False
    return False


@task(
    name="build-monitoring-report",
    cache_policy=NO_CACHE,
    retries=3,
    retry_delay_seconds=30,
    retry_condition_fn=_locked,
)
def build_report_task(
    db: str | Path,
    allow_unencrypted: bool,
    settings: Settings,
    out_dir: str | Path,
    weeks: int,
    today: dt.date | None,
) -> ReportPaths:
    wh = open_warehouse(db, allow_unencrypted=allow_unencrypted, must_exist=True, read_only=True)
    try:
        return build_report(wh, settings, out_dir, weeks, today)
    finally:
        wh.close()


@flow(name="monitoring-report", validate_parameters=False)  # as the other flows: paths arrive as text
def monitoring_report(
    db: str | Path = "./redflags.duckdb",
    out_dir: str | Path = "./report",
    weeks: int = 12,
    config: str | None = None,
    allow_unencrypted: bool = False,
    today: dt.date | None = None,
) -> ReportPaths:
    """The managers' monitoring report, after the weekly review: aggregates only, small numbers suppressed."""
    settings = load_settings(config)
    return build_report_task(db, allow_unencrypted, settings, out_dir, weeks, today)


def main(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    wh = open_warehouse(args.db, allow_unencrypted=args.allow_unencrypted, must_exist=True, read_only=True)
    try:
        paths = build_report(wh, settings, args.out, args.weeks, today=getattr(args, "as_of", None))
    finally:
        wh.close()
    print(f"Monitoring report: {paths.html}")  # noqa: T201
    print(f"Tables as CSV ({len(paths.csv)} files, described in {paths.columns.name}): {paths.out_dir}")  # noqa: T201
    return 0
