"""``redflags outcomes import`` and ``redflags history``: reviewers' outcomes in, one household's story out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.core.errors import UserError
from pipelines.outcomes.history import format_history, household_history
from pipelines.outcomes.records import ImportResult, OutcomesError, import_outcomes, os_user
from pipelines.warehouse.audit import record_event
from pipelines.warehouse.connection import open_warehouse
from pipelines.warehouse.references import pseudonymise


def main_import(args: argparse.Namespace) -> int:
    from pipelines.core.settings import load_settings

    settings = load_settings(getattr(args, "config", None))
    path = Path(args.file)
    wh = open_warehouse(args.db, allow_unencrypted=args.allow_unencrypted, must_exist=True)
    try:
        result = import_outcomes(wh, path, values=settings.outcomes.values)
    finally:
        wh.close()
    print_import_summary(result, path)
    if result.problems:
        raise OutcomesError(result.problems, result.rows_rejected)
    return 0


def main_history(args: argparse.Namespace) -> int:
    wh = open_warehouse(args.db, allow_unencrypted=args.allow_unencrypted, must_exist=True)
    try:
        history = household_history(wh, args.tenancy_ref)
        # Who looked at whose record is itself recorded (information is shared on a need-to-know basis).
        record_event(
            wh.con,
            cipher=wh.cipher,
            actor=os_user(),
            action="history_viewed",
            tenancy_ref=pseudonymise(wh.cipher, [args.tenancy_ref])[0],
            detail={
                "found": not history.is_empty,
                "listings": history.listings.height,
                "outcomes": history.outcomes.height,
            },
        )
    finally:
        wh.close()
    if history.is_empty:
        raise UserError(
            "no published list or outcome mentions that tenancy reference; check it and try again"
        )
    sys.stdout.write(format_history(history))
    return 0


def print_import_summary(result: ImportResult, path: Path) -> None:
    out = sys.stdout
    out.write(f"{path.name}: {result.applied_total} outcome(s) recorded")
    if result.applied:
        out.write(" (" + ", ".join(f"{k} {v}" for k, v in sorted(result.applied.items())) + ")")
    out.write(".\n")
    if result.corrections:
        out.write(f"{result.corrections} of them change an earlier outcome; both are kept (a correction).\n")
    if result.already_recorded:
        out.write(
            f"{result.already_recorded} row(s) were already recorded by an earlier import: skipped, so "
            "importing a corrected file again adds only what was missing.\n"
        )
    if result.rows_rejected:
        out.write(
            f"{result.rows_rejected} row(s) had problems and were NOT recorded (listed below); fix them and "
            "import the file again.\n"
        )
    out.write(f"{result.rows_without_outcome} row(s) had no outcome and were left out (not reviewed yet).\n")
    if result.rows_half_filled:
        out.write(
            f"Note: {result.rows_half_filled} of those have a reviewer or rationale but no outcome; fill the "
            "outcome and import again if they were reviewed.\n"
        )
    if result.already_known_rows:
        out.write(
            f"{len(result.already_known_rows)} household(s) marked already_known: add the known-case marker "
            "in your housing system, so the next known_cases extract carries it:\n"
        )
        for where in result.already_known_rows:
            out.write(f"  {where}\n")
