"""Description text for the standard synthetic landlord: its catalogue (a data file) and how rows draw from it.

The catalogue, ``data/standard.yaml``, holds every job type the generator can raise (trades, priorities,
schedule-of-rates lines, free-text templates), the shared phrase parts, call-centre noise (typos, prefixes), ASB
and recharge wording, markers and estate names; ``load_catalogue`` reads and checks it once, at import.
``describe_jobs`` turns one job type index per row into a description and an optional SoR code, by sampling
pre-expanded phrase variants (so millions of rows cost a few vectorised passes, not a Python loop per row).

Red-flag phrasing and its look-alikes are built from the same parts (locations, trade prefixes, typos), so a
classifier cannot tell them apart by style, only by meaning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

TEXT_FILE = Path(__file__).parent / "data" / "standard.yaml"
TRADES = ("carpenter", "plumber", "electrician", "glazier", "locksmith", "gas engineer", "roofer", "general")
# Landlord priority codes, in the order of the generator's priority index (I and E are both emergencies).
PRIORITY_CODES = ("I", "E", "U", "N", "P", "V")
EMERGENCY_CODES = frozenset({0, 1})


@dataclass(frozen=True)
class JobType:
    """One kind of job: its trades, priorities, SoR lines and free-text templates."""

    name: str
    trades: dict[str, float]
    priority: dict[str, float]  # over PRIORITY_CODES
    templates: tuple[str, ...]
    sor: tuple[tuple[str, str], ...] = ()
    flags: frozenset[str] = frozenset()
    weight: float = 0.0  # share of background responsive repairs in a dwelling (normalised later)
    cost_median_gbp: float = 90.0
    free_only: bool = False  # always free text (the text carries a per-row token such as a crime ref)
    slots: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class TextCatalogue:
    """The standard landlord's wording, in the file's order (the generator draws by position)."""

    jobs: tuple[JobType, ...]
    slots: dict[str, tuple[str, ...]]
    typos: tuple[tuple[str, str], ...]
    trade_prefixes: dict[str, tuple[str, ...]]
    ooh_prefixes: tuple[str, ...]
    asb_categories: tuple[tuple[str, float, tuple[str, ...]], ...]
    asb_da_descriptions: tuple[str, ...]
    asb_da_categories: tuple[str, ...]
    recharge_reasons: dict[str, tuple[str, ...]]
    da_markers: tuple[str, ...]
    other_markers: tuple[str, ...]
    estate_stems: tuple[str, ...]
    estate_suffixes: tuple[str, ...]


def _shares(value: Any, known: tuple[str, ...], what: str, path: Path) -> dict[str, float]:
    """A mapping of code -> share, each code one of ``known`` (a typo would silently drop its share)."""
    shares = {str(k): float(v) for k, v in value.items()}
    unknown = sorted(set(shares) - set(known))
    if unknown or not shares:
        raise ValueError(f"{path}: {what} names unknown codes {unknown} (expected some of {list(known)})")
    return shares


def _job(name: str, spec: dict[str, Any], priorities: dict[str, dict[str, float]], path: Path) -> JobType:
    trades = spec["trades"]
    trades = {trades: 1.0} if isinstance(trades, str) else trades
    priority = spec["priority"]
    if isinstance(priority, str):
        if priority not in priorities:
            raise ValueError(
                f"{path}: job {name} names priority mix {priority!r}, not one of {list(priorities)}"
            )
        priority = priorities[priority]
    return JobType(
        name=name,
        trades=_shares(trades, TRADES, f"job {name}'s trades", path),
        priority=_shares(priority, PRIORITY_CODES, f"job {name}'s priority", path),
        templates=tuple(str(t) for t in spec["templates"]),
        sor=tuple((str(c), str(t)) for c, t in spec.get("sor", ())),
        flags=frozenset(spec.get("flags", ())),
        weight=float(spec.get("weight", 0.0)),
        cost_median_gbp=float(spec.get("cost", 90.0)),
        free_only=bool(spec.get("free_only", False)),
    )


def load_catalogue(path: Path = TEXT_FILE) -> TextCatalogue:
    """The catalogue from its YAML file (see the file's header for each field)."""
    # libyaml's loader when present: the pure-Python one takes a tenth of a second over this file.
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    # A named mix is shared, not copied, by the jobs that name it (as the catalogue in code had it).
    priorities = {
        str(k): _shares(v, PRIORITY_CODES, f"priority mix {k}", path) for k, v in data["priorities"].items()
    }
    slots = {str(k): tuple(str(x) for x in v) for k, v in data["slots"].items()}
    jobs = tuple(_job(str(name), spec, priorities, path) for name, spec in data["jobs"].items())
    for job in jobs:
        for template in job.templates:
            missing = {m.lower() for m in _SLOT.findall(template)} - set(slots)
            if missing:
                raise ValueError(f"{path}: job {job.name} uses unknown slots {sorted(missing)}")
    return TextCatalogue(
        jobs=jobs,
        slots=slots,
        typos=tuple((str(a), str(b)) for a, b in data["typos"]),
        trade_prefixes={str(k): tuple(v) for k, v in data["trade_prefixes"].items()},
        ooh_prefixes=tuple(data["ooh_prefixes"]),
        asb_categories=tuple(
            (str(c["category"]), float(c["weight"]), tuple(str(t) for t in c["texts"]))
            for c in data["asb_categories"]
        ),
        asb_da_descriptions=tuple(data["asb_da_descriptions"]),
        asb_da_categories=tuple(data["asb_da_categories"]),
        recharge_reasons={str(k): tuple(v) for k, v in data["recharge_reasons"].items()},
        da_markers=tuple(data["da_markers"]),
        other_markers=tuple(data["other_markers"]),
        estate_stems=tuple(data["estate_stems"]),
        estate_suffixes=tuple(data["estate_suffixes"]),
    )


_SLOT = re.compile(r"\{([A-Za-z_]+)\}")
CATALOGUE = load_catalogue()
# The catalogue's parts under the names the generator uses.
SLOTS = CATALOGUE.slots
TYPOS = CATALOGUE.typos  # typing slips seen in call-centre notes (applied to a few rows)
TRADE_PREFIXES = CATALOGUE.trade_prefixes
OOH_PREFIXES = CATALOGUE.ooh_prefixes
ASB_CATEGORIES = CATALOGUE.asb_categories  # (landlord category, weight, description phrases)
ASB_DA_DESCRIPTIONS = CATALOGUE.asb_da_descriptions  # a neighbour's words about a household with a pattern
ASB_DA_CATEGORIES = CATALOGUE.asb_da_categories
RECHARGE_REASONS = CATALOGUE.recharge_reasons
DA_MARKERS = CATALOGUE.da_markers  # known-case markers (landlord wording, value-mapped in mapping.yaml)
OTHER_MARKERS = CATALOGUE.other_markers
ESTATE_STEMS = CATALOGUE.estate_stems
ESTATE_SUFFIXES = CATALOGUE.estate_suffixes


def job_catalogue() -> tuple[JobType, ...]:
    """Every job type, background and special. Weights sum to about 1 over the background dwelling types."""
    return CATALOGUE.jobs


def _fill(template: str, rng: np.random.Generator, extra: dict[str, tuple[str, ...]]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        options = extra.get(name.lower()) or SLOTS[name.lower()]
        value = options[int(rng.integers(len(options)))]
        return value.upper() if name.isupper() else value

    return _SLOT.sub(one, template)


def expand_variants(job: JobType, rng: np.random.Generator, n: int = 400) -> list[str]:
    """Up to ``n`` distinct phrasings of one job type, drawn by filling its templates at random."""
    seen: dict[str, None] = {}
    for _ in range(n * 3):
        template = job.templates[int(rng.integers(len(job.templates)))]
        seen.setdefault(_fill(template, rng, job.slots), None)
        if len(seen) >= n:
            break
    return list(seen)


@dataclass(frozen=True)
class TextTables:
    """Flattened variant tables: type i's free texts are ``free[free_off[i]:free_off[i]+free_n[i]]``."""

    free: pl.Series
    free_off: np.ndarray
    free_n: np.ndarray
    sor_text: pl.Series
    sor_code: pl.Series
    sor_off: np.ndarray
    sor_n: np.ndarray
    free_only: np.ndarray


def text_tables(catalogue: tuple[JobType, ...], rng: np.random.Generator) -> TextTables:
    free: list[str] = []
    sor_text: list[str] = []
    sor_code: list[str] = []
    free_off, free_n, sor_off, sor_n = [], [], [], []
    for job in catalogue:
        variants = expand_variants(job, rng)
        free_off.append(len(free))
        free_n.append(len(variants))
        free.extend(variants)
        sor_off.append(len(sor_text))
        sor_n.append(len(job.sor))
        sor_code.extend(c for c, _ in job.sor)
        sor_text.extend(t for _, t in job.sor)
    return TextTables(
        pl.Series(free, dtype=pl.String),
        np.array(free_off),
        np.array(free_n),
        pl.Series(sor_text, dtype=pl.String),
        pl.Series(sor_code, dtype=pl.String),
        np.array(sor_off),
        np.array(sor_n),
        np.array([j.free_only for j in catalogue]),
    )


def describe_jobs(
    job_type: np.ndarray,
    trade: np.ndarray,
    priority: np.ndarray,
    tables: TextTables,
    rng: np.random.Generator,
) -> tuple[pl.Series, pl.Series]:
    """One description and one SoR code (or null) per job.

    ``job_type`` indexes the catalogue, ``trade`` indexes TRADES, ``priority`` indexes PRIORITY_CODES. About
    a third of rows are the bare SoR line, a sixth the SoR line plus a note, the rest call-centre free text
    (which still carries the job's SoR code two times in five).
    """
    n = len(job_type)
    u = rng.random(n)
    free_idx = tables.free_off[job_type] + (u * tables.free_n[job_type]).astype(np.int64)
    has_sor = tables.sor_n[job_type] > 0
    sor_pick = tables.sor_off[job_type] + (rng.random(n) * np.maximum(tables.sor_n[job_type], 1)).astype(
        np.int64
    )
    sor_pick = np.where(has_sor, sor_pick, 0)
    mode = rng.choice(3, size=n, p=[0.33, 0.17, 0.50])
    mode = np.where(has_sor & ~tables.free_only[job_type], mode, 2)
    code_kept = (mode < 2) | (rng.random(n) < 0.4)
    free = tables.free.gather(free_idx)
    sor_t = tables.sor_text.gather(sor_pick) if len(tables.sor_text) else pl.repeat("", n, eager=True)
    sor_c = tables.sor_code.gather(sor_pick) if len(tables.sor_code) else pl.repeat("", n, eager=True)
    desc = (
        pl.DataFrame({"free": free, "sor_t": sor_t, "mode": mode})
        .select(
            pl.when(pl.col("mode") == 0)
            .then(pl.col("sor_t"))
            .when(pl.col("mode") == 1)
            .then(pl.concat_str(pl.col("sor_t"), pl.lit(" - "), pl.col("free")))
            .otherwise(pl.col("free"))
        )
        .to_series()
    )
    # Noise touches a minority of rows: work on those rows only and scatter them back.
    typo = rng.integers(0, len(TYPOS) * 12, size=n)  # one typo in about one row in twelve
    for i, (right, wrong) in enumerate(TYPOS):
        desc = _rewrite(desc, np.flatnonzero(typo == i), _replacer(right, wrong))
    case = rng.choice(3, size=n, p=[0.84, 0.11, 0.05])
    desc = _rewrite(desc, np.flatnonzero(case == 1), lambda s: s.str.to_uppercase())
    desc = _rewrite(desc, np.flatnonzero(case == 2), lambda s: s.str.to_lowercase())
    pick = rng.integers(0, 1000, size=n)
    prefix = rng.random(n)
    is_emergency = np.isin(priority, list(EMERGENCY_CODES))
    ooh_rows = np.flatnonzero(is_emergency & (prefix < 0.25) & (mode == 2))
    trade_rows = np.flatnonzero((prefix > 0.72) & (mode == 2))
    ooh = pl.Series(OOH_PREFIXES).gather(pick[ooh_rows] % len(OOH_PREFIXES))
    desc = _rewrite(desc, ooh_rows, lambda s: ooh + s)
    trade_prefix = pl.Series([p for t in TRADES for p in TRADE_PREFIXES[t]])
    trade_cnt = np.array([len(TRADE_PREFIXES[t]) for t in TRADES])
    trade_off = np.cumsum(trade_cnt) - trade_cnt
    tp = trade_prefix.gather(trade_off[trade[trade_rows]] + pick[trade_rows] % trade_cnt[trade[trade_rows]])
    desc = _rewrite(desc, trade_rows, lambda s: tp + s)
    spaces = rng.random(n)
    desc = _rewrite(desc, np.flatnonzero(spaces < 0.06), lambda s: s.str.replace(" ", "  ", literal=True))
    desc = _rewrite(desc, np.flatnonzero((spaces >= 0.06) & (spaces < 0.10)), lambda s: s + " ")
    code = sor_c.set(pl.Series(~(code_kept & has_sor)), None)  # type: ignore[arg-type]
    return desc.alias("description"), code.alias("sor_code")


def _replacer(right: str, wrong: str) -> Callable[[pl.Series], pl.Series]:
    return lambda s: s.str.replace(right, wrong, literal=True)


def _rewrite(series: pl.Series, rows: np.ndarray, change: Callable[[pl.Series], pl.Series]) -> pl.Series:
    if len(rows) == 0:
        return series
    return series.scatter(rows, change(series.gather(rows)))


def crime_reference(rng: np.random.Generator, year: int) -> str:
    """A police or crime reference as call handlers type them."""
    yy = year % 100
    style = int(rng.integers(5))
    if style == 0:
        return f"CR/{int(rng.integers(100000, 999999))}/{yy:02d}"
    if style == 1:
        return f"CAD {int(rng.integers(1000, 9999))}"
    if style == 2:
        return f"{int(rng.integers(10, 99))}/{int(rng.integers(100000, 999999))}/{yy:02d}"
    if style == 3:
        return f"CRN {int(rng.integers(10_000_000, 99_999_999))}"
    return f"incident {int(rng.integers(100, 9999)):04d}"


def estate_names(n: int) -> list[str]:
    """``n`` distinct invented estate names."""
    names = [f"{s} {x}" for x in ESTATE_SUFFIXES for s in ESTATE_STEMS]
    return [
        names[i % len(names)] + ("" if i < len(names) else f" Phase {i // len(names) + 1}") for i in range(n)
    ]
