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
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from pipelines.errors import UserError
from pipelines.progress import get_progress
from pipelines.synth import text as txt
from pipelines.weeks import last_sunday

log = logging.getLogger(__name__)

EPOCH = dt.date(1970, 1, 1)
NO_END = 10**7  # a day number far in the future: "no end date"

EXTRACTS = ("repairs", "recharges", "asb", "rent", "tenancies", "properties", "known_cases", "planned_works")
COLUMNS: dict[str, tuple[str, ...]] = {
    "repairs": (
        "job_ref",
        "property_ref",
        "tenancy_ref",
        "reported_at",
        "completed_at",
        "sor_code",
        "description",
        "priority",
        "trade",
        "status",
        "cost_gbp",
    ),
    "recharges": (
        "recharge_ref",
        "tenancy_ref",
        "property_ref",
        "job_ref",
        "raised_at",
        "amount_gbp",
        "reason",
        "status",
    ),
    "asb": ("case_ref", "tenancy_ref", "opened_at", "closed_at", "category", "role", "description"),
    "rent": ("tenancy_ref", "week_ending", "balance_gbp", "weekly_charge_gbp"),
    "tenancies": ("tenancy_ref", "property_ref", "start_date", "end_date"),
    "properties": ("property_ref", "block_ref", "estate", "property_type", "bedrooms"),
    "known_cases": ("tenancy_ref", "marker", "start_date", "end_date"),
    "planned_works": ("property_ref", "block_ref", "estate", "programme", "start_date", "end_date"),
}
VALUE_MAPS: dict[str, dict[str, dict[str, str]]] = {
    "repairs": {
        "priority": {
            "I": "emergency",
            "E": "emergency",
            "U": "urgent",
            "N": "routine",
            "P": "planned",
            "V": "void",
        },
        "status": {
            "Complete": "completed",
            "Cancelled": "cancelled",
            "Open": "open",
            "No Access": "no_access",
        },
    },
    "recharges": {
        "status": {"Raised": "raised", "Paid": "paid", "Disputed": "disputed", "Written Off": "written off"}
    },
    "asb": {
        "role": {
            "Complainant": "complainant",
            "Alleged Perpetrator": "subject",
            "Victim": "victim",
            "Witness": "witness",
        }
    },
    "known_cases": {
        "marker": {
            "DA - Domestic Abuse": "domestic abuse",
            "MARAC": "marac",
            "Sanctuary Scheme": "sanctuary scheme",
        }
    },
}
KEY_COLUMNS = (
    "tenancy_ref",
    "property_ref",
    "kind",
    "strength",
    "pattern_start",
    "pattern_end",
    "live_at_as_of",
    "notes",
    "red_flag_repairs",
)
PLANTED_KINDS = (
    "da_pattern",
    "known_case",
    "known_case_lapsed",
    "lookalike_burglary",
    "lookalike_block_vandalism",
    "lookalike_planned_programme",
    "lookalike_heavy_repairer",
    "lookalike_tenancy_start",
)

# Base rates (DOMAIN.md) and the shape of the planted patterns.
HOUSEHOLD_REPAIRS_PER_YEAR = (
    2.85  # plus communal and planted jobs: about 3 responsive repairs per home a year
)
HOUSEHOLD_RATE_SHAPE = 1.6  # gamma shape: some households report far more than others
COMMUNAL_REPAIRS_PER_FLAT_YEAR = 0.15
TURNOVER_PER_YEAR = 0.08
ASB_CASES_PER_HOME_YEAR = 0.066  # plus the planted shouting complaints: about 7 per 100 homes a year
LIVE_PATTERN_SHARE = 0.005  # homes with a live planted pattern at the as-of date
LIVE_LOOKBACK_DAYS = 90  # "live": the pattern ended no more than 90 days before the as-of date
DA_DAYS = (60, 270)  # a pattern lasts 2 to 9 months
DA_STRENGTHS = (("strong", 0.45, (6, 10), 2), ("medium", 0.40, (4, 6), 1), ("weak", 0.15, (3, 3), 0))
DA_REPAIR_MIX = {
    "rf_lock_ext": 0.19,
    "rf_lock_int": 0.12,
    "rf_door_ext": 0.14,
    "rf_door_int": 0.18,
    "rf_glass": 0.09,
    "rf_boardup": 0.07,
    "rf_lost_keys": 0.10,
    "rf_lockout_change": 0.06,
    "rf_forced": 0.05,
}
RECHARGE_KIND = {
    "rf_lost_keys": "keys",
    "rf_lockout_change": "keys",
    "rf_glass": "glass",
    "rf_boardup": "glass",
    "rf_door_ext": "door",
    "rf_door_int": "door",
    "rf_lock_ext": "lock",
    "rf_lock_int": "door",
    "rf_forced": "door",
}
RECHARGE_AMOUNT_GBP = {
    "keys": (45, 150),
    "glass": (60, 280),
    "door": (90, 650),
    "lock": (60, 140),
    "clearance": (80, 450),
    "callout": (35, 75),
}
NOTE_WORDS = {
    "rf_lock_ext": "external lock change",
    "rf_lock_int": "internal lock change",
    "rf_door_ext": "external door damage",
    "rf_door_int": "internal door damage",
    "rf_glass": "broken glass",
    "rf_boardup": "window board-up",
    "rf_lost_keys": "lost keys",
    "rf_lockout_change": "locked out + lock change",
    "rf_forced": "forced entry",
}


@dataclass(frozen=True)
class SynthSummary:
    out_dir: Path
    mapping_path: Path
    key_path: Path
    rows: dict[str, int]  # rows written per extract (restated records count once per file they appear in)
    files: dict[str, int]  # files written per extract
    planted: dict[str, int]  # answer-key households per kind
    live_planted: int  # da_pattern and known_case_lapsed households live at the as-of date
    homes: int
    as_of: dt.date


def _day(d: dt.date) -> int:
    return (d - EPOCH).days


