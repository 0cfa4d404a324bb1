"""Benchmark: a 26-week backtest of a 6,000-home, three-year synthetic landlord (target: under 5 minutes).

    .venv/bin/python benchmarks/bench_backtest.py [--homes 6000] [--years 3] [--weeks 26] [--repeats 3]

Writes the landlord once (not timed), then times the whole backtest (ingest into a fresh temporary warehouse,
then score and measure every week) ``--repeats`` times and prints each time and the median.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pipelines.backtest.replay import backtest_folder
from pipelines.core.settings import load_settings
from pipelines.synth.standard import write_landlord

TARGET_SECONDS = 300.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--homes", type=int, default=6000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", default=None, help="keep the landlord here (default: a temporary folder)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    as_of = dt.date(2025, 6, 29)
    date_from = as_of - dt.timedelta(weeks=args.weeks - 1)
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        root = Path(args.dir) if args.dir else Path(tmp)
        extracts = root / "landlord"
        started = time.perf_counter()
        if not (extracts / "mapping.yaml").exists():
            write_landlord(extracts, homes=args.homes, years=args.years, seed=args.seed, as_of=as_of)
        took = time.perf_counter() - started
        print(f"landlord: {args.homes} homes, {args.years} years ({took:.1f} s, not timed)")
        times = []
        for i in range(args.repeats):
            started = time.perf_counter()
            result = backtest_folder(
                extracts,
                extracts / "mapping.yaml",
                date_from,
                as_of,
                {"defaults": load_settings()},
                out_dir=root / f"out-{i}",
                answer_key=root / "landlord_answer_key.csv",
                allow_unencrypted=True,
            )
            times.append(time.perf_counter() - started)
            s = result.summary.row(0, named=True)
            print(
                f"run {i + 1}: {times[-1]:.1f} s ({len(result.weeks)} weeks; scoring "
                f"{s['seconds_per_week']:.2f} s a week; precision {s['precision']:.3f}, "
                f"baseline {s['baseline_precision']:.3f}, recall {s['recall']:.3f})"
            )
    median = statistics.median(times)
    verdict = "within" if median < TARGET_SECONDS else "OVER"
    print(f"median {median:.1f} s over {len(times)} run(s): {verdict} the {TARGET_SECONDS:.0f} s target")
    return 0 if median < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
