"""A second synthetic landlord, "Riverside Homes", written in another hand: `redflags synth --style riverside`.

Written from the extract contract and DOMAIN.md, not from the scorer: its own job wording and slips
(``data/riverside.yaml``, a data file), its own codes and headers (its own mapping.yaml), undated export file
names whose modification times are the export moments, ASB as one row per party with coded roles and victim-only
domestic cases, recharges often raised without a job number (found at an inspection), tenancy references missing
on some jobs, dates as ``29-Jun-2025``. The answer key has the format of ``pipelines/synth/standard.py`` (same columns,
``default_key_path``), with the strengths ``strong``, ``medium`` and ``weak_corroborated`` and two more innocent
look-alikes: ``lookalike_lockout`` (one lock-out, recharged) and ``lookalike_complainant`` (one red flag and a
noise complaint about a neighbour).

Patterns planted (days are day numbers since 1970, as in ``pipelines/synth/stock.py``):
- strong: 5-8 occasions (a visit of one or two jobs) over 6 weeks to 7 months, 2-3 other signals;
- medium: 3-4 occasions over 2-8 months, one other signal;
- weak_corroborated: 2 occasions 2-9 months apart, exactly one other signal (an ASB case through the lens with the
  household as victim or subject, an arrears onset after a clear account, or a damage recharge found at a visit).
A planted pattern is live at the as-of date when it started by then and its last event was within 90 days.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from pipelines.core.errors import UserError
from pipelines.synth.files import default_key_path, prepare_out_dir
from pipelines.synth.landlord import Landlord, SynthSummary
from pipelines.synth.rent import rent_weeks
from pipelines.synth.riverside_landlord import RiversideLandlord, build_riverside
from pipelines.synth.riverside_text import load_catalogue
from pipelines.synth.stock import NO_END, Calendar, date_of

log = logging.getLogger(__name__)

STYLE = "riverside"
EXTRACTS = ("repairs", "recharges", "asb", "rent", "tenancies", "properties", "known_cases", "planned_works")
# This system's export headers: canonical name -> the landlord's header.
HEADERS: dict[str, dict[str, str]] = {
    "repairs": {
        "job_ref": "Works Order",
        "property_ref": "UPRN",
        "tenancy_ref": "Tenancy No",
        "reported_at": "Logged",
        "completed_at": "Completed",
        "sor_code": "Rate Code",
        "description": "Works Description",
        "priority": "Priority Code",
        "trade": "Trade Code",
        "status": "WO Status",
        "cost_gbp": "Order Value",
    },
    "recharges": {
        "recharge_ref": "Charge No",
        "tenancy_ref": "Tenancy No",
        "property_ref": "UPRN",
        "job_ref": "Works Order",
        "raised_at": "Date Raised",
        "amount_gbp": "Charge Amount",
        "reason": "Charge Reason",
        "status": "Charge Status",
    },
    "asb": {
        "case_ref": "Case Number",
        "tenancy_ref": "Party Tenancy",
        "opened_at": "Date Opened",
        "closed_at": "Date Closed",
        "category": "Case Type",
        "role": "Party Role",
        "description": "Case Summary",
    },
    "rent": {
        "tenancy_ref": "Tenancy No",
        "week_ending": "Period End",
        "balance_gbp": "Closing Balance",
        "weekly_charge_gbp": "Debit",
    },
    "tenancies": {
        "tenancy_ref": "Tenancy No",
        "property_ref": "UPRN",
        "start_date": "Tenancy Start",
        "end_date": "Tenancy End",
    },
    "properties": {
        "property_ref": "UPRN",
        "block_ref": "Block",
        "estate": "Scheme",
        "property_type": "Asset Type",
        "bedrooms": "Beds",
    },
    "known_cases": {"tenancy_ref": "Tenancy No", "marker": "Alert", "start_date": "From", "end_date": "To"},
    "planned_works": {
        "property_ref": "UPRN",
        "block_ref": "Block",
        "estate": "Scheme",
        "programme": "Contract",
        "start_date": "Start On Site",
        "end_date": "Completion",
    },
}
VALUES: dict[str, dict[str, dict[str, str]]] = {
    "repairs": {
        "priority": {
            "IMM": "emergency",
            "EMG": "emergency",
            "URG": "urgent",
            "RTN": "routine",
            "PLN": "planned",
            "VOID": "void",
        },
        "status": {"COMP": "completed", "CANC": "cancelled", "OPEN": "open", "NOACC": "no_access"},
        "trade": {
            "PLU": "plumber",
            "GAS": "gas engineer",
            "ELE": "electrician",
            "GEN": "general",
            "CAR": "carpenter",
            "GLZ": "glazier",
            "ROF": "roofer",
            "LCK": "locksmith",
        },
    },
    "recharges": {"status": {"O": "raised", "P": "paid", "D": "disputed", "W": "written off"}},
    "asb": {"role": {"COMP": "complainant", "PERP": "subject", "VICT": "victim", "WITN": "witness"}},
    "properties": {
        "property_type": {"FL": "flat", "MS": "maisonette", "HS": "house", "BG": "bungalow", "CM": "communal"}
    },
    "known_cases": {
        "marker": {"DVA": "domestic abuse", "MARAC": "marac", "SANC": "sanctuary scheme", "VUL": "vulnerable"}
    },
}
FILE_STEMS = {
    "repairs": "WorksOrders",
    "recharges": "Recharges",
    "asb": "ASBCases",
    "rent": "RentStatement",
    "tenancies": "Tenancies",
    "properties": "Assets",
    "known_cases": "Alerts",
    "planned_works": "Contracts",
}
PTYPE_CODES = {"flat": "FL", "maisonette": "MS", "house": "HS", "bungalow": "BG", "communal": "CM"}

# Rates (DOMAIN.md): about 3 responsive repairs per home a year; ASB about 7 cases per 100 homes a year.


def _export_moment(day: int) -> float:
    """The export's modification time: the Monday after the week-ending Sunday ``day``, 06:00 UTC."""
    return dt.datetime.combine(date_of(day + 1), dt.time(6, 0), tzinfo=dt.UTC).timestamp()


