"""``redflags serve``: run the weekly flow on its schedule (Monday 06:00 Europe/London by default).

``prefect.yaml`` at the repository root deploys the same flow to a process work pool instead.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipelines.errors import UserError
from pipelines.settings import load_settings


def weekly_schedule(cron: str, timezone: str) -> Any:
    from prefect.schedules import Cron

    # A bare cron string would run in UTC; the landlord's week is in local time.
    return Cron(cron, timezone=timezone)


def deployment_parameters(args: argparse.Namespace) -> dict[str, Any]:
    if not args.extracts or not args.mapping:
        raise UserError("serve needs --extracts and --mapping: the folder the weekly exports arrive in, and its mapping")
    for label, value, want_dir in (("extracts folder", args.extracts, True), ("mapping file", args.mapping, False)):
        path = Path(value)
        if (want_dir and not path.is_dir()) or (not want_dir and not path.is_file()):
            raise UserError(f"the {label} {path} does not exist")
    return {
        "extracts": str(Path(args.extracts).resolve()),
        "mapping": str(Path(args.mapping).resolve()),
        "as_of": None,  # each run scores the week that ended on the Sunday before it
        "db": str(Path(args.db).resolve()),
        "out": str(Path(args.out).resolve()),
        "config": str(Path(args.config).resolve()) if args.config else None,
        "allow_unencrypted": bool(args.allow_unencrypted),
    }


def main(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    parameters = deployment_parameters(args)
    from pipelines.weekly_review import weekly_review

    schedule = weekly_schedule(settings.schedule.cron, settings.schedule.timezone)
    weekly_review.serve(name="weekly", schedules=[schedule], parameters=parameters)
    return 0
