"""Scale benchmark (issue 9): backfill, weekly incremental run, memory and stages at 20k, 80k and 160k homes.

    .venv/bin/python benchmarks/bench_scale.py                      # everything, about 25-35 min on 2 cores
    .venv/bin/python benchmarks/bench_scale.py --homes 20000 --runs 1   # a quick look

For each landlord size (five years of repairs, two years of weekly rent snapshots, as of 2025-06-29):

- **bare**: DuckDB's own scan of the same files, one ``read_csv`` per extract into an on-disk table (the floor
  for ingest: no encryption, no validation, types sniffed, no ``union_by_name``);
- **backfill**: a fresh warehouse, ``ingest_folder`` over every file, then ``score_week`` and the publishing of
  the latest week (the steps of flow ``weekly-review``, called as plain functions so Prefect's start-up is not
  timed);
- **incremental**: the warehouse loaded with every week but the last (copied from a prepared one, not timed),
  then the last week's files arrive: ``ingest_folder`` over the whole folder (old files skipped by sha256),
  score, publish;
- **features** (20k only): the SQL models (staging + intermediate + marts) against a naive pandas version of the
  same household features (``benchmarks/naive_pandas_features.py``), on the same warehouse.

Every measured run is its own process; its peak memory is that process's max RSS. Medians of ``--runs`` runs
(``--runs-largest`` for 80k and 160k, where one run takes minutes). Results: ``benchmarks/results/scale.csv``
(one row per run) and ``benchmarks/results/latest.md`` (the table for the README). Generated data lives under
``--workdir`` and is deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

AS_OF = dt.date(2025, 6, 29)
RESULTS = Path(__file__).resolve().parent / "results"
STAGES = (
    "hash",
    "read",
    "convert",
    "validate",
    "classify_hash",
    "insert",
    "checkpoint",
    "features",
    "score",
    "publish",
)
_NAME_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
KEPT: list[
    str
] = []  # what the weekly run's kept rent trajectories did ("full: ..." / "incremental: n tenancies")
KEPT_REPAIRS: list[str] = []  # and its kept repairs ("full: ..." / "incremental: n jobs")
MODEL_CPU: dict[str, float] = {}  # CPU seconds (user + system, DuckDB's threads included) per model


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process so far: what a run cost, whatever its neighbours did."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _key() -> None:
    os.environ.setdefault("REDFLAGS_DB_KEY", "benchmark-key-not-secret")


# ------------------------------------------------------------------------------------------------------------
# Steps, each run in a child process (``--step``)


def step_generate(work: Path, homes: int) -> dict[str, Any]:
    from pipelines.synth.standard import write_landlord

    started = time.perf_counter()
    summary = write_landlord(work / "extracts", homes=homes, years=5, seed=1, as_of=AS_OF, rent_years=2)
    # The history without its last weekly drop: what the warehouse held before the incremental week.
    files = [p for p in (work / "extracts").rglob("*") if p.is_file() and p.suffix == ".csv"]
    last = max(m.group(0) for p in files if (m := _NAME_DATE.search(p.name)))
    hist = work / "history"
    shutil.rmtree(hist, ignore_errors=True)
    for p in files:
        if last not in p.name:
            target = hist / p.relative_to(work / "extracts")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(p)
    shutil.copy(work / "extracts" / "mapping.yaml", hist / "mapping.yaml")
    new = [str(p.relative_to(work / "extracts")) for p in files if last in p.name]
    return {
        "seconds": time.perf_counter() - started,
        "rows": summary.rows,
        "last_week": last,
        "new_files": new,
    }


def step_bare(work: Path) -> dict[str, Any]:
    imported = time.perf_counter()
    import duckdb

    from pipelines.ingest.files import resolve_files
    from pipelines.ingest.mapping import load_mapping

    imports = time.perf_counter() - imported

    folder = work / "extracts"
    mapping = load_mapping(folder / "mapping.yaml")
    db = work / "bare.duckdb"
    db.unlink(missing_ok=True)
    started, cpu = time.perf_counter(), _cpu_s()
    con = duckdb.connect(str(db))
    rows = 0
    for name, spec in mapping.extracts.items():
        files = [str(p) for p in resolve_files(folder, spec.files)]
        if files:
            con.execute(
                f"create table bare_{name} as select * from read_csv($f, header = true)", {"f": files}
            )
            rows += con.sql(f"select count(*) from bare_{name}").fetchall()[0][0]
    con.execute("checkpoint")
    con.close()
    seconds = time.perf_counter() - started
    db.unlink()
    return {
        "seconds": seconds,
        "cpu_s": _cpu_s() - cpu,
        "rows": rows,
        "peak_mib": _peak_mib(),
        "imports": imports,
    }


def _timed_models() -> dict[str, float]:
    """Time each SQL model score_week materialises (wrapping the function it calls; nothing is edited)."""
    import pipelines.scoring.week as scoring_week

    timings: dict[str, float] = {}
    original = scoring_week.materialise_model

    def timed(con: Any, name: str, params: Any = None, **kwargs: Any) -> str:
        started, cpu = time.perf_counter(), _cpu_s()
        try:
            return original(con, name, params, **kwargs)
        finally:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
            MODEL_CPU[name] = MODEL_CPU.get(name, 0.0) + _cpu_s() - cpu

    scoring_week.materialise_model = timed  # type: ignore[assignment]

    def timed_kept(function: str, model: str, said: list[str]) -> None:
        """Time the weekly run's kept rows (issue 23) as the model they stand for; keep what each run did."""
        kept = getattr(scoring_week.incremental_weeks, function)

        def wrapped(con: Any, params: Any, fingerprint: str) -> str:
            started, cpu = time.perf_counter(), _cpu_s()
            try:
                done: str = kept(con, params, fingerprint)
                said.append(done)
                return done
            finally:
                timings[model] = timings.get(model, 0.0) + time.perf_counter() - started
                MODEL_CPU[model] = MODEL_CPU.get(model, 0.0) + _cpu_s() - cpu

        setattr(scoring_week.incremental_weeks, function, wrapped)

    timed_kept("rent_trajectory", "intermediate/rent__trajectory", KEPT)
    # stg_repairs__known, which the kept repairs stand for too, is then not run as such
    timed_kept("stg_repairs", "staging/stg_repairs", KEPT_REPAIRS)
    return timings


