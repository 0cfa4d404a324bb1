"""Shared-service benchmark (issue 23): many landlords through flow ``many-landlords``, on a local Dask cluster of
worker processes against one landlord after another in one process.

    .venv/bin/python benchmarks/bench_many_landlords.py                           # 8 x 20,000 homes, 3 runs each
    .venv/bin/python benchmarks/bench_many_landlords.py --landlords 4 --homes 2000 --runs 1   # a quick look

Data: ``--landlords`` synthetic landlords of ``--homes`` homes each (``pipelines/synth/standard.py``, five years of
repairs and two of weekly rent, as of 2025-06-29, seeds 1..N), generated once into ``--workdir`` and reused by
later invocations with the same sizes (a ``generated.json`` records them).

What is measured, each run its own process (``--step``), the two modes taking turns:

- **sequential**: ``many-landlords`` on a thread pool of one thread: every landlord's backfill (a fresh encrypted
  warehouse: ingest every file, score, publish the week) one after another, DuckDB on every core;
- **dask**: a ``LocalCluster`` of ``--workers`` worker processes of one thread each (``processes=True``) is
  started and each worker imports the pipeline (``start s``, reported apart, as a standing cluster of a
  deployment would have done it long before), then ``many-landlords`` runs on ``dask_task_runner(address=...)``
  with ``duckdb_threads = cores / workers``, so two workers do not oversubscribe the cores. Each landlord's
  key is in its own environment variable, read inside the worker.

Wall time is the flow call (Prefect's temporary API server, ``prefect_test_harness``, is started before it and not
timed). ``speed-up`` = sequential wall / dask wall, per pair of runs, median; also with the cluster's start-up
added. Peak memory is the peak RSS (``ru_maxrss``) of the sequential process and of each Dask worker process
(its whole life: imports and every landlord it ran). CPU seconds (user + system) of the work are recorded too:
on a machine shared with other users, wall time stretches while CPU time does not, so the CPU column says how
much the load distorted a run. The load average is recorded before and after each run.

Each run's published review lists are hashed; the benchmark fails if a Dask run's lists differ from the
sequential runs' (``review_list.csv`` of every landlord, byte for byte).

Results: ``benchmarks/results/many_landlords.csv`` (one row per run) and ``benchmarks/results/many_landlords.md``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

AS_OF = dt.date(2025, 6, 29)
RESULTS = Path(__file__).resolve().parent / "results"
MODES = ("sequential", "dask")


def _key_env(i: int) -> str:
    return f"BENCH_LANDLORD_{i}_KEY"


def _names(landlords: int) -> list[str]:
    return [f"landlord{i:02d}" for i in range(1, landlords + 1)]


# ------------------------------------------------------------------------------------------------------------
# Data, generated once


def _generate_one(folder: str, homes: int, seed: int) -> int:
    from pipelines.synth.standard import write_landlord

    summary = write_landlord(Path(folder), homes=homes, years=5, seed=seed, as_of=AS_OF, rent_years=2)
    return sum(summary.rows.values())


def generate(work: Path, landlords: int, homes: int) -> float:
    """Write the landlords' extracts under ``work/extracts`` unless the same sizes are already there."""
    marker = work / "generated.json"
    wanted = {"landlords": landlords, "homes": homes, "as_of": AS_OF.isoformat(), "years": 5, "rent_years": 2}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return 0.0
    shutil.rmtree(work / "extracts", ignore_errors=True)
    started = time.perf_counter()
    folders = [str(work / "extracts" / name) for name in _names(landlords)]
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_generate_one, folders, [homes] * landlords, range(1, landlords + 1)))
    marker.write_text(json.dumps(wanted))
    return time.perf_counter() - started


# ------------------------------------------------------------------------------------------------------------
# One measured run (a child process)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _warm() -> None:
    """Import what a landlord's run imports, in whichever process will run landlords (the sequential run's own
    process, each Dask worker), before its CPU is counted: a standing process pays this once, not per week.
    Several are imported lazily by the pipeline (Great Expectations at the first validation, scikit-learn at the
    first scoring, Prefect's task engine at the first task), so importing the pipeline's modules is not enough."""
    import great_expectations  # noqa: F401
    import prefect.task_engine  # noqa: F401
    import sklearn.ensemble
    import sklearn.linear_model  # noqa: F401

    import pipelines.flows.many_landlords
    import pipelines.ingest.validation  # noqa: F401


def _worker_ready() -> dict[str, float]:
    """Run in each Dask worker: warm it (``_warm``), then report the process's figures."""
    _warm()
    return {"cpu": _cpu_seconds(), "peak_mib": _peak_mib()}


def _worker_figures() -> dict[str, float]:
    return {"cpu": _cpu_seconds(), "peak_mib": _peak_mib()}