def _file_week(cal: Calendar, day: pl.Expr) -> pl.Expr:
    """The weekly export a record known on ``day`` lands in: its week-ending Sunday, within the history."""
    week_end = day + (6 - (day + 3) % 7)
    return week_end.clip(cal.start - 1, cal.as_of)


def _write_exports(
    frame: pl.DataFrame, cal: Calendar, out_dir: Path, name: str, *, dated: bool
) -> tuple[int, int]:
    """One CSV per weekly export, this system's headers; undated names numbered in export order, each file's
    modification time the export moment (``dated``: the week-ending date in the name instead)."""
    folder = out_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    headers = HEADERS[name]
    frame = frame.with_columns(_file_week(cal, pl.col("file_day")).alias("_week")).sort(
        "_week", maintain_order=True
    )
    weeks = frame["_week"].unique(maintain_order=True).to_list()
    for i, week in enumerate(weeks):
        part = frame.filter(pl.col("_week") == week).select([pl.col(c).alias(h) for c, h in headers.items()])
        stem = FILE_STEMS[name]
        path = folder / (
            f"{stem}_{date_of(week).isoformat()}.csv" if dated else f"{stem}_export_{i + 1:04d}.csv"
        )
        part.write_csv(path, date_format="%d-%b-%Y", datetime_format="%d-%m-%Y %H:%M", float_precision=2)
        moment = _export_moment(week)
        os.utime(path, (moment, moment))
    return frame.height, len(weeks)


def _restated(frame: pl.DataFrame, cal: Calendar, before: dict[str, pl.Expr]) -> pl.DataFrame:
    """Each record in the export of the week it became known (``file_day``), and again in the export of the week
    it closed (``close_day``) when that is later, the first version with ``before``'s columns as they were then."""
    later = pl.col("close_day").is_not_null() & (
        _file_week(cal, pl.col("close_day")) > _file_week(cal, pl.col("file_day"))
    )
    first = frame.with_columns(
        [pl.when(later).then(expr).otherwise(pl.col(name)).alias(name) for name, expr in before.items()]
    )
    second = frame.filter(later).with_columns(pl.col("close_day").alias("file_day"))
    return pl.concat([first, second], how="vertical_relaxed")


def _mapping(seed: int, dated: bool) -> dict[str, object]:
    extracts: dict[str, object] = {}
    for name in EXTRACTS:
        spec: dict[str, object] = {
            "files": f"{name}/{FILE_STEMS[name]}_*.csv",
            "delimiter": ",",
            "columns": dict(HEADERS[name]),
        }
        if name in VALUES:
            spec["values"] = VALUES[name]
        extracts[name] = spec
    return {"landlord": f"Riverside Homes (synthetic, seed {seed})", "extracts": extracts}