def step_week(work: Path, folder: str, db_name: str, base: str | None) -> dict[str, Any]:
    """Ingest ``folder`` into ``db_name`` (a copy of ``base`` when given), score and publish the week."""
    _key()
    if base:
        shutil.copy(work / base, work / db_name)
    else:
        (work / db_name).unlink(missing_ok=True)
    # Process start, outside every timing (as ``import duckdb`` is outside the bare scan's): the pipeline's
    # modules, Great Expectations among them (``pipelines.ingest.validation``), reported as ``imports``.
    imported = time.perf_counter()
    # Both measured runs load new files, so both validate them: Great Expectations (imported on first use since
    # issue 23, so that a run with no new files never pays it) is imported here, at process start, as before.
    import great_expectations  # noqa: F401

    from pipelines.core.settings import load_settings
    from pipelines.flows.weekly_review import _publish
    from pipelines.ingest.classifier import classifier_from_settings
    from pipelines.ingest.folder import ingest_folder
    from pipelines.ingest.mapping import load_mapping
    from pipelines.scoring.week import score_week
    from pipelines.warehouse.connection import open_warehouse
    from pipelines.warehouse.runs import finish_run, start_run

    imports = time.perf_counter() - imported
    model_times = _timed_models()
    out = work / f"out-{db_name}"
    shutil.rmtree(out, ignore_errors=True)
    started, cpu = time.perf_counter(), _cpu_s()
    settings = load_settings()
    wh = open_warehouse(work / db_name)
    run_id = start_run(wh.con, "weekly-review", AS_OF)
    classify = classifier_from_settings(settings.classification)
    mapping = load_mapping(work / folder / "mapping.yaml")
    t0 = time.perf_counter()
    summary = ingest_folder(wh, work / folder, mapping, classify=classify, out_dir=out, today=AS_OF)
    t1 = time.perf_counter()
    week = score_week(
        wh.con, settings, AS_OF, incremental=True, cipher=wh.cipher
    )  # as the weekly flow scores
    t2 = time.perf_counter()
    _publish(wh, week, settings, AS_OF, out, run_id)
    finish_run(wh.con, run_id, "ok")
    wh.close()
    t3 = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    features = sum(model_times.values())
    stages = {k: round(v, 2) for k, v in summary.timings.items()}
    stages.update(features=round(features, 2), score=round(t2 - t1 - features, 2), publish=round(t3 - t2, 2))
    return {
        "seconds": t3 - started,
        "cpu_s": _cpu_s() - cpu,
        "imports": imports,
        "setup": t0 - started,
        "ingest": t1 - t0,
        "score_total": t2 - t1,
        "stages": stages,
        "models": {k.rsplit("/", 1)[-1]: round(v, 2) for k, v in model_times.items()},
        "rows_read": summary.rows_read,
        "files_loaded": summary.files_loaded,
        "files_failed": summary.files_failed,
        "listed": week.listed.height,
        "rent_kept": "; ".join(KEPT),
        "repairs_kept": "; ".join(KEPT_REPAIRS),
        "models_cpu": {k.rsplit("/", 1)[-1]: round(v, 2) for k, v in MODEL_CPU.items()},
        "peak_mib": _peak_mib(),
        "db_mib": (work / db_name).stat().st_size / 2**20,
    }


