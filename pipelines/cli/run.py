"""``redflags run``: the weekly review for one week (ingest, score, publish), then its summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.core.progress import get_progress
from pipelines.flows.weekly_review import WeeklyResult, preflight, quiet_prefect, weekly_review


def main(args: argparse.Namespace) -> int:
    extracts = None if args.skip_ingest else Path(args.extracts)
    mapping = Path(args.mapping)
    preflight(
        extracts, None if extracts is None else mapping, args.config, Path(args.db), args.allow_unencrypted
    )
    progress = get_progress()
    progress.say(f"Weekly review for the week ending {args.as_of:%d %B %Y}")
    with quiet_prefect():
        result = weekly_review(
            extracts,
            mapping,
            args.as_of,
            Path(args.db),
            Path(args.out),
            Path(args.config) if args.config else None,
            args.allow_unencrypted,
        )
    print_summary(result)
    return 1 if result.files_failed or (getattr(args, "strict", False) and result.warnings) else 0


def print_summary(result: WeeklyResult) -> None:
    out = sys.stdout
    if result.files_loaded or result.files_failed:
        out.write(
            f"Loaded {result.files_loaded} new file(s); {result.rows_quarantined} row(s) quarantined.\n"
        )
    for failure in result.failures:
        out.write(f"  FAILED: {failure}\n")
    for name in result.unmatched:
        out.write(
            f"  NOT LOADED: {name}: no extract of the mapping matches its name (the mapping's `files`)\n"
        )
    carried = sum(result.carried.values())
    out.write(f"Listed {result.listed} household(s) for review; {carried} carried forward beyond capacity.\n")
    out.write(
        f"Waiting (carried_forward.csv): {carried} household(s), {result.waiting_weeks_2plus} of them for 2+ weeks.\n"
    )
    out.write(
        f"Review list: {Path(result.folder) / 'review_list.xlsx'} (and review_list.csv; one folder per team)\n"
    )
    if getattr(result, "learning", ""):
        out.write(f"{result.learning}\n")
    if result.knowledge:
        out.write("Extracts used (knowledge time):\n")
        for line in result.knowledge:
            out.write(f"  {line}\n")
    for warning in result.warnings:
        out.write(f"WARNING: {warning}\n")
    if result.files_failed:
        out.write(f"{result.files_failed} file(s) could not be loaded: fix them and run again.\n")