def _lists_digest(run_dir: Path, names: list[str]) -> str:
    digest = hashlib.sha256()
    for name in names:
        digest.update((run_dir / name / "out" / AS_OF.isoformat() / "review_list.csv").read_bytes())
    return digest.hexdigest()[:16]


def step_run(mode: str, work: Path, landlords: int, workers: int) -> dict[str, Any]:
    run_dir = work / f"run-{mode}-{os.getpid()}"
    run_dir.mkdir(parents=True)
    os.environ["PREFECT_HOME"] = str(run_dir / "prefect")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.pop("REDFLAGS_DB_KEY", None)
    names = _names(landlords)
    # Each landlord's key in its own variable (the workers, started from this process, inherit them).
    for i, _ in enumerate(names, start=1):
        os.environ[_key_env(i)] = f"bench-key-{i}-not-secret"

    imported = time.perf_counter()
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect.testing.utilities import prefect_test_harness

    from pipelines.flows.many_landlords import (
        LandlordJob,
        dask_task_runner,
        many_landlords,
        worker_environment,
    )

    _warm()

    imports = time.perf_counter() - imported

    jobs = []
    for i, name in enumerate(names, start=1):
        (run_dir / name).mkdir()
        extracts = work / "extracts" / name
        jobs.append(
            LandlordJob(
                name=name,
                extracts=extracts,
                mapping=extracts / "mapping.yaml",
                db=run_dir / name / "rf.duckdb",
                out=run_dir / name / "out",
                key_env=_key_env(i),
            )
        )

    row: dict[str, Any] = {"mode": mode, "imports": round(imports, 2), "load_before": os.getloadavg()[0]}
    with (
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        if mode == "sequential":
            cpu0 = _cpu_seconds()
            started = time.perf_counter()
            results = many_landlords.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))(
                jobs, AS_OF
            )
            row["wall"] = time.perf_counter() - started
            row["start"] = 0.0
            row["cpu"] = _cpu_seconds() - cpu0
            row["peak_mib"] = [round(_peak_mib())]
        else:
            import distributed

            started = time.perf_counter()
            cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                memory_limit=None,  # measured, not capped: a cap would make Dask pause or restart a worker
                env=worker_environment(workers),  # as dask_task_runner's local cluster sets it
            )
            with cluster, distributed.Client(cluster) as client:
                before = client.run(_worker_ready)
                row["start"] = time.perf_counter() - started
                threads = max(1, (os.cpu_count() or 1) // workers)
                runner = dask_task_runner(address=cluster.scheduler_address)
                cpu0 = _cpu_seconds()
                flow_started = time.perf_counter()
                results = many_landlords.with_options(task_runner=runner)(jobs, AS_OF, duckdb_threads=threads)
                row["wall"] = time.perf_counter() - flow_started
                after = client.run(_worker_figures)
                # The workers' work plus this process's (Prefect's orchestration), as the sequential run counts it.
                row["cpu"] = _cpu_seconds() - cpu0 + sum(after[w]["cpu"] - before[w]["cpu"] for w in after)
            row["peak_mib"] = sorted(round(after[w]["peak_mib"]) for w in after)
    row["load_after"] = os.getloadavg()[0]
    row["files_failed"] = sum(r.files_failed for r in results.values())
    row["listed"] = sum(r.listed for r in results.values())
    row["lists"] = _lists_digest(run_dir, names)
    shutil.rmtree(run_dir, ignore_errors=True)
    return row


# ------------------------------------------------------------------------------------------------------------
# The driver


def _child(mode: str, work: Path, landlords: int, workers: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--step", mode, str(work), str(landlords), str(workers)]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"the {mode} run failed (exit {done.returncode})")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in rows)


def report(rows: list[dict[str, Any]], landlords: int, homes: int, workers: int, runs: int) -> str:
    seq = [r for r in rows if r["mode"] == "sequential"]
    dask = [r for r in rows if r["mode"] == "dask"]
    pairs = list(zip(seq, dask, strict=True))
    speedup = statistics.median(s["wall"] / d["wall"] for s, d in pairs)
    speedup_cold = statistics.median(s["wall"] / (d["wall"] + d["start"]) for s, d in pairs)
    worker_peak = max(max(r["peak_mib"]) for r in dask)
    loads = [r["load_before"] for r in rows] + [r["load_after"] for r in rows]
    lines = [
        f"# many-landlords: {landlords} landlords x {homes:,} homes, {workers} Dask worker processes vs sequential",
        "",
        f"{dt.date.today():%d %B %Y}, {platform.machine()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}; {runs} run(s) per mode, medians; each run a fresh warehouse per landlord "
        "(backfill: ingest every file, score, publish).",
        "",
        "| mode | wall s | + cluster start s | CPU s | peak RSS per process MiB | load avg (1 min) |",
        "|---|---|---|---|---|---|",
    ]
    for name, group in (("sequential", seq), (f"dask, {workers} workers", dask)):
        peaks = [max(r["peak_mib"]) for r in group]
        lines.append(
            f"| {name} | {_median(group, 'wall'):.1f} | {_median(group, 'start'):.1f} | "
            f"{_median(group, 'cpu'):.0f} | {statistics.median(peaks):.0f} (max {max(peaks):.0f}) | "
            f"{min(r['load_before'] for r in group):.1f}-{max(r['load_after'] for r in group):.1f} |"
        )
    lines += [
        "",
        f"- Speed-up (sequential wall / Dask wall, median of pairs): **{speedup:.2f}x**; with the cluster's "
        f"start-up (worker processes and their imports) counted: {speedup_cold:.2f}x.",
        f"- Peak RSS of a Dask worker: {worker_peak / 1024:.2f} GiB (largest over all runs).",
        f"- Load average while measuring: {min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} cores "
        "(other users' work included: wall times stretch with it, CPU seconds do not).",
        f"- Lists identical in every run (sha256 of every landlord's review_list.csv): {rows[0]['lists']}.",
        "- A speed-up is only meaningful on a machine the runs have to themselves; with a load average above the",
        "  core count, compare CPU seconds (the cost of running on workers) and peak memory instead.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--landlords", type=int, default=8)
    parser.add_argument("--homes", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3, help="runs per mode (taking turns)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rrf-bench-many"))
    parser.add_argument("--no-save", action="store_true", help="print only; leave benchmarks/results alone")
    parser.add_argument(
        "--from-csv",
        action="store_true",
        help="rewrite results/many_landlords.md from the rows already measured",
    )
    parser.add_argument("--step", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.from_csv:
        rows = _read_csv()
        text = report(rows, rows[0]["landlords"], rows[0]["homes"], rows[0]["workers"], len(rows) // 2)
        (RESULTS / "many_landlords.md").write_text(text)
        print(text)
        return
    if args.step:
        mode, work, landlords, workers = args.step
        sys.stdout.write(json.dumps(step_run(mode, Path(work), int(landlords), int(workers))) + "\n")
        return

    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    seconds = generate(work, args.landlords, args.homes)
    print(
        f"data: {args.landlords} x {args.homes:,} homes in {work}"
        + (f" ({seconds:.0f} s)" if seconds else "")
    )
    rows: list[dict[str, Any]] = []
    for run in range(args.runs):
        # Taking turns (and starting with the other mode every other run) spreads the machine's varying load.
        for mode in MODES if run % 2 == 0 else tuple(reversed(MODES)):
            row = _child(mode, work, args.landlords, args.workers)
            row.update(run=run + 1, landlords=args.landlords, homes=args.homes, workers=args.workers)
            rows.append(row)
            print(
                f"run {run + 1} {mode:10s} wall {row['wall']:6.1f} s  start {row['start']:4.1f} s  "
                f"cpu {row['cpu']:6.1f} s  peak {row['peak_mib']} MiB  load {row['load_before']:.1f}"
                f"->{row['load_after']:.1f}  lists {row['lists']}",
                flush=True,
            )
            if not args.no_save:
                _append_csv(row)
    if len({r["lists"] for r in rows}) != 1 or any(r["files_failed"] for r in rows):
        raise SystemExit(
            "the runs' lists differ (or a file failed): the Dask run does not match sequential runs"
        )
    text = report(rows, args.landlords, args.homes, args.workers, args.runs)
    print(text)
    if not args.no_save:
        (RESULTS / "many_landlords.md").write_text(text)


def _read_csv() -> list[dict[str, Any]]:
    """The measured rows, complete pairs only (a run stopped half-way leaves one mode without its partner)."""
    with (RESULTS / "many_landlords.csv").open(newline="") as handle:
        rows: list[dict[str, Any]] = []
        for raw in csv.DictReader(handle):
            row: dict[str, Any] = dict(raw)
            for key in ("wall", "start", "cpu", "load_before", "load_after"):
                row[key] = float(row[key])
            for key in ("landlords", "homes", "workers", "listed", "run"):
                row[key] = int(row[key])
            row["peak_mib"] = json.loads(row["peak_mib"])
            rows.append(row)
    modes = {(r["run"], r["mode"]) for r in rows}
    return [r for r in rows if {(r["run"], m) for m in MODES} <= modes]


def _append_csv(row: dict[str, Any]) -> None:
    """One row per run, written as it finishes (a long benchmark stopped half-way keeps what it measured)."""
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / "many_landlords.csv"
    new = not target.exists()
    fields = ["date", "run", "mode", "landlords", "homes", "workers", "wall", "start", "cpu"]
    fields += ["peak_mib", "imports", "load_before", "load_after", "listed", "lists"]
    with target.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow({**row, "date": dt.date.today().isoformat()})


if __name__ == "__main__":
    main()