def step_features(work: Path, db_name: str, which: str) -> dict[str, Any]:
    """SQL feature models, or the naive pandas features, on an already loaded warehouse."""
    _key()
    from pipelines.core.settings import load_settings
    from pipelines.warehouse.connection import open_warehouse

    settings = load_settings()
    wh = open_warehouse(work / db_name)
    if which == "sql":
        from pipelines.scoring.week import build_features

        started = time.perf_counter()
        build_features(wh.con, settings, AS_OF)
        seconds = time.perf_counter() - started
        households = wh.con.sql("select count(*) from household_features").fetchall()[0][0]
        result = {"seconds": seconds, "households": households}
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import naive_pandas_features as naive

        started = time.perf_counter()
        raw = naive.load_raw(wh.con)
        loaded = time.perf_counter()
        frame = naive.household_features(raw, settings, AS_OF)
        seconds = time.perf_counter() - loaded
        result = {"seconds": seconds, "load_seconds": loaded - started, "households": len(frame)}
    wh.close()
    result["peak_mib"] = _peak_mib()
    return result


# ------------------------------------------------------------------------------------------------------------
# Driver


def _child(*argv: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--step", *argv]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run_size(work: Path, homes: int, runs: int, features: int, log: list[dict[str, Any]]) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    stamp = work / "generated.json"
    if stamp.exists() and json.loads(stamp.read_text()).get("homes") == homes:
        gen = json.loads(stamp.read_text())
    else:
        gen = _child("generate", str(work), str(homes))
        gen["homes"] = homes
        stamp.write_text(json.dumps(gen))
    size_mib = sum(p.stat().st_size for p in (work / "extracts").rglob("*.csv")) / 2**20
    print(f"{homes:,} homes: {size_mib:,.0f} MiB of CSV, {sum(gen['rows'].values()):,} rows", flush=True)

    def record(kind: str, result: dict[str, Any], run: int) -> dict[str, Any]:
        row = {"homes": homes, "kind": kind, "run": run, "load_avg": _load(), **result}
        log.append(row)
        print(
            f"  {kind} run {run}: {result['seconds']:.1f} s ({result.get('cpu_s', float('nan')):.1f} CPU s), "
            f"peak {result.get('peak_mib', 0):,.0f} MiB "
            f"(load {row['load_avg']})",
            flush=True,
        )
        return result

    # Bare scan and backfill take turns, so each pair meets the same moment of a shared machine; the ingest
    # ratio is the median of the pairs' ratios.
    bare: list[dict[str, Any]] = []
    backfill: list[dict[str, Any]] = []
    for r in range(runs):
        bare.append(record("bare", _child("bare", str(work)), r))
        backfill.append(record("backfill", _child("week", str(work), "extracts", "backfill.duckdb", ""), r))
    prep = record("history", _child("week", str(work), "history", "history.duckdb", ""), 0)
    incr = [
        record("incremental", _child("week", str(work), "extracts", "incr.duckdb", "history.duckdb"), r)
        for r in range(runs)
    ]
    feats: dict[str, list[float]] = {"sql": [], "pandas": []}
    for r in range(features):
        for which in ("sql", "pandas"):
            try:
                result = _child("features", str(work), "backfill.duckdb", which)
            except subprocess.CalledProcessError as exc:
                print(f"  features_{which} failed: {exc.stderr[-2000:]}", flush=True)
                continue
            feats[which].append(record(f"features_{which}", result, r)["seconds"])
    for name in ("backfill.duckdb", "history.duckdb", "incr.duckdb"):
        for suffix in ("", ".wal"):
            (work / (name + suffix)).unlink(missing_ok=True)
    med = {k: _median([b["stages"].get(k, 0.0) for b in backfill]) for k in STAGES}
    return {
        "homes": homes,
        "csv_mib": size_mib,
        "rows": sum(gen["rows"].values()),
        "runs": runs,
        "bare_s": _median([b["seconds"] for b in bare]),
        "bare_imports_s": _median([b["imports"] for b in bare]),
        "imports_s": _median([b["imports"] for b in backfill]),
        "backfill_s": _median([b["seconds"] for b in backfill]),
        "backfill_ingest_s": _median([b["ingest"] for b in backfill]),
        "ingest_ratio": _median([b["ingest"] / a["seconds"] for a, b in zip(bare, backfill, strict=True)]),
        "backfill_peak_mib": max(b["peak_mib"] for b in backfill),
        "incremental_s": _median([b["seconds"] for b in incr]),
        "incremental_ingest_s": _median([b["ingest"] for b in incr]),
        "incremental_score_s": _median([b["score_total"] for b in incr]),
        "incremental_peak_mib": max(b["peak_mib"] for b in incr),
        "history_s": prep["seconds"],
        "stages": med,
        "models": {k: _median([b["models"].get(k, 0.0) for b in backfill]) for k in backfill[0]["models"]},
        "features_sql_s": _median(feats["sql"]),
        "features_pandas_s": _median(feats["pandas"]),
    }


def write_results(sizes: list[dict[str, Any]], log: list[dict[str, Any]], started_load: str) -> str:
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / "scale.csv").open("w", newline="") as fh:
        fields = [
            "homes",
            "kind",
            "run",
            "seconds",
            "cpu_s",
            "peak_mib",
            "load_avg",
            "ingest",
            "imports",
            "score_total",
            "rows_read",
            "files_loaded",
            "files_failed",
            "listed",
            "stages",
            "models",
            "households",
            "load_seconds",
        ]
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in log:
            writer.writerow({k: json.dumps(v) if isinstance(v, dict) else v for k, v in row.items()})
    lines = [
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, Python "
        f"{platform.python_version()}; load average at start {started_load} (a shared machine). Medians of the runs "
        "shown; 'x bare' is the median of the ratios of runs made in turn (bare scan, then backfill); peak = max "
        "RSS of the run's process.",
        "",
        "| homes | CSV MiB | rows | runs | bare read_csv s | backfill s | ingest s (x bare) | incremental s "
        "| peak GiB backfill / incr |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes:
        lines.append(
            f"| {s['homes']:,} | {s['csv_mib']:,.0f} | {s['rows']:,} | {s['runs']} | {s['bare_s']:.1f} "
            f"| {s['backfill_s']:.1f} | {s['backfill_ingest_s']:.1f} ({s['ingest_ratio']:.2f}x) "
            f"| {s['incremental_s']:.1f} "
            f"| {s['backfill_peak_mib'] / 1024:.2f} / {s['incremental_peak_mib'] / 1024:.2f} |"
        )
    lines += [
        "",
        "Backfill stages (s, median): " + ", ".join(STAGES),
        "",
        "| homes | " + " | ".join(STAGES) + " |",
        "|---:|" + "---:|" * len(STAGES),
    ]
    for s in sizes:
        lines.append(f"| {s['homes']:,} | " + " | ".join(f"{s['stages'][k]:.1f}" for k in STAGES) + " |")
    if len(sizes) > 1:
        a, b = sizes[0], sizes[-1]
        scale = b["homes"] / a["homes"]
        lines += [
            "",
            f"Growth {a['homes']:,} -> {b['homes']:,} homes (x{scale:.0f}): backfill "
            f"x{b['backfill_s'] / a['backfill_s']:.1f}, "
            f"incremental x{b['incremental_s'] / a['incremental_s']:.1f}, "
            f"bare read x{b['bare_s'] / a['bare_s']:.1f}.",
        ]
    for s in sizes:
        if s["features_pandas_s"] == s["features_pandas_s"]:  # not NaN
            lines += [
                "",
                f"Features at {s['homes']:,} homes: SQL models {s['features_sql_s']:.1f} s, naive pandas "
                f"{s['features_pandas_s']:.1f} s = {s['features_pandas_s'] / s['features_sql_s']:.0f}x.",
            ]
    lines += [
        "",
        "Process start, outside every timing above: importing the pipeline's modules (Great Expectations among "
        "them) took " + ", ".join(f"{s['imports_s']:.1f} s" for s in sizes) + "; the bare scan's imports "
        "(duckdb) " + ", ".join(f"{s['bare_imports_s']:.2f} s" for s in sizes) + " (sizes as above).",
    ]
    big = sizes[-1]
    lines += [
        "",
        f"Slowest SQL models at {big['homes']:,} homes (backfill, s): "
        + ", ".join(f"{k} {v:.1f}" for k, v in sorted(big["models"].items(), key=lambda kv: -kv[1])[:5]),
    ]
    text = "\n".join(lines) + "\n"
    (RESULTS / "latest.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--homes", type=int, nargs="+", default=[20_000, 80_000, 160_000])
    parser.add_argument("--runs", type=int, default=3, help="runs at the smallest size")
    parser.add_argument("--runs-largest", type=int, default=2, help="runs at the larger sizes (default 2)")
    parser.add_argument(
        "--feature-runs", type=int, default=3, help="runs of SQL vs pandas features (smallest size)"
    )
    parser.add_argument("--workdir", default="/tmp/rrf-bench")
    parser.add_argument("--keep", action="store_true", help="keep the generated extracts")
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        step, *rest = args.step
        work = Path(rest[0])
        if step == "generate":
            result = step_generate(work, int(rest[1]))
        elif step == "bare":
            result = step_bare(work)
        elif step == "week":
            result = step_week(work, rest[1], rest[2], rest[3] if len(rest) > 3 and rest[3] else None)
        else:
            result = step_features(work, rest[1], rest[2])
        print(json.dumps(result, default=str))
        return
    started_load = _load()
    sizes: list[dict[str, Any]] = []
    log: list[dict[str, Any]] = []
    homes = sorted(args.homes)
    for h in homes:
        runs = args.runs if h == homes[0] else args.runs_largest
        work = Path(args.workdir) / f"h{h}"
        sizes.append(run_size(work, h, runs, args.feature_runs if h == homes[0] else 0, log))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        write_results(sizes, log, started_load)
    print(write_results(sizes, log, started_load))


if __name__ == "__main__":
    main()
