"""``redflags serve``: the Monday job on its schedule (06:00 Europe/London by default).

Each run scores the week that ended on the Sunday before it, builds the managers' report, and purges what the
retention settings say has expired.

``prefect.yaml`` at the repository root deploys the same flow to a process work pool instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipelines.errors import UserError
from pipelines.monitoring_report import monitoring_report
from pipelines.settings import load_settings
from pipelines.weekly_review import WeeklyResult, weekly_review


def weekly_schedule(cron: str, timezone: str) -> Any:
    from prefect.schedules import Cron

    # A bare cron string would run in UTC; the landlord's week is in local time.
    return Cron(cron, timezone=timezone)


@task(name="purge-expired", retries=2, retry_delay_seconds=30, cache_policy=NO_CACHE)
def purge_expired(db: str, config: str | None, allow_unencrypted: bool) -> dict[str, int]:
    from pipelines.retention import purge
    from pipelines.warehouse import compact_warehouse, open_warehouse

    settings = load_settings(config)
    with open_warehouse(db, allow_unencrypted=allow_unencrypted, must_exist=True) as wh:
        summary = purge(wh, settings.retention, dt.date.today())
    compact_warehouse(db)  # deleted rows leave the file only when it is rewritten
    return dict(summary.counts)


@flow(name="scheduled-week", validate_parameters=False)
def scheduled_week(
    extracts: str,
    mapping: str,
    db: str,
    out: str,
    report: str,
    config: str | None = None,
    allow_unencrypted: bool = False,
) -> WeeklyResult:
    """The Monday job: the weekly review, then the managers' report, then the retention purge."""
    result = weekly_review(extracts, mapping, None, db, out, config, allow_unencrypted)
    monitoring_report(db, report, 12, config, allow_unencrypted)
    purge_expired(db, config, allow_unencrypted)
    return result


def deployment_parameters(args: argparse.Namespace) -> dict[str, Any]:
    if not args.extracts or not args.mapping:
        raise UserError(
            "serve needs --extracts and --mapping: the folder the weekly exports arrive in, and its mapping"
        )
    for label, value, want_dir in (
        ("extracts folder", args.extracts, True),
        ("mapping file", args.mapping, False),
    ):
        path = Path(value)
        if (want_dir and not path.is_dir()) or (not want_dir and not path.is_file()):
            raise UserError(f"the {label} {path} does not exist")
    return {
        "extracts": str(Path(args.extracts).resolve()),
        "mapping": str(Path(args.mapping).resolve()),
        "db": str(Path(args.db).resolve()),
        "out": str(Path(args.out).resolve()),
        "report": str(Path(args.report).resolve()),
        "config": str(Path(args.config).resolve()) if args.config else None,
        "allow_unencrypted": bool(args.allow_unencrypted),
    }


def main(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    parameters = deployment_parameters(args)
    schedule = weekly_schedule(settings.schedule.cron, settings.schedule.timezone)
    scheduled_week.serve(name="weekly", schedules=[schedule], parameters=parameters)
    return 0
