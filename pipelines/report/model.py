"""The report's building blocks: the context of one report, sections, tables, their columns and charts.

A ``Section`` is one part of the page (its charts, tables, warnings and notes); a ``Table`` is also one CSV
file, its ``Column`` kinds deciding suppression and formatting; a ``Chart`` is a PNG with its labels.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from models import monitoring as mon
from pipelines.core.settings import Settings

Cell = int | float | str | dt.date | dt.datetime | None

MAX_RUNS = 20
HTML_RECENT_WEEKS = 4
ROLLING_PRECISION_WEEKS = 4
FAILED_STATUSES = frozenset({"failed", "failure", "error", "crashed", "aborted"})


@dataclass(frozen=True)
class ReportPaths:
    """Where the report went: the HTML page, one CSV per table, and the column dictionary."""

    out_dir: Path
    html: Path
    csv: dict[str, Path]
    columns: Path


@dataclass(frozen=True)
class Column:
    """A table's column: its CSV name, heading on the page, kind (formatting and suppression) and meaning."""

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
    """One table of the report: a CSV file, and on the page unless ``in_html`` is false."""

    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Cell]]
    in_html: bool = True
    # Weekly tables show their latest weeks on the page (the charts show all); the CSV has every week.
    html_recent_weeks: int | None = HTML_RECENT_WEEKS


@dataclass(frozen=True)
class Chart:
    """One chart: the PNG and the labels drawn on it (also in the PNG's metadata and the page's ``<img>``)."""

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
    """One part of the page, with its anchor for the contents line."""

    anchor: str
    title: str
    intro: str
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """One report: its settings, its weeks (ending on ``last_day``), the day it is made, the small-count
    threshold; and how a count, rate or team shows under them."""

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


def week_label(d: dt.date) -> str:
    """A week-ending date as people read it: "6 Dec 2026"."""
    return f"{d.day} {d:%b %Y}"
