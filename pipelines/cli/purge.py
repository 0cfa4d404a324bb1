"""``redflags purge``: delete what the retention settings say has expired."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from pipelines.core.errors import UserError
from pipelines.core.settings import load_settings
from pipelines.ops.retention import purge
from pipelines.warehouse.connection import compact_warehouse, open_warehouse


def main(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    actual_today = dt.date.today()
    today = args.today or actual_today
    if today > actual_today:
        raise UserError(f"--today {today.isoformat()} is in the future: a purge never runs ahead of time")
    wh = open_warehouse(args.db, allow_unencrypted=args.allow_unencrypted, must_exist=True)
    try:
        summary = purge(wh, settings.retention, today)
    finally:
        wh.close()
    compact_warehouse(args.db)
    out = sys.stdout
    out.write(f"Purged as of {today.isoformat()} (database rewritten so removed data leaves the file):\n")
    for name, count in summary.counts.items():
        verb = "values blanked" if name.endswith("_enc") else "rows deleted"
        out.write(f"  {name}: {count:,} {verb}\n")
    return 0
