"""The report's charts: matplotlib figures drawn off-screen (no pyplot, the global backend left alone) and
returned as PNG bytes with their title and axis labels also in the PNG's text metadata.

Colour-blind-safe colours, each series with its own marker and line style; suppressed values (text such as
"fewer than 5") are left blank; an empty chart says so and keeps whole-number ticks.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from pipelines.report.model import FAILED_STATUSES, Cell, Chart

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


def weekly_lines(
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
    """One line per series over the weeks (``None`` or a label such as "fewer than 5" leaves a gap).

    ``percent`` draws shares (0-1) as %, ``hlines`` adds dashed lines, ``log_band`` makes the value axis a
    log-2 ratio axis with its acceptable band shaded.
    """
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


def weekly_bars(
    title: str, y_label: str, weeks: Sequence[dt.date], values: Sequence[Cell], caption: str
) -> Chart:
    """One bar per week (a count); a suppressed or missing week has no bar."""
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


def stacked_weekly_bars(
    title: str,
    y_label: str,
    weeks: Sequence[dt.date],
    series: Sequence[tuple[str, Sequence[Cell]]],
    caption: str,
) -> Chart:
    """Bars per week stacked by series (each with its own colour and hatching); suppressed parts not drawn."""
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


def group_bars(
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
    """Horizontal bars per group (a rate), with the label of a suppressed group written in and ``reference``
    as a dashed line (the whole landlord)."""
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


def disparity_chart(
    title: str, y_label: str, rows: Sequence[dict[str, Any]], max_ratio: float, caption: str
) -> Chart:
    """Listing-rate and precision disparity per group (``*_disparity_shown``) on a log-2 ratio axis with
    the acceptable band from 1/``max_ratio`` to ``max_ratio``."""
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


def runs_chart(rows: Sequence[dict[str, Any]], caption: str) -> Chart:
    """Each run's duration in minutes by its start time and kind; failed runs ringed."""
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
