"""``redflags many``: the weekly review for every landlord of a landlords file, side by side (flow
``partnership-week`` → ``many-landlords``), on threads in this process or on Dask worker processes
(docs/scaling.md)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from pipelines.flows.many_landlords import LandlordFailed, api_for_workers, load_landlords, partnership_week
from pipelines.flows.weekly_review import WeeklyResult, quiet_prefect


def main(args: argparse.Namespace) -> int:
    path = Path(args.landlords)
    jobs = load_landlords(path)  # a bad file is one sentence before Prefect starts
    api: Any = api_for_workers() if args.scheduler or args.workers else contextlib.nullcontext()
    with quiet_prefect(), api:
        state = partnership_week(
            str(path),
            args.as_of,
            scheduler=args.scheduler,
            workers=args.workers,
            worker_memory=args.worker_memory,
            duckdb_threads=args.duckdb_threads,
            return_state=True,
        )
    results = state.result(raise_on_failure=False)  # type: ignore[attr-defined]
    if isinstance(results, BaseException):  # the flow itself failed, not one landlord
        raise results
    out = sys.stdout
    out.write(f"{len(results)} landlord(s):\n")
    for job in jobs:
        result = results[job.name]
        if isinstance(result, LandlordFailed):
            out.write(f"  {job.name}: FAILED: {result.reason}\n")
            continue
        out.write(
            f"  {job.name}: listed {result.listed}, carried forward {sum(result.carried.values())}, "
            f"{result.files_loaded} new file(s), {result.files_failed} failed; {result.folder}\n"
        )
        for failure in result.failures:
            out.write(f"    FAILED: {failure}\n")
        for warning in result.warnings:
            out.write(f"    WARNING: {warning}\n")
    failed = [r for r in results.values() if isinstance(r, LandlordFailed)]
    if failed:
        out.write(f"{len(failed)} of {len(results)} landlord(s) did not finish: see FAILED above.\n")
    return 1 if failed or any(r.files_failed for r in results.values() if isinstance(r, WeeklyResult)) else 0