def write_riverside(
    out_dir: Path,
    *,
    homes: int,
    years: int,
    seed: int,
    as_of: dt.date,
    key_path: Path | None = None,
    dated: bool = False,
) -> SynthSummary:
    """Write the Riverside landlord's weekly exports and mapping.yaml to ``out_dir``, the answer key beside it.

    ``dated``: put the week-ending date in each file name (for a pipeline that cannot yet read a file's
    modification time as its extract date); by default names carry no date.
    """
    if homes < 200:
        raise UserError(f"the riverside landlord needs at least 200 homes (got {homes})")
    if years < 2:
        raise UserError(f"the riverside landlord needs at least two years of history (got {years})")
    out_dir = Path(out_dir)
    key_path = Path(key_path) if key_path is not None else default_key_path(out_dir)
    prepare_out_dir(out_dir, key_path)
    ll = build_riverside(homes, years, seed, as_of, load_catalogue())
    cal, rows, files = ll.cal, {}, {}
    # a job is exported when logged, and again in the week it completed (status and completion then); an ASB
    # case when opened, and again when closed
    repairs = _restated(
        ll.frames["repairs"],
        cal,
        {"status": pl.lit("OPEN"), "completed_at": pl.lit(None), "cost_gbp": pl.lit(None)},
    )
    rows["repairs"], files["repairs"] = _write_exports(repairs, cal, out_dir, "repairs", dated=dated)
    asb = _restated(ll.frames["asb"], cal, {"closed_at": pl.lit(None)})
    rows["asb"], files["asb"] = _write_exports(asb, cal, out_dir, "asb", dated=dated)
    for name in ("recharges", "known_cases", "planned_works"):
        rows[name], files[name] = _write_exports(ll.frames[name], cal, out_dir, name, dated=dated)
    ten = ll.ten
    tenancies = pl.DataFrame(
        {
            "tenancy_ref": ten.refs(np.arange(len(ten))),
            "property_ref": ll.stock.refs(ten.home),
            "start_date": pl.Series(ten.start, dtype=pl.Int32).cast(pl.Date),
            "end_date": pl.Series(np.where(ten.end < NO_END, ten.end, 0), dtype=pl.Int32).cast(pl.Date),
            "file_day": np.maximum(ten.start, cal.start - 1),
            "has_end": ten.end < NO_END,
        }
    )
    ended = tenancies.filter(pl.col("has_end")).with_columns(
        pl.Series(ten.end[ten.end < NO_END]).alias("file_day")
    )
    tenancies = pl.concat(
        [tenancies.with_columns(pl.lit(None, dtype=pl.Date).alias("end_date")), ended], how="vertical"
    )
    rows["tenancies"], files["tenancies"] = _write_exports(tenancies, cal, out_dir, "tenancies", dated=dated)
    stock = ll.stock
    n_props = len(stock.ref)
    properties = pl.DataFrame(
        {
            "property_ref": stock.refs(np.arange(n_props)),
            "block_ref": pl.Series(
                [stock.block_ref[b] if b >= 0 else None for b in stock.block.tolist()], dtype=pl.String
            ),
            "estate": pl.Series([stock.estate_name[e] for e in stock.estate.tolist()], dtype=pl.String),
            "property_type": pl.Series([PTYPE_CODES[str(p)] for p in stock.ptype.tolist()], dtype=pl.String),
            "bedrooms": pl.Series([b if b > 0 else None for b in stock.bedrooms.tolist()], dtype=pl.Int64),
            "file_day": np.full(n_props, cal.start - 1),
        }
    )
    rows["properties"], files["properties"] = _write_exports(
        properties, cal, out_dir, "properties", dated=dated
    )
    rows["rent"], files["rent"] = _write_rent(ll, out_dir, dated=dated)
    mapping_path = out_dir / "mapping.yaml"
    header = (
        f"# Riverside Homes: a synthetic landlord in a second housing system's layout (`redflags synth --style "
        f"riverside`, seed {seed}, {homes} homes, {years} years to {as_of.isoformat()}).\n# Not real data. "
        + (
            "Weekly exports carry their week-ending date in the name.\n"
            if dated
            else "Export file names carry no date: each file's modification time is its export moment.\n"
        )
    )
    mapping_path.write_text(
        header + yaml.safe_dump(_mapping(seed, dated), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    ll.key.write_csv(key_path, date_format="%Y-%m-%d")
    planted = {str(k): int(n) for k, n in ll.key.group_by("kind").len().iter_rows()}
    live = ll.key.filter(
        pl.col("kind").is_in(["da_pattern", "known_case_lapsed"]) & pl.col("live_at_as_of")
    ).height
    log.info("riverside landlord: %d repairs rows, %d planted households", rows["repairs"], ll.key.height)
    return SynthSummary(out_dir, mapping_path, key_path, rows, files, planted, live, homes, as_of)


def _write_rent(ll: RiversideLandlord, out_dir: Path, *, dated: bool) -> tuple[int, int]:
    """Weekly rent statements: credit written in brackets, thousands separated, this system's headers."""
    folder = out_dir / "rent"
    folder.mkdir(parents=True, exist_ok=True)
    # rent_weeks reads only the calendar, homes, tenancies and the rent plan of a Landlord
    empty = pl.DataFrame(schema={"x": pl.Int64})
    landlord = Landlord(
        ll.cal,
        ll.stock,
        ll.ten,
        empty,
        empty,
        empty,
        empty,
        empty,
        empty,
        ll.rent_plan,
        None,  # type: ignore[arg-type]
    )
    n_rows, n_files = 0, 0
    for week, frame in rent_weeks(landlord):
        if not frame.height:
            continue
        pence = (frame["balance_gbp"] * 100).round().cast(pl.Int64)
        text = pl.Series(
            [
                (f"(£{-p // 100:,}.{-p % 100:02d})" if p < 0 else f"£{p // 100:,}.{p % 100:02d}")
                for p in pence.to_list()
            ],
            dtype=pl.String,
        )
        out = frame.with_columns(text.alias("balance_gbp")).select(
            [pl.col(c).alias(h) for c, h in HEADERS["rent"].items()]
        )
        n_files += 1
        path = folder / (
            f"RentStatement_{date_of(week).isoformat()}.csv"
            if dated
            else f"RentStatement_export_{n_files:04d}.csv"
        )
        out.write_csv(path, date_format="%d-%b-%Y", float_precision=2)
        moment = _export_moment(week)
        os.utime(path, (moment, moment))
        n_rows += out.height
    return n_rows, n_files
