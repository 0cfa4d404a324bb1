"""``redflags synth``: write a synthetic landlord of the chosen style and say where everything went."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from pipelines.core.weeks import last_sunday
from pipelines.synth.files import EXTRACTS
from pipelines.synth.landlord import SynthSummary
from pipelines.synth.riverside import STYLE as RIVERSIDE
from pipelines.synth.riverside import write_riverside
from pipelines.synth.standard import write_landlord


def main(args: argparse.Namespace) -> int:
    """The standard landlord, or another style (``--style``); the as-of date defaults to last Sunday."""
    as_of = args.as_of or last_sunday(dt.date.today())
    key_path = Path(args.key_out) if args.key_out else None
    if getattr(args, "style", "standard") == RIVERSIDE:
        summary = write_riverside(
            Path(args.out),
            homes=args.homes,
            years=args.years,
            seed=args.seed,
            as_of=as_of,
            key_path=key_path,
            dated=bool(getattr(args, "dated_names", False)),
        )
        title, live_at = "Riverside Homes (synthetic)", ""
    else:
        summary = write_landlord(
            Path(args.out),
            homes=args.homes,
            years=args.years,
            seed=args.seed,
            as_of=as_of,
            key_path=key_path,
            undated=getattr(args, "undated", False),
        )
        title, live_at = "Synthetic landlord", f" at {as_of.isoformat()}"
    _report(summary, title, live_at, years=args.years, seed=args.seed)
    return 0


def _report(summary: SynthSummary, title: str, live_at: str, *, years: int, seed: int) -> None:
    w = sys.stdout.write
    w(f"{title}: {summary.homes:,} homes, {years} years to {summary.as_of.isoformat()} (seed {seed})\n")
    w(f"  Extracts and mapping: {summary.mapping_path}\n")
    for name in EXTRACTS:
        w(f"    {name:<14} {summary.rows[name]:>12,} rows in {summary.files[name]:>4} files\n")
    w(
        f"  Answer key:           {summary.key_path} ({sum(summary.planted.values()):,} households; "
        f"{summary.live_planted} live patterns{live_at})\n"
    )
