"""Building the report: read the marts, make each section, write the CSVs, ``columns.csv`` and the page.

``build_report`` is the one entry point: the command line (``pipelines/cli/report.py``) and the Prefect flow
(``pipelines/flows/monitoring_report.py``) both call it with an open warehouse.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from models import monitoring as mon
from pipelines.core.settings import Settings
from pipelines.report.data import read_marts
from pipelines.report.fairness import groups_sections
from pipelines.report.learning_section import learning_section
from pipelines.report.model import Column, Context, ReportPaths, Table
from pipelines.report.render import render_page, write_table_csv
from pipelines.report.review_sections import lists_section, outcomes_section, reviews_section, tst_section
from pipelines.report.sections import flags_sections, ingest_section, runs_section
from pipelines.report.summary import this_week_summary
from pipelines.warehouse.connection import Warehouse, open_warehouse

log = logging.getLogger(__name__)


def build_report(
    wh: Warehouse, settings: Settings, out_dir: str | Path, weeks: int, today: dt.date | None = None
) -> ReportPaths:
    """Write ``report.html``, one CSV per table and ``columns.csv`` to ``out_dir``; return where they are.

    The report covers ``weeks`` weeks ending on the last Sunday on or before ``today`` (default: today).
    """
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    today = today or dt.date.today()
    ctx = Context(
        settings, weeks, today, mon.last_week_ending(today), settings.monitoring.small_count_threshold
    )
    data = read_marts(wh.con, ctx)
    flags_section, drift_section, _ = flags_sections(data, ctx)
    outcomes, precision_counts = outcomes_section(data, ctx)
    rates_section, fairness_section, _ = groups_sections(data, ctx)
    sections = [
        ingest_section(data, ctx),
        flags_section,
        drift_section,
        lists_section(data, ctx),
        reviews_section(data, ctx),
        outcomes,
        tst_section(data, ctx),
        rates_section,
        fairness_section,
        learning_section(data, ctx),
        runs_section(data, ctx),
    ]
    summary_lines, summary_table = this_week_summary(data, ctx, precision_counts)
    tables = [summary_table, *[t for s in sections for t in s.tables]]

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_paths: dict[str, Path] = {}
    for table in tables:
        csv_paths[table.name] = out / f"{table.name}.csv"
        write_table_csv(csv_paths[table.name], table)
    columns_path = out / "columns.csv"
    write_table_csv(
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
    html_path.write_text(render_page(sections, summary_lines, ctx), encoding="utf-8")
    log.info("monitoring report: %d weeks to %s, %d tables", weeks, ctx.last_day, len(tables))
    return ReportPaths(out_dir=out, html=html_path, csv=csv_paths, columns=columns_path)


def build_report_from_database(
    db: str | Path,
    settings: Settings,
    out_dir: str | Path,
    weeks: int,
    today: dt.date | None = None,
    *,
    allow_unencrypted: bool = False,
) -> ReportPaths:
    """``build_report`` on the database file ``db``, opened read-only (it must exist) and closed after."""
    wh = open_warehouse(db, allow_unencrypted=allow_unencrypted, must_exist=True, read_only=True)
    try:
        return build_report(wh, settings, out_dir, weeks, today)
    finally:
        wh.close()
