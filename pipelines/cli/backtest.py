"""``redflags backtest``: replay the weekly run over a date range and print its measures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, Any

import polars as pl

from pipelines.backtest.replay import backtest_folder, default_answer_key_path
from pipelines.backtest.result import BacktestResult
from pipelines.core.errors import ConfigError, UserError
from pipelines.core.settings import load_settings


def _config_names(config: str | None, compare: str | None) -> list[str]:
    first = Path(config).stem if config else "default settings"
    if compare is None:
        return [first]
    second = Path(compare).stem
    return [first, second if second != first else f"{second} (compare)"]


def main(args: argparse.Namespace) -> int:
    if args.date_to < args.date_from:
        raise UserError("--to is before --from")
    names = _config_names(args.config, args.compare)
    configs = {names[0]: load_settings(args.config)}
    if args.compare:
        configs[names[1]] = load_settings(args.compare)
    extracts = Path(args.extracts)
    key_path = Path(args.answer_key) if args.answer_key else default_answer_key_path(extracts)
    if args.answer_key and not key_path.is_file():
        raise ConfigError(f"the answer key {key_path} does not exist")
    answer_key = key_path if key_path.is_file() else None
    db = Path(args.db) if args.db else None
    # A temporary warehouse of synthetic data (there is an answer key) may stay unencrypted.
    allow_unencrypted = bool(args.allow_unencrypted or (db is None and answer_key is not None))
    result = backtest_folder(
        extracts,
        Path(args.mapping),
        args.date_from,
        args.date_to,
        configs,
        out_dir=Path(args.out),
        answer_key=answer_key,
        db=db,
        allow_unencrypted=allow_unencrypted,
    )
    print_report(result)
    return 0


def _pct(value: Any) -> str:
    return "   -  " if value is None else f"{100 * float(value):5.1f}%"


def print_report(result: BacktestResult, out: IO[str] | None = None) -> None:
    """Terminal tables: each week, then the overall figures side by side."""
    out = out or sys.stdout
    first, last = result.weeks[0], result.weeks[-1]
    out.write(
        f"Backtest: {len(result.weeks)} week(s) ending {first:%d %b %Y} to {last:%d %b %Y}; "
        f"truth: {result.truth_source}.\n"
    )
    for name in result.summary["config"].to_list():
        out.write(f"\n{name}\n")
        out.write(
            "  week ending   listed/capacity  carried  precision  recall  look-alikes  baseline precision\n"
        )
        for r in result.weekly.filter(pl.col("config") == name).iter_rows(named=True):
            out.write(
                f"  {r['week']:%Y-%m-%d}    {r['list_size']:>5}/{r['capacity']:<5}    {r['carried']:>7}   "
                f"{_pct(r['precision'])}  {_pct(r['recall'])}  {r['lookalikes_listed']:>11}   "
                f"{_pct(r['baseline_precision'])}\n"
            )
    out.write("\nOverall (pooled over the weeks)\n")
    labels = {
        "mean_list_size": ("households listed per week", "{:.1f}"),
        "capacity": ("capacity per week", "{}"),
        "mean_carried": ("carried forward per week", "{:.1f}"),
        "precision": ("precision at capacity", "pct"),
        "baseline_precision": ("  baseline (most red flags, same length)", "pct"),
        "recall": ("recall of live planted patterns", "pct"),
        "baseline_recall": ("  baseline", "pct"),
        "median_weeks_to_flag": ("median weeks from pattern start to listing", "{:.1f}"),
        "share_never_listed": ("patterns never listed", "pct"),
        "lookalikes_listed": ("look-alike listings", "{}"),
        "known_cases_listed": ("known-case listings", "{}"),
        "seconds_per_week": ("seconds per week (scoring)", "{:.2f}"),
    }
    names = result.summary["config"].to_list()
    out.write(f"  {'':44}" + "".join(f"{n[:18]:>20}" for n in names) + "\n")
    rows = result.summary.to_dicts()
    for key, (label, fmt) in labels.items():
        cells = []
        for row in rows:
            value = row.get(key)
            cells.append(_pct(value) if fmt == "pct" else ("-" if value is None else fmt.format(value)))
        out.write(f"  {label:44}" + "".join(f"{c:>20}" for c in cells) + "\n")
    if result.files:
        out.write(f"\nTables and plots: {next(iter(result.files.values())).parent}\n")