def _date(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


@dataclass(frozen=True)
class Calendar:
    """Day numbers (days since 1970-01-01) bounding the history."""

    as_of: int
    start: int  # the first day of the history, a Monday
    rent_start: int  # the first rent week_ending (a Sunday)

    @property
    def initial_file(self) -> int:
        return self.start - 1  # the Sunday before the history: reference data known at the outset

    @property
    def days(self) -> int:
        return self.as_of - self.start + 1

    def file_day(self, day: np.ndarray) -> np.ndarray:
        """The drop a record known on ``day`` lands in: its week-ending Sunday, within the history."""
        week_end = day + (6 - (day + 3) % 7)
        return np.clip(week_end, self.initial_file, self.as_of)


def calendar(as_of: dt.date, years: int, rent_years: int) -> Calendar:
    sunday = _day(last_sunday(as_of))
    return Calendar(_day(as_of), sunday - 364 * years + 1, sunday - 7 * (52 * rent_years - 1))


# ---------------------------------------------------------------- properties and tenancies


@dataclass
class Stock:
    """Dwellings 0..homes-1, then one communal reference per block."""

    homes: int
    ref: np.ndarray  # property_ref per property (dwellings then communal)
    block: np.ndarray  # block index per property, -1 for none
    estate: np.ndarray  # estate index per property
    ptype: np.ndarray
    bedrooms: np.ndarray  # 0 for communal (written blank)
    block_ref: list[str]
    block_homes: list[np.ndarray]
    estate_name: list[str]
    estate_homes: list[np.ndarray]
    _series: pl.Series | None = field(default=None, repr=False)

    def refs(self, idx: np.ndarray) -> pl.Series:
        """property_ref of each index (as a polars Series, built once)."""
        if self._series is None:
            self._series = pl.Series(self.ref.tolist(), dtype=pl.String)
        return self._series.gather(idx)

    @property
    def communal_of_block(self) -> np.ndarray:
        return self.homes + np.arange(len(self.block_ref))


def _stock(rng: np.random.Generator, homes: int) -> Stock:
    n_est = max(3, round(homes / 500))
    sizes = rng.multinomial(homes - n_est, rng.dirichlet(np.full(n_est, 4.0))) + 1
    names = txt.estate_names(n_est)
    ptype: list[np.ndarray] = []
    block = np.full(homes, -1, dtype=np.int64)
    estate = np.repeat(np.arange(n_est), sizes)
    block_homes: list[np.ndarray] = []
    first = 0
    for size in sizes:
        p_flat = rng.uniform(0.2, 0.7)
        p = np.array([p_flat, 0.10, 0.92 - p_flat - 0.10, 0.08])
        counts = rng.multinomial(size, p / p.sum())
        kinds = np.repeat(np.array(["flat", "maisonette", "house", "bungalow"]), counts)
        ptype.append(kinds)
        for kind_start, kind_count, lo, hi in ((0, counts[0], 8, 41), (counts[0], counts[1], 6, 17)):
            pos = 0
            while pos < kind_count:
                n = min(int(rng.integers(lo, hi)), kind_count - pos)
                members = first + kind_start + pos + np.arange(n)
                block[members] = len(block_homes)
                block_homes.append(members)
                pos += n
        first += size
    kinds_all = np.concatenate(ptype)
    beds = np.select(
        [kinds_all == "flat", kinds_all == "maisonette", kinds_all == "house"],
        [
            rng.choice([1, 2, 3], homes, p=[0.45, 0.45, 0.10]),
            rng.choice([2, 3], homes, p=[0.6, 0.4]),
            rng.choice([2, 3, 4], homes, p=[0.3, 0.55, 0.15]),
        ],
        rng.choice([1, 2], homes, p=[0.6, 0.4]),
    )
    n_blocks = len(block_homes)
    block_ref = [f"BLK{j + 1:05d}" for j in range(n_blocks)]
    refs = [f"P{100001 + i}" for i in range(homes)] + [f"{b}-C" for b in block_ref]
    block_estate = np.array([estate[m[0]] for m in block_homes], dtype=np.int64)
    return Stock(
        homes=homes,
        ref=np.array(refs, dtype=object),
        block=np.concatenate([block, np.arange(n_blocks)]),
        estate=np.concatenate([estate, block_estate]),
        ptype=np.concatenate([kinds_all, np.full(n_blocks, "communal")]).astype(object),
        bedrooms=np.concatenate([beds, np.zeros(n_blocks, dtype=np.int64)]),
        block_ref=block_ref,
        block_homes=block_homes,
        estate_name=names,
        estate_homes=[np.flatnonzero(estate == e) for e in range(n_est)],
    )


@dataclass
class Tenancies:
    home: np.ndarray
    start: np.ndarray
    end: np.ndarray  # NO_END when still live at the as-of date
    next_start: np.ndarray  # start of the following tenancy of the home (NO_END if none by the as-of date)
    ref: np.ndarray
    key: np.ndarray  # home * 100000 + start, sorted: for "who lived here on day d"
    _series: pl.Series | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.home)

    def refs(self, idx: np.ndarray) -> pl.Series:
        """tenancy_ref of each index (as a polars Series, built once)."""
        if self._series is None:
            self._series = pl.Series(self.ref.tolist(), dtype=pl.String)
        return self._series.gather(idx)

    def at(self, home: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The tenancy of each home on each day, -1 when the home was void."""
        home = np.asarray(home, dtype=np.int64)
        day = np.asarray(day, dtype=np.int64)
        idx = np.searchsorted(self.key, home * 100000 + day, side="right") - 1
        idx = np.clip(idx, 0, len(self.key) - 1)
        ok = (self.home[idx] == home) & (self.start[idx] <= day) & (self.end[idx] >= day)
        return np.where(ok, idx, -1)


def _tenancies(rng: np.random.Generator, homes: int, cal: Calendar) -> Tenancies:
    k_max = 10
    void = rng.integers(14, 57, size=(homes, k_max))
    mean_cycle = 365.25 / TURNOVER_PER_YEAR
    gap = 60 + rng.exponential(mean_cycle - 60 - void.mean(), size=(homes, k_max)).astype(np.int64)
    cyc = np.cumsum(gap + void, axis=1)
    starts = np.concatenate(
        [(cal.start - rng.integers(30, 365 * 15, size=homes))[:, None], cal.start + cyc[:, :-1]], axis=1
    )
    ends = cal.start + cyc - void
    next_start = cal.start + cyc
    seq0 = rng.integers(1, 6, size=homes)
    keep = starts <= cal.as_of
    home_idx, k = np.nonzero(keep)
    start = starts[home_idx, k]
    end = ends[home_idx, k]
    nxt = next_start[home_idx, k]
    end = np.where(end <= cal.as_of, end, NO_END)
    nxt = np.where((end < NO_END) & (nxt <= cal.as_of), nxt, NO_END)
    seq = seq0[home_idx] + k
    refs = np.array(
        [f"T{100001 + h}-{s:02d}" for h, s in zip(home_idx.tolist(), seq.tolist(), strict=True)], dtype=object
    )
    return Tenancies(home_idx, start, end, nxt, refs, home_idx * 100000 + start)


# ---------------------------------------------------------------- repairs


@dataclass
class RepairParts:
    """Repairs accumulated from every source before descriptions, priorities and refs are assigned."""

    prop: list[np.ndarray] = field(default_factory=list)
    ten: list[np.ndarray] = field(default_factory=list)
    day: list[np.ndarray] = field(default_factory=list)
    jtype: list[np.ndarray] = field(default_factory=list)
    planted: list[np.ndarray] = field(default_factory=list)
    crime: dict[int, str] = field(default_factory=dict)  # uid -> crime reference for its text
    size: int = 0

    def add(
        self,
        prop: np.ndarray,
        ten: np.ndarray,
        day: np.ndarray,
        jtype: np.ndarray | int,
        planted: bool = False,
    ) -> np.ndarray:
        n = len(prop)
        uid = self.size + np.arange(n)
        self.prop.append(np.asarray(prop, dtype=np.int64))
        self.ten.append(np.asarray(ten, dtype=np.int64))
        self.day.append(np.asarray(day, dtype=np.int64))
        self.jtype.append(np.broadcast_to(np.asarray(jtype, dtype=np.int64), (n,)).copy())
        self.planted.append(np.full(n, planted))
        self.size += n
        return uid

    def add_one(self, prop: int, ten: int, day: int, jtype: int) -> int:
        return int(
            self.add(np.array([prop]), np.array([ten]), np.array([day]), np.array([jtype]), planted=True)[0]
        )


class Catalogue:
    def __init__(self) -> None:
        self.jobs = txt.job_catalogue()
        self.index = {j.name: i for i, j in enumerate(self.jobs)}
        weights = np.array([j.weight for j in self.jobs])
        self.background = np.flatnonzero(weights > 0)
        self.background_p = weights[self.background] / weights[self.background].sum()
        self.priority_cum = np.cumsum(
            [
                [j.priority.get(c, 0.0) / sum(j.priority.values()) for c in txt.PRIORITY_CODES]
                for j in self.jobs
            ],
            axis=1,
        )
        self.trade_cum = np.cumsum(
            [[j.trades.get(t, 0.0) / sum(j.trades.values()) for t in txt.TRADES] for j in self.jobs], axis=1
        )
        self.cost_median = np.array([j.cost_median_gbp for j in self.jobs])
        self.is_flag = np.array([bool(j.flags) for j in self.jobs])

    def __getitem__(self, name: str) -> int:
        return self.index[name]


def _pick_by_cum(cum: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    u = rng.random(len(rows))[:, None]
    return np.minimum((u > cum[rows]).sum(axis=1), cum.shape[1] - 1)


# ---------------------------------------------------------------- the landlord


@dataclass
class Landlord:
    """Every extract in memory except rent (written week by week), with the answer key."""

    cal: Calendar
    stock: Stock
    ten: Tenancies
    repairs: (
        pl.DataFrame
    )  # one row per job, final state, with internal columns (job_type, is_red_flag, close_day)
    recharges: pl.DataFrame
    asb: pl.DataFrame
    known_cases: pl.DataFrame
    planned_works: pl.DataFrame
    key: pl.DataFrame
    rent_plan: RentPlan
    catalogue: Catalogue


@dataclass
class RentPlan:
    onset: dict[int, int] = field(default_factory=dict)  # tenancy -> day its planted arrears start
    seed: int = 0


class _Builder:
    def __init__(self, homes: int, years: int, seed: int, as_of: dt.date, rent_years: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.homes = homes
        self.years = years
        self.cal = calendar(as_of, years, rent_years)
        self.cat = Catalogue()
        self.parts = RepairParts()
        self.key_rows: list[dict[str, object]] = []
        self.used: set[int] = set()
        self.recharges: list[tuple[int, str, int, int]] = []  # planted: job uid, kind, raised day, tenancy
        self.asb_planted: list[
            tuple[int, int, int, str, str]
        ] = []  # day, subject, complainant, category, text
        self.markers: list[tuple[int, str, int, int]] = []  # tenancy, marker, start, end
        self.programmes: list[
            tuple[int, int, int, str, int, int, int]
        ] = []  # prop, block, estate, prog, s, e, known
        self.rent = RentPlan(seed=seed)

    # ---- stock, tenancies, background -------------------------------------------------------------
    def build(self) -> Landlord:
        progress = get_progress()
        with progress.stage("Synthetic landlord: homes and tenancies"):
            self.stock = _stock(self.rng, self.homes)
            self.ten = _tenancies(self.rng, self.homes, self.cal)
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

    # ---- planting --------------------------------------------------------------------------------
    def _pick(self, first: int, last: int, *, new_from: int | None = None, tries: int = 4000) -> int:
        """A random unused tenancy of a dwelling live from ``first`` to ``last``."""
        ten, rng = self.ten, self.rng
        for _ in range(tries):
            t = int(rng.integers(len(ten)))
            if t in self.used or ten.start[t] > first or ten.end[t] < last:
                continue
            if new_from is not None and ten.start[t] < new_from:
                continue
            self.used.add(t)
            return t
        return -1

    def _repair(self, t: int, day: int, name: str) -> int:
        return self.parts.add_one(int(self.ten.home[t]), t, day, self.cat[name])

    def _key_row(
        self, t: int, kind: str, strength: str, first: int, last: int, notes: str, flags: int
    ) -> None:
        self.key_rows.append(
            {
                "tenancy_ref": self.ten.ref[t],
                "property_ref": self.stock.ref[self.ten.home[t]],
                "kind": kind,
                "strength": strength,
                "start": first,
                "end": last,
                "notes": notes,
                "red_flag_repairs": flags,
            }
        )

    def _plant_all(self) -> None:
        homes, cal = self.homes, self.cal
        scale = homes * self.years
        n_lapsed = max(2, round(homes / 2500))
        self._plant_known_cases(max(3, round(homes / 600)), n_lapsed)
        # Size the da_pattern count so that about LIVE_PATTERN_SHARE of homes hold a live pattern at the as-of
        # date: a pattern is live when it starts within (mean duration + lookback) days of the end.
        # (The last event falls on average about 85% of the way through the planned duration.)
        window = 0.85 * (sum(DA_DAYS) / 2) + LIVE_LOOKBACK_DAYS
        live_target = LIVE_PATTERN_SHARE * homes - 0.9 * n_lapsed
        n_da = max(6, round(live_target * (cal.days - 14) / window))
        self._plant_da_patterns(n_da)
        self._plant_burglaries(max(3, round(scale / 1500)))
        self._plant_block_vandalism(max(2, round(scale / 8000)))
        self._plant_programmes(max(2, round(scale / 10000)))
        self._plant_heavy_repairers(max(3, round(homes / 1000)))
        self._plant_tenancy_starts(max(3, round(scale / 2000)))
        log.info("planted %d households", len(self.key_rows))

    def _da_events(
        self, t: int, first: int, last: int, strength_i: int, ends_at_last: bool = False
    ) -> tuple[list[int], str, int]:
        """Red-flag repairs and other signals of one pattern: (repair days, notes, day of the last event)."""
        rng, cal = self.rng, self.cal
        _, _, (lo, hi), min_signals = DA_STRENGTHS[strength_i]
        n_rf = int(rng.integers(lo, hi + 1))
        names = list(rng.choice(list(DA_REPAIR_MIX), size=n_rf, p=list(DA_REPAIR_MIX.values())))
        if not any(n in ("rf_lock_ext", "rf_lock_int", "rf_lockout_change") for n in names):
            names[0] = "rf_lock_ext" if rng.random() < 0.6 else "rf_lock_int"
        days = np.sort(
            np.concatenate([[first], first + 1 + rng.integers(0, max(last - first, 1), size=n_rf - 1)])
        )
        if ends_at_last:
            days[-1] = last
        uids = [self._repair(t, int(d), n) for d, n in zip(days, names, strict=True)]
        # Other signals: recharges for the damage, a neighbour's complaint of shouting, arrears after a clear
        # account.
        onset = first + int(rng.integers(14, 85))
        ten_start = int(self.ten.start[t])
        arrears_ok = (onset >= max(cal.rent_start, ten_start) + 8 * 7 + 7) and onset <= cal.as_of - 56
        options = ["recharge", "asb"] + (["arrears"] * 2 if arrears_ok else [])
        if min_signals == 2:
            n_sig = 2 + int(rng.random() < 0.3)
        elif min_signals == 1:
            n_sig = 1 + int(rng.random() < 0.2)
        else:
            n_sig = int(rng.random() < 0.3)
        chosen: list[str] = []
        for s in rng.permutation(options):
            if len(chosen) < n_sig and s not in chosen:
                chosen.append(str(s))
        notes_signals = []
        signal_days = [int(days[-1])]
        if "recharge" in chosen:
            damage = [
                i for i, n in enumerate(names) if RECHARGE_KIND.get(n) in ("door", "glass", "keys")
            ] or [0]
            picks = rng.choice(damage, size=min(len(damage), 1 + int(rng.random() < 0.4)), replace=False)
            for i in picks:
                raised = min(int(days[i]) + int(rng.integers(7, 36)), cal.as_of)
                self.recharges.append((uids[i], RECHARGE_KIND[names[i]], raised, t))
                signal_days.append(raised)
            notes_signals.append(f"{len(picks)} damage recharge{'s' if len(picks) > 1 else ''}")
        if "asb" in chosen:
            n_cases = 1 + int(rng.random() < 0.35)
            for _ in range(n_cases):
                day = int(first + rng.integers(0, max(last - first, 1) + 1))
                self._asb_about(t, day)
                signal_days.append(day)
            notes_signals.append(f"ASB shouting/banging as subject x{n_cases}")
        if "arrears" in chosen:
            self.rent.onset[t] = onset
            signal_days.append(onset + 56)  # by then the arrears exceed £200
            notes_signals.append(f"arrears onset {_date(onset).isoformat()}")
        counts: dict[str, int] = {}
        for n in names:
            counts[NOTE_WORDS[n]] = counts.get(NOTE_WORDS[n], 0) + 1
        notes = f"{n_rf} red-flag repairs (" + ", ".join(f"{v} {k}" for k, v in counts.items()) + ")"
        if notes_signals:
            notes += "; " + "; ".join(notes_signals)
        return [int(d) for d in days], notes, max(signal_days)

    def _asb_about(self, t: int, day: int) -> None:
        """A neighbour complains of shouting and banging, with household ``t`` as the subject."""
        rng, stock = self.rng, self.stock
        home = int(self.ten.home[t])
        b = int(stock.block[home])
        candidates = (
            stock.block_homes[b] if b >= 0 else np.arange(max(0, home - 3), min(self.homes, home + 4))
        )
        candidates = candidates[candidates != home]
        complainant = -1
        if len(candidates):
            who = self.ten.at(candidates, np.full(len(candidates), day))
            who = who[who >= 0]
            if len(who):
                complainant = int(rng.choice(who))
        category = txt.ASB_DA_CATEGORIES[int(rng.integers(len(txt.ASB_DA_CATEGORIES)))]
        text = txt.ASB_DA_DESCRIPTIONS[int(rng.integers(len(txt.ASB_DA_DESCRIPTIONS)))]
        self.asb_planted.append((day, t, complainant, category, text))

    def _plant_da_patterns(self, n: int) -> None:
        rng, cal = self.rng, self.cal
        span = cal.days - 14
        # Stratified start dates: every stretch of the history gets its share of new patterns.
        starts = cal.start + ((rng.permutation(n) + rng.random(n)) / n * span).astype(np.int64)
        strengths = rng.choice(3, size=n, p=[s[1] for s in DA_STRENGTHS])
        for s, k in zip(starts.tolist(), strengths.tolist(), strict=True):
            last = min(s + int(rng.integers(DA_DAYS[0], DA_DAYS[1] + 1)), cal.as_of)
            t = self._pick(s, last)
            if t < 0:
                continue
            days, notes, last_day = self._da_events(t, s, last, k)
            self._key_row(t, "da_pattern", DA_STRENGTHS[k][0], days[0], last_day, notes, len(days))

    def _sanctuary(self, t: int, marker_start: int) -> list[str]:
        rng, cal = self.rng, self.cal
        done = []
        names = ["sanctuary_lock"] + ["sanctuary_other"] * int(rng.integers(1, 4))
        for name in names:
            # Fitted within five weeks of the referral (and by the as-of date).
            day = marker_start + 1 + int(rng.integers(0, max(min(34, cal.as_of - marker_start), 1)))
            if cal.start <= day <= cal.as_of:
                self._repair(t, day, name)
                done.append(name)
        return done

    def _plant_known_cases(self, n_live: int, n_lapsed: int) -> None:
        rng, cal = self.rng, self.cal
        for i in range(n_live):
            marker = txt.DA_MARKERS[i % len(txt.DA_MARKERS)]
            if rng.random() < 0.6:
                start, end = cal.as_of - int(rng.integers(14, 330)), NO_END
            else:
                start, end = cal.as_of - int(rng.integers(30, 700)), cal.as_of + int(rng.integers(30, 300))
            t = self._pick(start, cal.as_of)
            if t < 0:
                continue
            self.markers.append((t, marker, start, end))
            works = self._sanctuary(t, start)
            n_flags = 0
            notes = f"{marker} marker from {_date(start).isoformat()}" + (
                f" to {_date(end).isoformat()}" if end < NO_END else " (no end date)"
            )
            notes += f"; sanctuary scheme works x{len(works)}"
            if rng.random() < 0.4:
                lo = max(start, cal.start)
                n_flags = int(rng.integers(2, 5))
                for _ in range(n_flags):
                    name = str(rng.choice(list(DA_REPAIR_MIX), p=list(DA_REPAIR_MIX.values())))
                    self._repair(t, int(lo + rng.integers(0, cal.as_of - lo + 1)), name)
                notes += f"; {n_flags} DA-like repairs while the marker is live"
            self._key_row(t, "known_case", "", start, min(end, cal.as_of), notes, n_flags)
        for _ in range(n_lapsed):
            marker_start = cal.as_of - int(rng.integers(455, 600))
            lapse = marker_start + 365
            t = self._pick(marker_start, cal.as_of)
            if t < 0:
                continue
            marker = txt.DA_MARKERS[int(rng.integers(len(txt.DA_MARKERS)))]
            self.markers.append((t, marker, marker_start, NO_END))
            self._sanctuary(t, marker_start)
            # The new pattern is still going at the as-of date: it should come back on the list.
            s = int(rng.integers(lapse + 14, cal.as_of - 44))
            last = cal.as_of - int(rng.integers(0, 30))
            k = int(rng.choice(3, p=[x[1] for x in DA_STRENGTHS]))
            days, notes, last_day = self._da_events(t, s, last, k, ends_at_last=True)
            notes = (
                f"{marker} marker from {_date(marker_start).isoformat()} with no end date, lapsed "
                f"{_date(lapse).isoformat()}; new pattern: {notes}"
            )
            self._key_row(t, "known_case_lapsed", DA_STRENGTHS[k][0], days[0], last_day, notes, len(days))

    def _plant_burglaries(self, n: int) -> None:
        rng, cal = self.rng, self.cal
        for _ in range(n):
            day = int(cal.start + rng.integers(0, cal.days - 7))
            t = self._pick(day, day + 1)
            if t < 0:
                continue
            crime = txt.crime_reference(rng, _date(day).year)
            for name, offset in (
                ("burg_forced", 0),
                ("burg_lock", int(rng.integers(0, 2))),
                ("burg_glass", 0),
            ):
                uid = self._repair(t, day + offset, name)
                self.parts.crime[uid] = crime
            self._key_row(
                t,
                "lookalike_burglary",
                "",
                day,
                day + 1,
                "burglary: forced entry, lock change and glass on one day, crime ref quoted",
                3,
            )

    def _plant_block_vandalism(self, n: int) -> None:
        rng, cal, stock = self.rng, self.cal, self.stock
        big = [b for b, m in enumerate(stock.block_homes) if len(m) >= 8]
        for b in rng.permutation(big)[:n].tolist():
            day = int(cal.start + rng.integers(0, cal.days - 21))
            members = stock.block_homes[b]
            who = self.ten.at(members, np.full(len(members), day))
            live = [int(t) for t in who[who >= 0] if int(t) not in self.used and self.ten.end[t] >= day + 14]
            if len(live) < 5:
                continue
            chosen = rng.permutation(live)[: int(rng.integers(5, min(12, len(live)) + 1))].tolist()
            for _ in range(int(rng.integers(1, 3))):
                self.parts.add_one(
                    int(stock.communal_of_block[b]),
                    -1,
                    day + int(rng.integers(0, 4)),
                    self.cat["communal_damage"],
                )
            for t in chosen:
                self.used.add(t)
                job_day = day + int(rng.integers(0, 11))
                name = "vand_door" if rng.random() < 0.55 else "vand_glass"
                self._repair(t, job_day, name)
                self._key_row(
                    t,
                    "lookalike_block_vandalism",
                    "",
                    job_day,
                    job_day,
                    f"block {stock.block_ref[b]} vandalism: {len(chosen)} homes and the communal area "
                    f"damaged within a fortnight ({'door' if name == 'vand_door' else 'glass'} here)",
                    1,
                )

    def _plant_programmes(self, n: int) -> None:
        rng, cal, stock = self.rng, self.cal, self.stock
        estates = [e for e, m in enumerate(stock.estate_homes) if len(m) >= 30]
        order = rng.permutation(estates).tolist()
        for i, e in enumerate(order[:n]):
            name, programme = (
                ("planned_window", "Window replacement programme")
                if i % 2 == 0
                else ("planned_door", "Door replacement programme")
            )
            start = int(cal.start + 56 + rng.integers(0, max(cal.days - 56 - 30, 1)))
            end = start + int(rng.integers(60, 151))
            announced = start - int(rng.integers(14, 43))
            self.programmes.append((-1, -1, e, programme, start, end, announced))
            members = stock.estate_homes[e]
            days = start + (rng.random(len(members)) * (end - start + 1)).astype(np.int64)
            ok = days <= cal.as_of
            members, days = members[ok], days[ok]
            who = self.ten.at(members, days)
            self.parts.add(members, who, days, self.cat[name], planted=True)
            marked = 0
            for j in rng.permutation(len(members)).tolist():
                t = int(who[j])
                if marked >= 20 or t < 0 or t in self.used:
                    continue
                self.used.add(t)
                marked += 1
                self._key_row(
                    t,
                    "lookalike_planned_programme",
                    "",
                    int(days[j]),
                    int(days[j]),
                    f"{programme.lower()} on {stock.estate_name[e]}: {len(members)} homes, priority P",
                    0,
                )
        # Programmes nobody is asked about: kitchens on another estate, fire-door inspections in some blocks.
        for e in order[n : n + max(1, n // 2)]:
            start = int(cal.start + rng.integers(0, cal.days))
            end = start + int(rng.integers(90, 240))
            self.programmes.append(
                (-1, -1, e, "Kitchen replacement programme", start, end, start - int(rng.integers(14, 43)))
            )
            members = stock.estate_homes[e]
            members = members[rng.random(len(members)) < 0.3]
            days = start + (rng.random(len(members)) * (end - start + 1)).astype(np.int64)
            ok = days <= cal.as_of
            self.parts.add(
                members[ok], self.ten.at(members[ok], days[ok]), days[ok], self.cat["planned_kitchen"]
            )
        blocks = np.flatnonzero(rng.random(len(stock.block_homes)) < 0.2)
        for b in blocks.tolist():
            start = int(cal.start + rng.integers(0, cal.days))
            end = start + int(rng.integers(14, 60))
            self.programmes.append(
                (-1, b, -1, "Fire door inspection programme", start, end, start - int(rng.integers(14, 43)))
            )
            members = stock.block_homes[b]
            days = start + (rng.random(len(members)) * (end - start + 1)).astype(np.int64)
            ok = days <= cal.as_of
            self.parts.add(
                members[ok], self.ten.at(members[ok], days[ok]), days[ok], self.cat["planned_firedoor"]
            )

    def _plant_heavy_repairers(self, n: int) -> None:
        rng, cal = self.rng, self.cal
        mix = {"plumb_leak": 0.35, "heating": 0.25, "damp": 0.25, "plumb_fixtures": 0.1, "roof": 0.05}
        for _ in range(n):
            start = int(cal.start + rng.integers(0, max(cal.days - 120, 1)))
            last = min(start + 365, cal.as_of)
            t = self._pick(start, last)
            if t < 0:
                continue
            count = max(5, round(rng.uniform(15, 30) * (last - start) / 365))
            days = np.sort(start + rng.integers(0, last - start + 1, size=count))
            names = rng.choice(list(mix), size=count, p=list(mix.values()))
            for d, name in zip(days.tolist(), names.tolist(), strict=True):
                self._repair(t, d, name)
            self._key_row(
                t,
                "lookalike_heavy_repairer",
                "",
                int(days[0]),
                int(days[-1]),
                f"{count} non-red-flag repairs in {round((last - start) / 30.4)} months: leaks, heating, "
                "damp",
                0,
            )

    def _plant_tenancy_starts(self, n: int) -> None:
        rng, cal, ten = self.rng, self.cal, self.ten
        fresh = np.flatnonzero(
            (ten.start >= cal.start + 7) & (ten.start <= cal.as_of - 35) & (ten.end >= ten.start + 35)
        )
        for t in rng.permutation(fresh)[: n * 3].tolist():
            if n <= 0:
                break
            if t in self.used:
                continue
            self.used.add(t)
            n -= 1
            s = int(ten.start[t])
            lock_day = s + int(rng.integers(1, 15))
            keys_day = s + int(rng.integers(3, 28))
            self._repair(t, lock_day, "rf_lock_ext")
            self._repair(t, keys_day, "rf_lost_keys")
            self._key_row(
                t,
                "lookalike_tenancy_start",
                "",
                min(lock_day, keys_day),
                max(lock_day, keys_day),
                "new tenancy: lock change and lost keys in its first four weeks",
                2,
            )

    # ---- assembling the extracts -------------------------------------------------------------------
    def _finish_repairs(self) -> pl.DataFrame:
        rng, cal, cat, parts = self.rng, self.cal, self.cat, self.parts
        prop = np.concatenate(parts.prop)
        ten = np.concatenate(parts.ten)
        day = np.concatenate(parts.day)
        jtype = np.concatenate(parts.jtype)
        planted = np.concatenate(parts.planted)
        n = len(prop)
        priority = _pick_by_cum(cat.priority_cum, jtype, rng)
        trade = _pick_by_cum(cat.trade_cum, jtype, rng)
        emergency = priority <= 1
        minute = np.where(
            emergency,
            rng.integers(0, 1440, size=n),
            np.where(
                priority == 4, rng.integers(8 * 60, 16 * 60, size=n), rng.integers(8 * 60, 18 * 60, size=n)
            ),
        )
        reported = day * 1440 + minute
        delay = np.select(
            [priority == 0, priority == 1, priority == 2, priority == 3, priority == 4],
            [
                rng.integers(30, 240, size=n),
                rng.integers(60, 1440, size=n),
                rng.integers(1, 8, size=n) * 1440,
                rng.integers(3, 36, size=n) * 1440,
                rng.integers(0, 3, size=n) * 1440 + 420,
            ],
            rng.integers(1, 11, size=n) * 1440,
        )
        closed = reported + delay
        u = rng.random(n)
        responsive = priority <= 3
        status = np.where(
            responsive & ~planted & (u < 0.04), 1, np.where(responsive & ~planted & (u < 0.065), 3, 0)
        )
        is_open = closed > (cal.as_of + 1) * 1440 - 1
        status = np.where(is_open, 2, status)  # 0 Complete, 1 Cancelled, 2 Open, 3 No Access
        cost = np.round(cat.cost_median[jtype] * np.exp(rng.normal(0, 0.45, size=n)), 2)
        tables = txt.text_tables(cat.jobs, np.random.default_rng(self.seed + 7919))
        description, sor_code = txt.describe_jobs(jtype, trade, priority, tables, rng)
        if parts.crime:
            rows = np.array(sorted(parts.crime))
            texts = [
                re.sub("<crime>", parts.crime[int(u)], text, flags=re.IGNORECASE)
                for u, text in zip(rows.tolist(), description.gather(rows).to_list(), strict=True)
            ]
            description = description.scatter(rows, pl.Series(texts, dtype=pl.String))
        order = np.lexsort((prop, reported))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        frame = pl.DataFrame(
            {
                "uid": np.arange(n),
                "rank": rank,
                "prop": prop,
                "ten": ten,
                "reported_min": reported,
                "closed_min": np.where(is_open, -1, closed),
                "job_type": jtype,
                "is_red_flag": cat.is_flag[jtype],
                "is_planted": planted,
                "priority": pl.Series(np.array(txt.PRIORITY_CODES)[priority]),
                "trade": pl.Series(np.array(txt.TRADES)[trade]),
                "status": pl.Series(np.array(["Complete", "Cancelled", "Open", "No Access"])[status]),
                "cost_gbp": np.where(status == 0, cost, np.nan),
                "description": description,
                "sor_code": sor_code,
            }
        )
        frame = frame.with_columns(
            pl.concat_str(pl.lit("WO"), (pl.col("rank") + 2_000_001).cast(pl.String)).alias("job_ref"),
            self.stock.refs(prop).alias("property_ref"),
            pl.when(pl.col("ten") >= 0)
            .then(self.ten.refs(np.maximum(ten, 0)))
            .otherwise(None)
            .alias("tenancy_ref"),
            pl.col("cost_gbp").fill_nan(None),
            (pl.col("reported_min") * 60_000).cast(pl.Datetime("ms")).alias("reported_at"),
            pl.when(pl.col("status") == "Complete")
            .then((pl.col("closed_min") * 60_000).cast(pl.Datetime("ms")))
            .otherwise(None)
            .alias("completed_at"),
            (pl.col("reported_min") // 1440).alias("known_day"),
            pl.when(pl.col("closed_min") >= 0)
            .then(pl.col("closed_min") // 1440)
            .otherwise(None)
            .alias("close_day"),
        )
        return frame.sort("rank")

    def _recharges(self, repairs: pl.DataFrame) -> pl.DataFrame:
        rng, cal, cat, ten = self.rng, self.cal, self.cat, self.ten
        job_ref = repairs.sort("uid")["job_ref"]
        kind_of_type = np.array([RECHARGE_KIND.get(j.name, "") for j in cat.jobs], dtype=object)
        jt = repairs["job_type"].to_numpy()
        eligible = (
            (kind_of_type[jt] != "")
            & (repairs["ten"].to_numpy() >= 0)
            & (repairs["status"] == "Complete").to_numpy()
            & ~repairs["is_planted"].to_numpy()
            & (jt != cat["rf_forced"])
        )
        charge = eligible & (rng.random(len(jt)) < 0.28)
        callout = (
            ((repairs["priority"] == "I") | (repairs["priority"] == "E")).to_numpy()
            & ~eligible
            & (repairs["ten"].to_numpy() >= 0)
            & (rng.random(len(jt)) < 0.002)
        )
        rows_uid = repairs["uid"].to_numpy()
        close_day = repairs["close_day"].fill_null(cal.as_of).to_numpy()
        uid = np.concatenate([rows_uid[charge], rows_uid[callout]])
        kind = np.concatenate([kind_of_type[jt[charge]], np.full(callout.sum(), "callout", dtype=object)])
        day = np.concatenate([close_day[charge], close_day[callout]]) + rng.integers(3, 31, size=len(uid))
        t = np.concatenate([repairs["ten"].to_numpy()[charge], repairs["ten"].to_numpy()[callout]])
        if self.recharges:
            uid = np.concatenate([uid, [r[0] for r in self.recharges]])
            kind = np.concatenate([kind, np.array([r[1] for r in self.recharges], dtype=object)])
            day = np.concatenate([day, [r[2] for r in self.recharges]])
            t = np.concatenate([t, [r[3] for r in self.recharges]])
        job = job_ref.gather(uid).to_list()
        # End-of-tenancy clearance, charged to the outgoing household.
        ended = np.flatnonzero((ten.end >= cal.start) & (ten.end < cal.as_of) & (rng.random(len(ten)) < 0.12))
        t = np.concatenate([t, ended])
        kind = np.concatenate([kind, np.full(len(ended), "clearance", dtype=object)])
        day = np.concatenate([day, ten.end[ended] + rng.integers(10, 41, size=len(ended))])
        job += [None] * len(ended)
        keep = day <= cal.as_of
        t, kind, day = t[keep], kind[keep], day[keep]
        job = [j for j, k in zip(job, keep.tolist(), strict=True) if k]
        n = len(t)
        lo = np.array([RECHARGE_AMOUNT_GBP[k][0] for k in kind])
        hi = np.array([RECHARGE_AMOUNT_GBP[k][1] for k in kind])
        pence = np.round((lo + rng.random(n) * (hi - lo)) * 100).astype(np.int64)
        pence = np.where(rng.random(n) < 0.6, pence // 100 * 100, pence)  # most charges are whole pounds
        reasons = [
            txt.RECHARGE_REASONS[k][i % len(txt.RECHARGE_REASONS[k])]
            for k, i in zip(kind.tolist(), rng.integers(0, 1000, size=n).tolist(), strict=True)
        ]
        u = rng.random(n)
        final = np.where(
            u < 0.55, "Paid", np.where(u < 0.63, "Disputed", np.where(u < 0.70, "Written Off", "Raised"))
        )
        change = day + np.select(
            [final == "Paid", final == "Disputed"],
            [rng.integers(14, 121, size=n), rng.integers(7, 31, size=n)],
            rng.integers(180, 401, size=n),
        )
        change = np.where((final == "Raised") | (change > cal.as_of), -1, change)
        order = np.lexsort((t, day))
        frame = pl.DataFrame(
            {
                "t": t,
                "raised_day": day,
                "change_day": change,
                "final": final,
                "pence": pence,
                "reason": reasons,
                "job_ref": pl.Series(job, dtype=pl.String),
                "pound_sign": rng.random(n) < 0.07,
            }
        )[order]
        frame = frame.with_columns(
            pl.concat_str(pl.lit("RC"), (pl.int_range(pl.len()) + 300_001).cast(pl.String)).alias(
                "recharge_ref"
            ),
            self.ten.refs(frame["t"].to_numpy()).alias("tenancy_ref"),
            self.stock.refs(ten.home[frame["t"].to_numpy()]).alias("property_ref"),
            pl.concat_str(
                pl.when(pl.col("pound_sign")).then(pl.lit("£")).otherwise(pl.lit("")),
                (pl.col("pence") // 100).cast(pl.String),
                pl.lit("."),
                (pl.col("pence") % 100).cast(pl.String).str.zfill(2),
            ).alias("amount_gbp"),
            _days_to_date(pl.col("raised_day")).alias("raised_at"),
        )
        return frame

    def _asb(self) -> pl.DataFrame:
        rng, cal, stock, ten = self.rng, self.cal, self.stock, self.ten
        n = rng.poisson(ASB_CASES_PER_HOME_YEAR * self.homes * cal.days / 365.25)
        day = cal.start + rng.integers(0, cal.days, size=n)
        home = rng.integers(0, self.homes, size=n)
        comp = ten.at(home, day)
        keep = comp >= 0
        day, home, comp = day[keep], home[keep], comp[keep]
        n = len(day)
        subject = ten.at(_neighbour(rng, stock, home), day)
        witness = ten.at(_neighbour(rng, stock, home), day)
        shape = rng.random(n)
        victim_only = (shape < 0.12) | (subject < 0) | (subject == comp)
        with_witness = (
            ~victim_only & (shape > 0.92) & (witness >= 0) & (witness != comp) & (witness != subject)
        )
        cat_p = np.array([c[1] for c in txt.ASB_CATEGORIES])
        category = rng.choice(len(txt.ASB_CATEGORIES), size=n, p=cat_p / cat_p.sum())
        texts = [
            txt.ASB_CATEGORIES[c][2][i % len(txt.ASB_CATEGORIES[c][2])]
            for c, i in zip(category.tolist(), rng.integers(0, 1000, size=n).tolist(), strict=True)
        ]
        names = np.array([c[0] for c in txt.ASB_CATEGORIES], dtype=object)[category]
        cases = {
            "day": day,
            "cat": names,
            "text": np.array(texts, dtype=object),
            "comp": np.where(victim_only, -1, comp),
            "victim": np.where(victim_only, comp, -1),
            "subject": np.where(victim_only, -1, subject),
            "witness": np.where(with_witness, witness, -1),
        }
        planted = self.asb_planted
        if planted:
            cases["day"] = np.concatenate([cases["day"], [p[0] for p in planted]])
            cases["cat"] = np.concatenate([cases["cat"], np.array([p[3] for p in planted], dtype=object)])
            cases["text"] = np.concatenate([cases["text"], np.array([p[4] for p in planted], dtype=object)])
            cases["subject"] = np.concatenate([cases["subject"], [p[1] for p in planted]])
            cases["comp"] = np.concatenate([cases["comp"], [p[2] for p in planted]])
            cases["victim"] = np.concatenate([cases["victim"], np.full(len(planted), -1)])
            cases["witness"] = np.concatenate([cases["witness"], np.full(len(planted), -1)])
        m = len(cases["day"])
        order = np.lexsort((cases["comp"], cases["day"]))
        for k in cases:
            cases[k] = cases[k][order]
        closed = cases["day"] + rng.integers(14, 201, size=m)
        closed = np.where(closed <= cal.as_of, closed, -1)
        case_ref = np.array([f"ASB-{i + 10001:06d}" for i in range(m)], dtype=object)
        pieces = []
        for role, col in (
            ("Complainant", "comp"),
            ("Alleged Perpetrator", "subject"),
            ("Victim", "victim"),
            ("Witness", "witness"),
        ):
            sel = cases[col] >= 0
            pieces.append(
                pl.DataFrame(
                    {
                        "case_ref": pl.Series(case_ref[sel].tolist(), dtype=pl.String),
                        "t": cases[col][sel],
                        "opened_day": cases["day"][sel],
                        "close_day": closed[sel],
                        "category": pl.Series(cases["cat"][sel].tolist(), dtype=pl.String),
                        "role": role,
                        "description": pl.Series(cases["text"][sel].tolist(), dtype=pl.String),
                    }
                )
            )
        frame = pl.concat(pieces).sort(["case_ref", "t"])
        return frame.with_columns(
            self.ten.refs(frame["t"].to_numpy()).alias("tenancy_ref"),
            _days_to_date(pl.col("opened_day")).alias("opened_at"),
            pl.when(pl.col("close_day") >= 0)
            .then(_days_to_date(pl.col("close_day")))
            .otherwise(None)
            .alias("closed_at"),
            pl.when(pl.col("close_day") >= 0).then(pl.col("close_day")).otherwise(None).alias("close_day"),
        )

    def _known_cases(self) -> pl.DataFrame:
        rng, cal, ten = self.rng, self.cal, self.ten
        # Other markers (vulnerability, staff safety) that the suppression settings do not act on.
        n_other = max(3, round(self.homes * 0.01))
        t_other = rng.integers(0, len(ten), size=n_other)
        start = np.maximum(ten.start[t_other], cal.start - 400) + rng.integers(0, 200, size=n_other)
        ok = (start <= cal.as_of) & (start <= ten.end[t_other])
        rows = list(self.markers)
        for t, s in zip(t_other[ok].tolist(), start[ok].tolist(), strict=True):
            rows.append((t, txt.OTHER_MARKERS[int(rng.integers(len(txt.OTHER_MARKERS)))], s, NO_END))
        rows = sorted(set(rows), key=lambda r: (r[2], r[0], r[1]))
        frame = pl.DataFrame(
            {
                "t": [r[0] for r in rows],
                "marker": [r[1] for r in rows],
                "start_day": [r[2] for r in rows],
                "end_day": [r[3] for r in rows],
            },
            schema={"t": pl.Int64, "marker": pl.String, "start_day": pl.Int64, "end_day": pl.Int64},
        )
        return frame.with_columns(
            self.ten.refs(frame["t"].to_numpy()).alias("tenancy_ref"),
            _days_to_date(pl.col("start_day")).alias("start_date"),
            pl.when(pl.col("end_day") < NO_END)
            .then(_days_to_date(pl.col("end_day")))
            .otherwise(None)
            .alias("end_date"),
        )

    def _planned_works(self) -> pl.DataFrame:
        stock = self.stock
        rows = sorted(self.programmes, key=lambda r: (r[6], r[4], r[3], r[1], r[2]))
        return pl.DataFrame(
            {
                "property_ref": [None for _ in rows],
                "block_ref": [stock.block_ref[r[1]] if r[1] >= 0 else None for r in rows],
                "estate": [stock.estate_name[r[2]] if r[2] >= 0 else None for r in rows],
                "programme": [r[3] for r in rows],
                "start_date": [_date(r[4]) for r in rows],
                "end_date": [_date(r[5]) for r in rows],
                "known_day": [max(r[6], self.cal.start) for r in rows],
            },
            schema={
                "property_ref": pl.String,
                "block_ref": pl.String,
                "estate": pl.String,
                "programme": pl.String,
                "start_date": pl.Date,
                "end_date": pl.Date,
                "known_day": pl.Int64,
            },
        )

    def _key(self) -> pl.DataFrame:
        as_of = self.cal.as_of
        rows = self.key_rows
        return pl.DataFrame(
            {
                "tenancy_ref": [r["tenancy_ref"] for r in rows],
                "property_ref": [r["property_ref"] for r in rows],
                "kind": [r["kind"] for r in rows],
                "strength": [r["strength"] or None for r in rows],
                "pattern_start": [_date(int(r["start"])) for r in rows],  # type: ignore[call-overload]
                "pattern_end": [_date(int(r["end"])) for r in rows],  # type: ignore[call-overload]
                "live_at_as_of": [
                    int(r["start"]) <= as_of and int(r["end"]) >= as_of - LIVE_LOOKBACK_DAYS  # type: ignore[call-overload]
                    for r in rows
                ],
                "notes": [r["notes"] for r in rows],
                "red_flag_repairs": [r["red_flag_repairs"] for r in rows],
            },
            schema={
                "tenancy_ref": pl.String,
                "property_ref": pl.String,
                "kind": pl.String,
                "strength": pl.String,
                "pattern_start": pl.Date,
                "pattern_end": pl.Date,
                "live_at_as_of": pl.Boolean,
                "notes": pl.String,
                "red_flag_repairs": pl.Int64,
            },
        ).sort(["kind", "pattern_start", "tenancy_ref"])


def _days_to_date(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Int32).cast(pl.Date)


def _neighbour(rng: np.random.Generator, stock: Stock, home: np.ndarray) -> np.ndarray:
    """A home next to each of ``home``: the same block for flats, a few doors along otherwise."""
    block = stock.block[home]
    sizes = np.array([len(m) for m in stock.block_homes] + [1])
    first = np.array([m[0] for m in stock.block_homes] + [0])
    in_block = block >= 0
    b = np.where(in_block, block, len(sizes) - 1)
    along = first[b] + (rng.random(len(home)) * sizes[b]).astype(np.int64)
    offset = rng.choice(np.array([-3, -2, -1, 1, 2, 3]), size=len(home))
    street = np.clip(home + offset, 0, stock.homes - 1)
    return np.where(in_block, along, street)


# ---------------------------------------------------------------- rent


def rent_weeks(landlord: Landlord) -> Iterator[tuple[int, pl.DataFrame]]:
    """(week_ending day, one row per live tenancy) for each week of the rent window, oldest first.

    Balances evolve weekly: charges; payments weekly, fortnightly or four-weekly (Universal Credit);
    occasional missed payments and catch-up; a five-week wait on new Universal Credit claims. Planted
    households pay little for some months from their arrears onset, after a clear account.
    """
    cal, ten, stock = landlord.cal, landlord.ten, landlord.stock
    rng = np.random.default_rng(landlord.rent_plan.seed + 104729)
    last_week = _day(last_sunday(_date(cal.as_of)))
    burn_in = 26
    first_sim = cal.rent_start - 7 * burn_in
    idx = np.flatnonzero(ten.end >= first_sim - 6)
    n = len(idx)
    beds = stock.bedrooms[ten.home[idx]]
    kind = stock.ptype[ten.home[idx]]
    base = (
        80
        + 16 * beds
        + np.where(kind == "house", 8, np.where(kind == "bungalow", 5, 0))
        + rng.normal(0, 5, n)
    )
    base = np.clip(base, 90, 150)
    cycle = rng.choice([1, 2, 4], size=n, p=[0.60, 0.18, 0.22])
    uc = (cycle == 4) & (rng.random(n) < 0.55)  # Universal Credit housing costs: four-weekly, in arrears
    offset = rng.integers(0, 4, size=n)
    advance = ~uc & (rng.random(n) < 0.5)  # pays ahead: keeps a cycle's rent in credit
    late = (cycle == 1) & ~advance & (rng.random(n) < 0.15)  # pays a week behind: "technical" arrears
    p_miss = np.where(rng.random(n) < 0.85, rng.uniform(0.0, 0.04, n), rng.uniform(0.04, 0.15, n))
    struggling = rng.random(n) < 0.07
    pay_ratio = np.where(struggling, rng.uniform(0.80, 0.97, n), 1.0)
    catch_rate = rng.uniform(0.1, 0.4, n)
    lag_week = np.where(uc & (rng.random(n) < 0.15), rng.integers(0, burn_in + 52, n), -100)
    onset = np.full(n, NO_END)
    pos = {int(t): i for i, t in enumerate(idx.tolist())}
    for t, day in landlord.rent_plan.onset.items():
        i = pos.get(t)
        if i is None:
            continue
        # A clear account before the onset: weekly, in advance, never missed.
        onset[i] = day
        cycle[i], uc[i], advance[i], late[i], p_miss[i], pay_ratio[i], lag_week[i] = (
            1,
            False,
            True,
            False,
            0.0,
            1.0,
            -100,
        )
    drop_ratio = rng.uniform(0.1, 0.4, n)
    abuse_days = rng.integers(16, 41, size=n) * 7  # then an arrangement starts to clear it
    started = np.zeros(n, dtype=bool)
    balance = np.zeros(n)
    refs = ten.refs(idx)
    start, end = ten.start[idx], ten.end[idx]
    week_i = 0
    for week in range(first_sim, last_week + 1, 7):
        live = (start <= week) & (end >= week - 6)
        new = live & ~started
        started |= live
        lag_week = np.where(
            new & uc & (start > first_sim - 7), week_i, lag_week
        )  # a new claim: five weeks' wait
        years_in = (week - first_sim) // 364
        due = np.minimum(base * 1.04**years_in, 160.0)
        balance += np.where(live, due, 0.0)
        # On a payday the household pays what brings the account to its usual level (nil, or a cycle in
        # credit), up to the cycle's rent plus a little towards any arrears.
        payday = ((week_i - offset) % cycle == 0) & (rng.random(n) >= p_miss)
        target = np.where(advance, -cycle * due, np.where(late, due, 0.0))
        owed = np.clip(balance - target, 0.0, cycle * due * (1 + catch_rate))
        pay = np.where(payday, owed * pay_ratio, 0.0)
        pay = np.where((week_i >= lag_week) & (week_i < lag_week + 5), 0.0, pay)
        # Large arrears are eventually cleared down by an arrangement or a lump sum (DHP, backdated benefit).
        lump = (balance > 8 * due) & (rng.random(n) < 0.1)
        pay = np.where(lump, balance - 2 * due, pay)
        pay = np.where((week >= onset) & (week < onset + abuse_days), due * drop_ratio, pay)
        balance = np.round(balance - np.where(live, pay, 0.0), 2)
        week_i += 1
        if week < cal.rent_start:
            continue
        rows = np.flatnonzero(live)
        yield (
            week,
            pl.DataFrame(
                {
                    "tenancy_ref": refs.gather(rows),
                    "week_ending": pl.Series(np.full(len(rows), week), dtype=pl.Int32).cast(pl.Date),
                    "balance_gbp": balance[rows],
                    "weekly_charge_gbp": np.round(due[rows], 2),
                }
            ),
        )


# ---------------------------------------------------------------- writing


def _weekly(
    frame: pl.DataFrame, cal: Calendar, open_col: str, close_col: str | None, before_close: dict[str, pl.Expr]
) -> pl.DataFrame:
    """Knowledge-time versions: each record in the drop of the week it became known, restated in the drop of
    the week it closed when that is later (with ``before_close`` columns blanked/overridden in the first)."""
    opened = cal.file_day(frame[open_col].to_numpy())
    frame = frame.with_columns(pl.Series("file_day", opened))
    if close_col is None:
        return frame
    closed = frame[close_col].fill_null(-1).to_numpy()
    closed_file = np.where(closed >= 0, cal.file_day(np.maximum(closed, 0)), -1)
    later = (closed >= 0) & (closed_file > opened)
    frame = frame.with_columns(pl.Series("_later", later), pl.Series("_closed_file", closed_file))
    first = frame.with_columns(
        [
            pl.when(pl.col("_later")).then(expr).otherwise(pl.col(name)).alias(name)
            for name, expr in before_close.items()
        ]
    )
    second = frame.filter(pl.col("_later")).with_columns(pl.col("_closed_file").alias("file_day"))
    return pl.concat([first, second]).drop("_later", "_closed_file")


def drop_path(folder: Path, name: str, day: int, *, undated: bool) -> Path:
    """Where the drop of the week ending ``day`` goes. Dated: ``repairs_2026-11-22.csv``. Undated, as many
    housing systems name exports: ``repairs_FY2026-27_wk34.csv`` (financial year from 1 April and its week
    number, which are not dates); the extract date is then the file's modification time (``stamp_export``)."""
    sunday = _date(day)
    if not undated:
        return folder / f"{name}_{sunday.isoformat()}.csv"
    fy = sunday.year if sunday.month >= 4 else sunday.year - 1
    week = (sunday - dt.date(fy, 4, 1)).days // 7 + 1
    return folder / f"{name}_FY{fy}-{(fy + 1) % 100:02d}_wk{week:02d}.csv"


# The moment a week's drop is exported: 02:00 local time on the Monday after its week-ending Sunday.
EXPORT_HOUR = 2


def stamp_export(path: Path, day: int) -> None:
    """Set an undated drop's modification time to its export moment (what an SFTP drop keeps)."""
    moment = dt.datetime.combine(_date(day) + dt.timedelta(days=1), dt.time(EXPORT_HOUR)).timestamp()
    os.utime(path, (moment, moment))


def _write_drops(
    frame: pl.DataFrame, out_dir: Path, name: str, sort_by: list[str], *, undated: bool = False
) -> tuple[int, int]:
    folder = out_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    frame = frame.sort(["file_day", *sort_by])
    days = frame["file_day"].to_numpy()
    values, offsets = np.unique(days, return_index=True)
    bounds = [*offsets.tolist(), len(days)]
    for i, day in enumerate(values.tolist()):
        part = frame.slice(bounds[i], bounds[i + 1] - bounds[i]).select(COLUMNS[name])
        path = drop_path(folder, name, day, undated=undated)
        _write_csv(part, path)
        if undated:
            stamp_export(path, day)
    return len(frame), len(values)


def _write_csv(frame: pl.DataFrame, path: Path) -> None:
    frame.write_csv(path, date_format="%d/%m/%Y", datetime_format="%d/%m/%Y %H:%M", float_precision=2)


def _mapping(seed: int) -> dict[str, object]:
    extracts: dict[str, object] = {}
    for name in EXTRACTS:
        spec: dict[str, object] = {
            "files": f"{name}/{name}_*.csv",
            "encoding": "utf-8",
            "delimiter": ",",
            "columns": {c: c for c in COLUMNS[name]},
        }
        if name in VALUE_MAPS:
            spec["values"] = VALUE_MAPS[name]
        extracts[name] = spec
    return {"landlord": f"Synthetic Homes (seed {seed})", "extracts": extracts}


def default_key_path(out_dir: Path) -> Path:
    return out_dir.parent / f"{out_dir.name}_answer_key.csv"


def _prepare_out_dir(out_dir: Path, key_path: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir} is a file, not a folder")
    resolved = out_dir.resolve()
    if resolved == key_path.resolve().parent or resolved in key_path.resolve().parents:
        raise UserError(f"the answer key {key_path} must not be inside the extracts folder {out_dir}")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (out_dir / "mapping.yaml").exists():
            raise UserError(f"{out_dir} is not empty and holds no synthetic landlord; choose a new folder")
        for name in EXTRACTS:  # a previous synthetic landlord: replace it, leaving anything else alone
            shutil.rmtree(out_dir / name, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)


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
    _prepare_out_dir(out_dir, key_path)
    landlord = build_landlord(homes=homes, years=years, seed=seed, as_of=as_of, rent_years=rent_years)
    cal = landlord.cal
    rows: dict[str, int] = {}
    files: dict[str, int] = {}
    progress = get_progress()
    with progress.stage("Writing repairs"):
        repairs = _weekly(
            landlord.repairs.select(*COLUMNS["repairs"], "known_day", "close_day"),
            cal,
            "known_day",
            "close_day",
            {"status": pl.lit("Open"), "completed_at": pl.lit(None), "cost_gbp": pl.lit(None)},
        )
        rows["repairs"], files["repairs"] = _write_drops(
            repairs, out_dir, "repairs", ["job_ref"], undated=undated
        )
    with progress.stage("Writing recharges, ASB, tenancies and reference extracts"):
        recharges = _weekly(
            landlord.recharges.with_columns(pl.col("final").alias("status")),
            cal,
            "raised_day",
            "change_day",
            {"status": pl.lit("Raised")},
        )
        rows["recharges"], files["recharges"] = _write_drops(
            recharges, out_dir, "recharges", ["recharge_ref"], undated=undated
        )
        asb = _weekly(landlord.asb, cal, "opened_day", "close_day", {"closed_at": pl.lit(None)})
        rows["asb"], files["asb"] = _write_drops(
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
            _days_to_date(pl.col("start_day")).alias("start_date"),
            pl.when(pl.col("end_day") >= 0)
            .then(_days_to_date(pl.col("end_day")))
            .otherwise(None)
            .alias("end_date"),
            pl.when(pl.col("end_day") >= 0).then(pl.col("end_day")).otherwise(None).alias("close_day"),
        )
        tenancies = _weekly(tenancies, cal, "start_day", "close_day", {"end_date": pl.lit(None)})
        rows["tenancies"], files["tenancies"] = _write_drops(
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
        rows["properties"], files["properties"] = _write_drops(
            properties, out_dir, "properties", ["property_ref"], undated=undated
        )
        known = _weekly(landlord.known_cases, cal, "start_day", None, {})
        rows["known_cases"], files["known_cases"] = _write_drops(
            known, out_dir, "known_cases", ["tenancy_ref", "marker"], undated=undated
        )
        planned = _weekly(landlord.planned_works, cal, "known_day", None, {})
        rows["planned_works"], files["planned_works"] = _write_drops(
            planned, out_dir, "planned_works", ["start_date", "programme"], undated=undated
        )
    with progress.stage("Writing weekly rent snapshots"):
        rent_dir = out_dir / "rent"
        rent_dir.mkdir(parents=True, exist_ok=True)
        rows["rent"], files["rent"] = 0, 0
        for week, frame in rent_weeks(landlord):
            if frame.height:
                path = drop_path(rent_dir, "rent", week, undated=undated)
                _write_csv(frame, path)
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
        header + yaml.safe_dump(_mapping(seed), sort_keys=False, allow_unicode=True), encoding="utf-8"
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
