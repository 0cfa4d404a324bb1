"""``redflags ingest``: load new extract files only (no scoring); non-zero if any file could not be loaded."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.core.errors import UserError
from pipelines.core.progress import get_progress
from pipelines.ingest.loading import IngestSummary


def main(args: argparse.Namespace) -> int:
    """``redflags ingest``: exits non-zero, after loading the other files, if any file could not be loaded."""
    from pipelines.flows.ingest import ingest_extracts
    from pipelines.flows.weekly_review import preflight

    # a missing folder, a bad mapping or a database that will not open: one sentence before Prefect starts
    preflight(
        Path(args.extracts),
        Path(args.mapping),
        getattr(args, "config", None),
        Path(args.db),
        bool(getattr(args, "allow_unencrypted", False)),
    )
    summary: IngestSummary = ingest_extracts(
        extracts=args.extracts,
        mapping=args.mapping,
        db=args.db,
        out=getattr(args, "out", None),
        allow_unencrypted=bool(getattr(args, "allow_unencrypted", False)),
        config=getattr(args, "config", None),
    )
    progress = get_progress()
    for message in summary.row_messages[:20]:
        progress.say(f"  quarantined: {message}")
    if summary.failures:
        for message in summary.failures:
            progress.say(f"  not loaded: {message}")
        raise UserError(f"{summary.files_failed} file(s) not loaded; the first: {summary.failures[0]}")
    return 0
