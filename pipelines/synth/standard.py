"""``redflags synth``: a synthetic landlord's weekly extract drops, its mapping file and an answer key.

The landlord looks like a housing-management export: weekly files per extract named for the week-ending Sunday
(``repairs/repairs_2025-03-09.csv``), each holding what became known or changed that week; landlord priority,
status, role and marker codes that ``mapping.yaml`` maps onto the contract's values; UK dates; call-centre
free text. Base rates follow DOMAIN.md (3 repairs per home a year, a quarter emergencies, 8% turnover, 7 ASB
cases per 100 homes a year, a third of tenancies in some arrears).

Planted households (the answer key, written outside the extracts folder): domestic-abuse-like patterns of
three strengths, innocent look-alikes (burglary, block vandalism, planned programmes, heavy repairers, new
tenancies), live known cases that must never be listed and lapsed ones whose new pattern should come back.

Everything is drawn from one numpy Generator seeded by ``seed``: the same seed writes byte-identical files.
Rows are generated with vectorised numpy/polars; only planted households are looped over in Python.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from pipelines.core.errors import UserError
from pipelines.core.progress import get_progress
from pipelines.synth.extracts import Assembly
from pipelines.synth.files import (
    COLUMNS,
    default_key_path,
    drop_path,
    mapping,
    prepare_out_dir,
    stamp_export,
    weekly,
    write_csv,
    write_drops,
)
from pipelines.synth.landlord import PLANTED_KINDS, Catalogue, Landlord, RentPlan, RepairParts, SynthSummary
from pipelines.synth.planting import Planting
from pipelines.synth.rent import rent_weeks
from pipelines.synth.stock import NO_END, calendar, days_to_date, make_stock, make_tenancies

log = logging.getLogger(__name__)

# Base rates of the background repairs (DOMAIN.md); the planted patterns' shape is in planting.py.
HOUSEHOLD_REPAIRS_PER_YEAR = (
    2.85  # plus communal and planted jobs: about 3 responsive repairs per home a year
)
HOUSEHOLD_RATE_SHAPE = 1.6  # gamma shape: some households report far more than others
COMMUNAL_REPAIRS_PER_FLAT_YEAR = 0.15


class _Builder(Planting, Assembly):
    """Builds one landlord: the stock, tenancies and background repairs here, then planting and assembly."""

    def __init__(self, homes: int, years: int, seed: int, as_of: dt.date, rent_years: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.homes = homes
        self.years = years
        self.cal = calendar(as_of, years, rent_years)
        self.cat = Catalogue()
        self.parts = RepairParts()
        self.key_rows = []
        self.used = set()
        self.recharges = []
        self.asb_planted = []
        self.markers = []
        self.programmes = []
        self.rent = RentPlan(seed=seed)

    # ---- stock, tenancies, background -------------------------------------------------------------
    def build(self) -> Landlord:
        progress = get_progress()
        with progress.stage("Synthetic landlord: homes and tenancies"):
            self.stock = make_stock(self.rng, self.homes)
            self.ten = make_tenancies(self.rng, self.homes, self.cal)
        with progress.stage("Synthetic landlord: repairs"):
            self._background_repairs()
            self._communal_repairs()
            self._void_repairs()
        with progress.stage("Synthetic landlord: planted households"):
            self._plant_all()
        with progress.stage("Synthetic landlord: descriptions"):
            repairs = self._finish_repairs()
        recharges = self._recharges(repairs)
        asb = self._asb()
        known = self._known_cases()
        planned = self._planned_works()
        key = self._key()
        return Landlord(
            self.cal, self.stock, self.ten, repairs, recharges, asb, known, planned, key, self.rent, self.cat
        )

    def _background_repairs(self) -> None:
        rng, cal, ten = self.rng, self.cal, self.ten
        lo = np.maximum(ten.start, cal.start)
        hi = np.minimum(ten.end, cal.as_of)
        span = np.maximum(hi - lo + 1, 0)
        rate = rng.gamma(
            HOUSEHOLD_RATE_SHAPE, HOUSEHOLD_REPAIRS_PER_YEAR / HOUSEHOLD_RATE_SHAPE, size=len(ten)
        )
        count = rng.poisson(rate * span / 365.25)
        t = np.repeat(np.arange(len(ten)), count)
        day = lo[t] + (rng.random(len(t)) * span[t]).astype(np.int64)
        jtype = self.cat.background[
            rng.choice(len(self.cat.background), size=len(t), p=self.cat.background_p)
        ]
        self.parts.add(ten.home[t], t, day, jtype)

    def _communal_repairs(self) -> None:
        rng, cal, stock = self.rng, self.cal, self.stock
        sizes = np.array([len(m) for m in stock.block_homes])
        count = rng.poisson(COMMUNAL_REPAIRS_PER_FLAT_YEAR * sizes * cal.days / 365.25)
        b = np.repeat(np.arange(len(sizes)), count)
        day = cal.start + rng.integers(0, cal.days, size=len(b))
        jtype = np.where(rng.random(len(b)) < 0.06, self.cat["communal_damage"], self.cat["communal"])
        self.parts.add(stock.communal_of_block[b], np.full(len(b), -1), day, jtype)

    def _void_repairs(self) -> None:
        rng, cal, ten = self.rng, self.cal, self.ten
        ended = np.flatnonzero((ten.end >= cal.start - 1) & (ten.end < cal.as_of))
        lock_day = ten.end[ended] + rng.integers(1, 3, size=len(ended))
        ok = lock_day <= cal.as_of
        self.parts.add(ten.home[ended[ok]], np.full(ok.sum(), -1), lock_day[ok], self.cat["void_lock"])
        n_other = 1 + rng.poisson(2.0, size=len(ended))
        t = np.repeat(ended, n_other)
        void_end = np.minimum(ten.next_start[t] - 1, ten.end[t] + 56)
        day = ten.end[t] + 1 + (rng.random(len(t)) * np.maximum(void_end - ten.end[t], 1)).astype(np.int64)
        ok = day <= cal.as_of
        self.parts.add(ten.home[t[ok]], np.full(ok.sum(), -1), day[ok], self.cat["void_other"])


def build_landlord(
    *, homes: int, years: int, seed: int, as_of: dt.date, rent_years: int | None = None
) -> Landlord:
    """The synthetic landlord in memory (rent is generated by ``rent_weeks`` on demand)."""
    if homes < 50:
        raise UserError(f"a synthetic landlord needs at least 50 homes (got {homes})")
    if years < 1:
        raise UserError(f"a synthetic landlord needs at least one year of history (got {years})")
    rent_years = min(years, 2) if rent_years is None else rent_years
    if not 1 <= rent_years <= years:
        raise UserError(f"rent_years must be between 1 and years ({years}), got {rent_years}")
    return _Builder(homes, years, seed, as_of, rent_years).build()


def write_landlord(
    out_dir: Path,
    *,
    homes: int,
    years: int,
    seed: int,
    as_of: dt.date,
    key_path: Path | None = None,
    rent_years: int | None = None,
    undated: bool = False,
) -> SynthSummary:
    """Write a synthetic landlord's weekly drops and mapping.yaml to ``out_dir``, the answer key beside it.
    ``undated``: the twin whose file names hold no date, each file's modification time its export moment."""
    out_dir = Path(out_dir)
    key_path = Path(key_path) if key_path is not None else default_key_path(out_dir)
    prepare_out_dir(out_dir, key_path)
    landlord = build_landlord(homes=homes, years=years, seed=seed, as_of=as_of, rent_years=rent_years)
    cal = landlord.cal
    rows: dict[str, int] = {}
    files: dict[str, int] = {}
    progress = get_progress()
    with progress.stage("Writing repairs"):
        repairs = weekly(
            landlord.repairs.select(*COLUMNS["repairs"], "known_day", "close_day"),
            cal,
            "known_day",
            "close_day",
            {"status": pl.lit("Open"), "completed_at": pl.lit(None), "cost_gbp": pl.lit(None)},
        )
        rows["repairs"], files["repairs"] = write_drops(
            repairs, out_dir, "repairs", ["job_ref"], undated=undated
        )
    with progress.stage("Writing recharges, ASB, tenancies and reference extracts"):
        recharges = weekly(
            landlord.recharges.with_columns(pl.col("final").alias("status")),
            cal,
            "raised_day",
            "change_day",
            {"status": pl.lit("Raised")},
        )
        rows["recharges"], files["recharges"] = write_drops(
            recharges, out_dir, "recharges", ["recharge_ref"], undated=undated
        )
        asb = weekly(landlord.asb, cal, "opened_day", "close_day", {"closed_at": pl.lit(None)})
        rows["asb"], files["asb"] = write_drops(
            asb, out_dir, "asb", ["case_ref", "tenancy_ref"], undated=undated
        )
        ten = landlord.ten
        tenancies = pl.DataFrame(
            {
                "tenancy_ref": ten.refs(np.arange(len(ten))),
                "property_ref": landlord.stock.refs(ten.home),
                "start_day": ten.start,
                "end_day": np.where(ten.end < NO_END, ten.end, -1),
            }
        ).with_columns(
            days_to_date(pl.col("start_day")).alias("start_date"),
            pl.when(pl.col("end_day") >= 0)
            .then(days_to_date(pl.col("end_day")))
            .otherwise(None)
            .alias("end_date"),
            pl.when(pl.col("end_day") >= 0).then(pl.col("end_day")).otherwise(None).alias("close_day"),
        )
        tenancies = weekly(tenancies, cal, "start_day", "close_day", {"end_date": pl.lit(None)})
        rows["tenancies"], files["tenancies"] = write_drops(
            tenancies, out_dir, "tenancies", ["tenancy_ref"], undated=undated
        )
        stock = landlord.stock
        properties = pl.DataFrame(
            {
                "property_ref": stock.refs(np.arange(len(stock.ref))),
                "block_ref": pl.Series(
                    [stock.block_ref[b] if b >= 0 else None for b in stock.block.tolist()], dtype=pl.String
                ),
                "estate": pl.Series([stock.estate_name[e] for e in stock.estate.tolist()], dtype=pl.String),
                "property_type": pl.Series(stock.ptype.tolist(), dtype=pl.String),
                "bedrooms": pl.Series(
                    [b if b > 0 else None for b in stock.bedrooms.tolist()], dtype=pl.Int64
                ),
                "file_day": np.full(len(stock.ref), cal.initial_file),
            }
        )
        rows["properties"], files["properties"] = write_drops(
            properties, out_dir, "properties", ["property_ref"], undated=undated
        )
        known = weekly(landlord.known_cases, cal, "start_day", None, {})
        rows["known_cases"], files["known_cases"] = write_drops(
            known, out_dir, "known_cases", ["tenancy_ref", "marker"], undated=undated
        )
        planned = weekly(landlord.planned_works, cal, "known_day", None, {})
        rows["planned_works"], files["planned_works"] = write_drops(
            planned, out_dir, "planned_works", ["start_date", "programme"], undated=undated
        )
    with progress.stage("Writing weekly rent snapshots"):
        rent_dir = out_dir / "rent"
        rent_dir.mkdir(parents=True, exist_ok=True)
        rows["rent"], files["rent"] = 0, 0
        for week, frame in rent_weeks(landlord):
            if frame.height:
                path = drop_path(rent_dir, "rent", week, undated=undated)
                write_csv(frame, path)
                if undated:
                    stamp_export(path, week)
                rows["rent"] += frame.height
                files["rent"] += 1
    mapping_path = out_dir / "mapping.yaml"
    header = (
        f"# Synthetic landlord written by `redflags synth` (seed {seed}, {homes} homes, {years} years to "
        f"{as_of.isoformat()}).\n# Not real data. "
        + (
            "Weekly drops are named without a date: each file's modification time is its export moment.\n"
            if undated
            else "Weekly drops are named for their week-ending Sunday.\n"
        )
    )
    mapping_path.write_text(
        header + yaml.safe_dump(mapping(seed), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    key = landlord.key
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key.write_csv(key_path, date_format="%Y-%m-%d")
    planted = {k: int((key["kind"] == k).sum()) for k in PLANTED_KINDS}
    live = int(
        key.filter(pl.col("kind").is_in(["da_pattern", "known_case_lapsed"]) & pl.col("live_at_as_of")).height
    )
    log.info(
        "synthetic landlord: %d repairs rows, %d rent rows, %d planted households",
        rows["repairs"],
        rows["rent"],
        key.height,
    )
    return SynthSummary(out_dir, mapping_path, key_path, rows, files, planted, live, homes, as_of)
