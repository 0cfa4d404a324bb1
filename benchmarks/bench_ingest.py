"""Ingest benchmark: a synthetic landlord loaded by `ingest_folder`, beside a bare DuckDB read_csv of it.

    .venv/bin/python benchmarks/bench_ingest.py --homes 160000 --years 5 --rent-years 2 --workdir
    /tmp/bench-ingest

Steps, each in its own process so peak memory (max RSS) is measured per step:
1. `redflags synth`-equivalent generation (skipped when the folder already holds a landlord with the same
settings);
2. bare: for each extract, one `read_csv` over all its files into a table of a fresh on-disk DuckDB database;
3. ingest: `ingest_folder` into a fresh encrypted warehouse (the real classifier if importable), then a second
run
   over the same folder (should skip everything).
Prints rows/s for both, the ratio (aim: ingest <= 2x the bare read), per-step seconds and peak memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

AS_OF = dt.date(2025, 6, 29)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(args: argparse.Namespace) -> dict[str, object]:
    from pipelines.synth.standard import write_landlord

    started = time.perf_counter()
    summary = write_landlord(
        Path(args.workdir) / "extracts",
        homes=args.homes,
        years=args.years,
        seed=args.seed,
        as_of=AS_OF,
        rent_years=args.rent_years,
    )
    return {"seconds": time.perf_counter() - started, "rows": summary.rows, "files": summary.files}


def bare(args: argparse.Namespace) -> dict[str, object]:
    import duckdb

    from pipelines.ingest.files import resolve_files
    from pipelines.ingest.mapping import load_mapping

    folder = Path(args.workdir) / "extracts"
    mapping = load_mapping(folder / "mapping.yaml")
    db = Path(args.workdir) / "bare.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    rows = 0
    started = time.perf_counter()
    for name, spec in mapping.extracts.items():
        files = [str(p) for p in resolve_files(folder, spec.files)]
        if not files:
            continue
        con.execute(
            f"create table bare_{name} as select * from read_csv($f, header = true, union_by_name = true)",
            {"f": files},
        )
        rows += con.sql(f"select count(*) from bare_{name}").fetchall()[0][0]
    con.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": rows, "peak_mib": _peak_mib()}


def ingest(args: argparse.Namespace) -> dict[str, object]:
    from pipelines.ingest.folder import ingest_folder
    from pipelines.ingest.mapping import load_mapping
    from pipelines.warehouse.connection import open_warehouse

    folder = Path(args.workdir) / "extracts"
    try:
        from pipelines.core.settings import load_settings
        from pipelines.ingest.classifier import classifier_from_settings

        classify = classifier_from_settings(load_settings().classification)
        classifier = "real"
    except ImportError:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.pipelines.ingest.ingest_helpers import fake_classify as classify

        classifier = "fake"
    db = Path(args.workdir) / "warehouse.duckdb"
    db.unlink(missing_ok=True)
    os.environ.setdefault("REDFLAGS_DB_KEY", "benchmark-key-not-secret")
    wh = open_warehouse(db)
    mapping = load_mapping(folder / "mapping.yaml")
    import great_expectations  # noqa: F401 - import cost (2-4 s) is not part of the load

    started = time.perf_counter()
    first = ingest_folder(
        wh, folder, mapping, classify=classify, out_dir=Path(args.workdir) / "out", today=AS_OF
    )
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    second = ingest_folder(wh, folder, mapping, classify=classify, today=AS_OF)
    again = time.perf_counter() - started
    wh.close()
    return {
        "seconds": seconds,
        "rows": first.rows_read,
        "rows_loaded": first.rows_loaded,
        "rows_quarantined": first.rows_quarantined,
        "files_loaded": first.files_loaded,
        "files_failed": first.files_failed,
        "timings": {k: round(v, 1) for k, v in first.timings.items()},
        "rerun_seconds": again,
        "rerun_files_loaded": second.files_loaded,
        "peak_mib": _peak_mib(),
        "classifier": classifier,
        "db_mib": db.stat().st_size / 2**20,
    }


def _child(step: str, args: argparse.Namespace) -> dict[str, object]:
    cmd = [
        sys.executable,
        __file__,
        "--step",
        step,
        "--homes",
        str(args.homes),
        "--years",
        str(args.years),
        "--rent-years",
        str(args.rent_years),
        "--seed",
        str(args.seed),
        "--workdir",
        args.workdir,
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--homes", type=int, default=160_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--rent-years", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default="/tmp/bench-ingest")
    parser.add_argument(
        "--step", choices=["generate", "bare", "ingest"], default=None, help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.step:
        result = {"generate": generate, "bare": bare, "ingest": ingest}[args.step](args)
        print(json.dumps(result, default=str))
        return
    work = Path(args.workdir)
    stamp = work / "settings.json"
    wanted = {"homes": args.homes, "years": args.years, "rent_years": args.rent_years, "seed": args.seed}
    if not stamp.exists() or json.loads(stamp.read_text()) != wanted:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        gen = _child("generate", args)
        stamp.write_text(json.dumps(wanted))
        print(f"generated {args.homes:,} homes, {args.years} years in {gen['seconds']:.0f} s: {gen['rows']}")
    size = sum(p.stat().st_size for p in (work / "extracts").rglob("*.csv")) / 2**20
    b = _child("bare", args)
    i = _child("ingest", args)
    b_rate = b["rows"] / b["seconds"]  # type: ignore[operator]
    i_rate = i["rows"] / i["seconds"]  # type: ignore[operator]
    print(
        f"landlord: {args.homes:,} homes, {args.years} years ({args.rent_years} of rent), {size:,.0f} MiB "
        f"of CSV"
    )
    print(
        f"bare read_csv : {b['rows']:>12,} rows in {b['seconds']:7.1f} s = {b_rate:>10,.0f} rows/s, "
        f"peak {b['peak_mib']:,.0f} MiB"
    )
    print(
        f"ingest        : {i['rows']:>12,} rows in {i['seconds']:7.1f} s = {i_rate:>10,.0f} rows/s, "
        f"peak {i['peak_mib']:,.0f} MiB ({i['classifier']} classifier)"
    )
    print(f"ratio ingest/bare: {i['seconds'] / b['seconds']:.2f}x (aim <= 2x); steps: {i['timings']}")  # type: ignore[operator]
    print(
        f"loaded {i['rows_loaded']:,}, quarantined {i['rows_quarantined']:,}, files {i['files_loaded']:,} "
        f"(failed {i['files_failed']}); warehouse {i['db_mib']:,.0f} MiB; "
        f"re-run: {i['rerun_files_loaded']} files loaded in {i['rerun_seconds']:.1f} s"
    )


if __name__ == "__main__":
    main()
