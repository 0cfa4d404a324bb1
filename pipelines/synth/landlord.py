"""The synthetic landlord in memory: the answer key's format, the repairs being planted, the job catalogue
as arrays, the rent plan, the finished landlord and the summary of what was written."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.synth import text as txt
from pipelines.synth.stock import Calendar, Stock, Tenancies

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

LIVE_LOOKBACK_DAYS = 90  # "live": the pattern ended no more than 90 days before the as-of date


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


def pick_by_cum(cum: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
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


class BuildState:
    """What the standard landlord's builder holds while it works, shared by its planting and assembling halves
    (``pipelines/synth/planting.py``, ``extracts.py``) and set up by ``standard._Builder``."""

    rng: np.random.Generator  # the one generator every draw comes from, in a fixed order
    seed: int
    homes: int
    years: int
    cal: Calendar
    cat: Catalogue
    stock: Stock
    ten: Tenancies
    parts: RepairParts
    key_rows: list[dict[str, object]]  # one answer-key row per planted household
    used: set[int]  # tenancies already planted
    recharges: list[tuple[int, str, int, int]]  # planted: job uid, kind, raised day, tenancy
    asb_planted: list[tuple[int, int, int, str, str]]  # day, subject, complainant, category, text
    markers: list[tuple[int, str, int, int]]  # tenancy, marker, start, end
    programmes: list[tuple[int, int, int, str, int, int, int]]  # prop, block, estate, prog, s, e, known
    rent: RentPlan
