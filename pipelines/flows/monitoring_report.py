"""The Prefect flow ``monitoring-report``: the managers' report after the weekly review (docs/monitoring.md).

Thin: the work is ``pipelines.report.build.build_report``; the task opens the warehouse read-only and retries
while another process (the weekly run finishing its writes) holds the file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipelines.core.settings import Settings, load_settings
from pipelines.report.build import build_report_from_database
from pipelines.report.model import ReportPaths
from pipelines.warehouse.connection import WarehouseError


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
    return build_report_from_database(
        db, settings, out_dir, weeks, today, allow_unencrypted=allow_unencrypted
    )


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
