"""``redflags report``: the managers' monitoring report (HTML and CSV, aggregates only), from the command
line: the namespace becomes plain arguments for ``build_report_from_database``."""

from __future__ import annotations

import argparse

from pipelines.core.settings import load_settings
from pipelines.report.build import build_report_from_database


def main(args: argparse.Namespace) -> int:
    paths = build_report_from_database(
        args.db,
        load_settings(args.config),
        args.out,
        args.weeks,
        getattr(args, "as_of", None),
        allow_unencrypted=args.allow_unencrypted,
    )
    print(f"Monitoring report: {paths.html}")
    described = f"{len(paths.csv)} files, described in {paths.columns.name}"
    print(f"Tables as CSV ({described}): {paths.out_dir}")
    return 0
