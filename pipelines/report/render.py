"""Writing the report: each table as a CSV file through the project's one CSV writer, and the page as one
self-contained HTML file from ``templates/report.html`` (autoescaped; CSS inlined from ``static/report.css``;
charts as embedded PNGs; no scripts, no links out).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from markupsafe import Markup

from models import monitoring as mon
from pipelines.core.spreadsheets import write_csv
from pipelines.report.model import Cell, Column, Context, Section, Table, week_label
from pipelines.report.templating import render, stylesheet


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


def write_table_csv(path: Path, table: Table) -> None:
    """``table`` as a CSV file at ``path`` through the project's writer (formula-safe, owner-only)."""
    write_csv(_table_frame(table), path)


def _html_value(value: Cell, kind: str) -> str | Markup:
    """A cell as the page shows it: dates as "6 Dec 2026", shares as %, ratios as "1.25x", a blank as a dash."""
    if value is None:
        return Markup("&ndash;")
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return f"{value:%d %b %Y %H:%M}"
    if isinstance(value, dt.date):
        return week_label(value)
    if kind == "share" and isinstance(value, float):
        return f"{100 * value:.0f}%"
    if kind == "ratio" and isinstance(value, float):
        return f"{value:.2f}x"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def _align(column: Column) -> str:
    return "l" if column.kind in ("label", "date", "timestamp") else ""


def _table_view(table: Table) -> dict[str, Any]:
    """What the page shows of a table: its columns for people, and the latest weeks of a weekly table."""
    columns = [c for c in table.columns if c.in_html]
    rows = table.rows
    note = ""
    weeks: list[dt.date] = sorted({v for r in rows if isinstance(v := r.get("week_ending"), dt.date)})
    if table.html_recent_weeks and len(weeks) > table.html_recent_weeks:
        recent = set(weeks[-table.html_recent_weeks :])
        rows = [r for r in rows if r.get("week_ending") in recent]
        note = f"latest {table.html_recent_weeks} weeks; every week in {table.name}.csv"
    return {
        "title": table.title,
        "empty": not table.rows,
        "where": note or f"{table.name}.csv",
        "columns": [
            {"align": _align(c), "kind": c.kind, "meaning": c.meaning, "heading": c.heading} for c in columns
        ],
        "rows": [[(_align(c), _html_value(row.get(c.key), c.kind)) for c in columns] for row in rows],
    }


def _section_view(section: Section) -> dict[str, Any]:
    return {
        "anchor": section.anchor,
        "title": section.title,
        "intro": section.intro,
        "charts": [
            {
                "src": "data:image/png;base64," + base64.b64encode(c.png).decode("ascii"),
                "title": c.title,
                "caption": c.caption,
                "x_label": c.x_label,
                "y_label": c.y_label,
            }
            for c in section.charts
        ],
        "tables": [_table_view(t) for t in section.tables if t.in_html],
        "csv_only": [f"{t.name}.csv" for t in section.tables if not t.in_html],
        "notes": section.notes,
    }


def render_page(sections: Sequence[Section], summary: list[str], ctx: Context) -> str:
    """The report page: the summary box, the warnings of every section, the sections, and the notes."""
    return render(
        "report.html",
        css=stylesheet("report.css"),
        first=week_label(ctx.week_endings[0] - dt.timedelta(days=6)),
        last=week_label(ctx.last_day),
        produced=week_label(ctx.today),
        weeks=ctx.weeks,
        settings_version=ctx.settings.version,
        summary=summary,
        warnings=[w for s in sections for w in s.warnings],
        sections=[_section_view(s) for s in sections],
        threshold=ctx.threshold,
        suppressed_label=mon.suppressed_label(ctx.threshold),
        within=ctx.settings.outcomes.review_within_working_days,
    )
