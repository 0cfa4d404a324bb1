"""Benchmark the weekly review list on synthetic landlords: synth, ingest, score_week beside a naive rule.

    .venv/bin/python benchmarks/bench_review_list.py [--seeds 1 2 3] [--homes 6000] [--years 3]
        [--as-of 2025-06-29]

For each seed it prints, for the combined ranking across teams (listed and carried households in score order,
so that the measure does not depend on this week's capacity), and for a naive rule (count of red-flag
repairs in the last 12 months, cancelled jobs excluded, ties broken by tenancy_ref):
- recall@25 and recall@50 of live planted households (answer key: live_at_as_of and kind da_pattern or
  known_case_lapsed);
- precision@25 (share of the top 25 that are live planted households);
- look-alikes in the top 50 (share of kinds lookalike_*);
- known cases listed (kind known_case with a live marker; must be 0);
- timings: synth, ingest, score.
Targets: recall@50 >= 0.9, precision@25 >= 0.7, look-alikes in top 50 <= 10%, known cases listed 0, and the
whole of ingest + scoring for a 6,000-home, three-year landlord under a minute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

LIVE_KINDS = ("da_pattern", "known_case_lapsed")


@dataclass
class Result:
    seed: int
    live: int
    listed: int
    carried: int
    recall_25: float
    recall_50: float
    precision_25: float
    lookalikes_50: float
    known_listed: int
    naive_recall_25: float
    naive_recall_50: float
    naive_precision_25: float
    naive_lookalikes_50: float
    naive_known_50: int
    synth_s: float
    ingest_s: float
    score_s: float


def measures(ranking: list[str], key: pl.DataFrame) -> tuple[float, float, float, float, int]:
    """recall@25, recall@50, precision@25, look-alike share of the top 50, known cases in the top 50."""
    live = set(
        key.filter(pl.col("kind").is_in(LIVE_KINDS) & pl.col("live_at_as_of"))["tenancy_ref"].to_list()
    )
    lookalikes = set(key.filter(pl.col("kind").str.starts_with("lookalike_"))["tenancy_ref"].to_list())
    known = set(key.filter(pl.col("kind") == "known_case")["tenancy_ref"].to_list())
    top25, top50 = ranking[:25], ranking[:50]
    denominator = max(len(live), 1)
    return (
        len(live & set(top25)) / denominator,
        len(live & set(top50)) / denominator,
        len(live & set(top25)) / 25,
        len(lookalikes & set(top50)) / 50,
        len(known & set(top50)),
    )


def naive_ranking(con: object, as_of: dt.date) -> list[str]:
    """Red-flag repairs (not cancelled) in the 365 days to as_of, per live tenancy, with no discounts."""
    from pipelines.warehouse import query

    rows = query(
        con,  # type: ignore[arg-type]
        """
        select tenancy_ref, count(*) as n
        from repairs__classified
        where tenancy_ref in (select tenancy_ref from stg_tenancies where is_live)
          and reported_on > $as_of - 365
        group by tenancy_ref
        order by n desc, tenancy_ref
        """,
        {"as_of": as_of},
    )
    return rows["tenancy_ref"].to_list()


def run_landlord(
    seed: int,
    homes: int,
    years: int,
    as_of: dt.date,
    workdir: Path,
    classify: Callable[[pl.Series, pl.Series | None], pl.DataFrame],
) -> Result:
    from pipelines.ingest_extracts import ingest_folder
    from pipelines.mapping import load_mapping
    from pipelines.scoring_week import score_week
    from pipelines.settings import load_settings
    from pipelines.synthetic import write_landlord
    from pipelines.warehouse import open_warehouse

    settings = load_settings()
    out = workdir / f"seed{seed}" / "extracts"
    started = time.perf_counter()
    summary = write_landlord(out, homes=homes, years=years, seed=seed, as_of=as_of)
    synth_s = time.perf_counter() - started
    key = pl.read_csv(summary.key_path, try_parse_dates=True)

    started = time.perf_counter()
    wh = open_warehouse(workdir / f"seed{seed}.duckdb", allow_unencrypted=True)
    ingest_folder(wh, out, load_mapping(summary.mapping_path), classify=classify, today=as_of)
    ingest_s = time.perf_counter() - started

    started = time.perf_counter()
    week = score_week(wh.con, settings, as_of)
    score_s = time.perf_counter() - started

    combined = pl.concat(
        [week.listed.select("tenancy_ref", "score"), week.carried.select("tenancy_ref", "score")]
    ).sort(["score", "tenancy_ref"], descending=[True, False])
    ours = measures(combined["tenancy_ref"].to_list(), key)
    naive = measures(naive_ranking(wh.con, as_of), key)
    known_cases = set(key.filter(pl.col("kind") == "known_case")["tenancy_ref"].to_list())
    known_listed = len(known_cases & set(combined["tenancy_ref"].to_list()))
    wh.close()
    return Result(
        seed=seed,
        live=int(key.filter(pl.col("kind").is_in(LIVE_KINDS) & pl.col("live_at_as_of")).height),
        listed=week.listed.height,
        carried=week.carried.height,
        recall_25=ours[0],
        recall_50=ours[1],
        precision_25=ours[2],
        lookalikes_50=ours[3],
        known_listed=known_listed,
        naive_recall_25=naive[0],
        naive_recall_50=naive[1],
        naive_precision_25=naive[2],
        naive_lookalikes_50=naive[3],
        naive_known_50=naive[4],
        synth_s=synth_s,
        ingest_s=ingest_s,
        score_s=score_s,
    )


def report(results: list[Result]) -> str:
    lines = [
        f"{'seed':>4} {'live':>4} {'listed':>6} {'carried':>7} | "
        f"{'R@25':>5} {'R@50':>5} {'P@25':>5} {'LA@50':>5} "
        f"{'known':>5} | naive {'R@25':>5} {'R@50':>5} {'P@25':>5} {'LA@50':>5} {'known':>5} | "
        f"{'synth':>5} {'ingest':>6} {'score':>5}"
    ]
    for r in results:
        lines.append(
            f"{r.seed:>4} {r.live:>4} {r.listed:>6} {r.carried:>7} | {r.recall_25:>5.2f} {r.recall_50:>5.2f} "
            f"{r.precision_25:>5.2f} {r.lookalikes_50:>5.2f} {r.known_listed:>5} |       "
            f"{r.naive_recall_25:>5.2f} "
            f"{r.naive_recall_50:>5.2f} {r.naive_precision_25:>5.2f} {r.naive_lookalikes_50:>5.2f} "
            f"{r.naive_known_50:>5} | {r.synth_s:>5.1f} {r.ingest_s:>6.1f} {r.score_s:>5.1f}"
        )

    def mean(attr: str) -> float:
        return statistics.fmean(getattr(r, attr) for r in results)

    lines.append(
        f"mean           | R@50 {mean('recall_50'):.2f} (target >= 0.90)  P@25 {mean('precision_25'):.2f} "
        f"(>= 0.70)  look-alikes@50 {mean('lookalikes_50'):.2f} (<= 0.10)  known listed "
        f"{sum(r.known_listed for r in results)} (0)"
    )
    lines.append(
        f"naive rule     | R@50 {mean('naive_recall_50'):.2f}  P@25 {mean('naive_precision_25'):.2f}  "
        f"look-alikes@50 {mean('naive_lookalikes_50'):.2f}  "
        f"known in top 50 {sum(r.naive_known_50 for r in results)}"
    )
    lines.append(
        f"time per landlord: ingest + score {mean('ingest_s') + mean('score_s'):.1f} s (target < 60 s), "
        f"synth {mean('synth_s'):.1f} s"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--homes", type=int, default=6000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2025, 6, 29))
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where to write landlords (default: a temp dir)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    from pipelines.classify_file import classifier_from_settings
    from pipelines.settings import load_settings

    classify = classifier_from_settings(load_settings().classification)
    with tempfile.TemporaryDirectory(prefix="redflags-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        results = [run_landlord(s, args.homes, args.years, args.as_of, workdir, classify) for s in args.seeds]
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
