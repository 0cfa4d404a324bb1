"""The synthetic landlord's calendar, housing stock and tenancies (shared by every style).

Days are day numbers (days since 1970-01-01, ints) throughout; ``NO_END`` marks "no end date". Homes are
indices 0..homes-1 followed by one communal reference per block; tenancies are indices into ``Tenancies``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipelines.core.weeks import last_sunday
from pipelines.synth import text as txt

EPOCH = dt.date(1970, 1, 1)
NO_END = 10**7  # a day number far in the future: "no end date"
TURNOVER_PER_YEAR = 0.08  # tenancies ending a year (DOMAIN.md: 8% turnover)


def day_of(d: dt.date) -> int:
    return (d - EPOCH).days


def date_of(day: int) -> dt.date:
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
    sunday = day_of(last_sunday(as_of))
    return Calendar(day_of(as_of), sunday - 364 * years + 1, sunday - 7 * (52 * rent_years - 1))


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


def make_stock(rng: np.random.Generator, homes: int) -> Stock:
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


def make_tenancies(rng: np.random.Generator, homes: int, cal: Calendar) -> Tenancies:
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


def days_to_date(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Int32).cast(pl.Date)


def neighbour_of(rng: np.random.Generator, stock: Stock, home: np.ndarray) -> np.ndarray:
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
