"""``redflags many``: the weekly review for every landlord of a landlords file, side by side (flow
``many-landlords``), on threads in this process or on Dask worker processes (docs/scaling.md)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

from pipelines.core.weeks import last_sunday
from pipelines.flows.many_landlords import api_for_workers, dask_task_runner, load_landlords, many_landlords
from pipelines.flows.weekly_review import quiet_prefect


def main(args: argparse.Namespace) -> int:
    jobs = load_landlords(Path(args.landlords))
    as_of = args.as_of or last_sunday(dt.date.today())
    flow: Any = many_landlords
    threads = args.duckdb_threads
    api: Any = contextlib.nullcontext()
    if args.scheduler or args.workers:
        api = api_for_workers()
        flow = many_landlords.with_options(
            task_runner=dask_task_runner(
                address=args.scheduler, workers=args.workers or 2, memory_limit=args.worker_memory
            )
        )
        if threads is None and not args.scheduler:
            # Local workers share this machine's cores: each landlord's queries get its worker's share.
            threads = max(1, (os.cpu_count() or 1) // (args.workers or 2))
    with quiet_prefect(), api:
        results = flow(jobs, as_of, duckdb_threads=threads)
    out = sys.stdout
    out.write(f"Week ending {as_of:%d %B %Y}: {len(results)} landlord(s)\n")
    for job in jobs:
        result = results[job.name]
        out.write(
            f"  {job.name}: listed {result.listed}, carried forward {sum(result.carried.values())}, "
            f"{result.files_loaded} new file(s), {result.files_failed} failed; {result.folder}\n"
        )
        for warning in result.warnings:
            out.write(f"    WARNING: {warning}\n")
    return 1 if any(r.files_failed for r in results.values()) else 0
