"""``redflags classify``: add red-flag categories (and evidence) to a CSV of repair texts."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.core.errors import UserError
from pipelines.core.settings import load_settings
from pipelines.core.spreadsheets import write_csv
from pipelines.ingest.classifier import classifier_from_settings, log, read_csv_text


def main(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    classify = classifier_from_settings(settings.classification)
    source = Path(args.input)
    frame = read_csv_text(source)
    for column in [args.column] + ([args.code_column] if args.code_column else []):
        if column not in frame.columns:
            raise UserError(
                f"{source}: no column '{column}' (the columns are: {', '.join(frame.columns) or 'none'})"
            )
    codes = frame[args.code_column] if args.code_column else None
    result = classify(frame[args.column], codes)
    added = [
        result["categories"].list.join(";").alias("categories"),
        result["location"].alias("location"),
    ]
    if args.evidence:
        added.append(result["evidence"].alias("evidence"))
    clashes = [s.name for s in added if s.name in frame.columns]
    out = frame.drop(clashes).with_columns(added)
    target = Path(args.out)
    try:
        write_csv(out, target)  # formula-safe cells, owner-only file
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror}") from None
    flagged = int((result["categories"].list.len() > 0).sum())
    log.info("classified %d rows, %d with a red flag; written to %s", out.height, flagged, target)
    return 0
