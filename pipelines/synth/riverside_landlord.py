"""The Riverside landlord in memory: its stock and tenancies, background and planted jobs, ASB, recharges,
known cases and planned works, and the answer key (see ``riverside.py`` for what is planted and how it is written)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipelines.synth.landlord import KEY_COLUMNS, LIVE_LOOKBACK_DAYS, RentPlan
from pipelines.synth.riverside_text import JobKind, TextCatalogue
from pipelines.synth.stock import (
    NO_END,
    Calendar,
    Stock,
    Tenancies,
    calendar,
    date_of,
    make_stock,
    make_tenancies,
    neighbour_of,
)

log = logging.getLogger(__name__)

REPAIRS_PER_HOME_YEAR = 2.9
RATE_SHAPE = 1.4
ASB_PER_HOME_YEAR = 0.07
LIVE_PATTERNS_PER_HOME = 0.006  # live planted patterns at the as-of date (about 36 in 6,000 homes)
STRENGTHS = (("strong", 0.33), ("medium", 0.33), ("weak_corroborated", 0.34))
TENANCY_REF_MISSING = 0.12  # share of a household's jobs exported without the tenancy number
# Red-flag jobs of a planted pattern (the household's occasions), with a second job on the same visit at times.
PATTERN_JOBS = {
    "lock_ext": 0.22,
    "lock_int": 0.12,
    "door_ext": 0.12,
    "door_int": 0.17,
    "glass": 0.13,
    "lost_keys": 0.10,
    "lockout": 0.08,
    "forced": 0.06,
}
FOLLOW_UP = {"forced": "lock_ext", "door_ext": "lock_ext", "glass": "glass", "lockout": "lost_keys"}
RECHARGE_KIND = {
    "lost_keys": "keys",
    "lockout": "keys",
    "glass": "glass",
    "door_ext": "door",
    "door_int": "door",
}
RECHARGE_GBP = {
    "keys": (40, 160),
    "glass": (70, 320),
    "door": (120, 700),
    "lock": (60, 150),
    "inspection": (150, 900),
    "clearance": (90, 500),
    "garden": (60, 250),
}


@dataclass
class _Jobs:
    """Repair jobs as they are planted: parallel lists, finished into the extract by ``_Riverside._repairs``."""

    prop: list[int] = field(default_factory=list)
    ten: list[int] = field(default_factory=list)
    day: list[int] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    crime: list[str] = field(default_factory=list)
    planted: list[bool] = field(default_factory=list)

    def add(self, prop: int, ten: int, day: int, kind: str, crime: str = "", planted: bool = False) -> int:
        self.planted.append(planted)
        self.prop.append(prop)
        self.ten.append(ten)
        self.day.append(day)
        self.kind.append(kind)
        self.crime.append(crime)
        return len(self.prop) - 1


@dataclass
class RiversideLandlord:
    cal: Calendar
    stock: Stock
    ten: Tenancies
    frames: dict[str, pl.DataFrame]  # every extract but rent, canonical columns plus file_day
    key: pl.DataFrame
    rent_plan: RentPlan


class _Riverside:
    def __init__(self, homes: int, years: int, seed: int, as_of: dt.date, catalogue: TextCatalogue) -> None:
        self.rng = np.random.default_rng([seed, 2])  # another stream than the standard landlord's
        self.seed = seed
        self.homes = homes
        self.years = years
        self.cal = calendar(as_of, years, min(years, 2))
        self.cat = catalogue
        self.jobs = _Jobs()
        self.key_rows: list[dict[str, object]] = []
        self.used: set[int] = set()
        self.recharges: list[tuple[int, int, str, int | None]] = []  # tenancy, day, kind, job index
        self.asb: list[
            tuple[int, str, str, list[tuple[int, str]]]
        ] = []  # day, category, text, (tenancy, role)
        self.markers: list[tuple[int, str, int, int]] = []
        self.programmes: list[tuple[int, str, int, int, int]] = []  # estate, programme, start, end, known
        self.rent = RentPlan(seed=seed + 1)

    # ---- people and homes ------------------------------------------------------------------------
    def build(self) -> RiversideLandlord:
        rng = self.rng
        self.stock = make_stock(rng, self.homes)
        self.ten = make_tenancies(rng, self.homes, self.cal)
        # This system's references: UPRN-like numbers for homes, "RH/" tenancy numbers.
        self.stock.ref = np.array(
            [f"10{40_000_000 + i * 7:08d}" for i in range(self.homes)]
            + [f"BLK-{b[3:]}" for b in self.stock.block_ref],
            dtype=object,
        )
        self.ten.ref = np.array([f"RH/{200000 + i:06d}" for i in range(len(self.ten))], dtype=object)
        self._background()
        self._plant()
        frames = {
            "repairs": self._repairs(),
            "asb": self._asb_frame(),
            "known_cases": self._known_cases(),
            "planned_works": self._planned_works(),
        }
        frames["recharges"] = self._recharges(frames["repairs"])
        key = pl.DataFrame(self.key_rows, schema=_key_schema()).sort(["kind", "pattern_start", "tenancy_ref"])
        return RiversideLandlord(self.cal, self.stock, self.ten, frames, key, self.rent)

    def _background(self) -> None:
        rng, cal, ten, cat = self.rng, self.cal, self.ten, self.cat
        lo = np.maximum(ten.start, cal.start)
        hi = np.minimum(ten.end, cal.as_of)
        span = np.maximum(hi - lo + 1, 0)
        rate = rng.gamma(RATE_SHAPE, REPAIRS_PER_HOME_YEAR / RATE_SHAPE, size=len(ten))
        count = rng.poisson(rate * span / 365.25)
        t = np.repeat(np.arange(len(ten)), count)
        day = lo[t] + (rng.random(len(t)) * span[t]).astype(np.int64)
        names = [k for k, j in cat.jobs.items() if j.weight > 0]
        p = np.array([cat.jobs[k].weight for k in names])
        kind = rng.choice(len(names), size=len(t), p=p / p.sum())
        for tt, d, k in zip(t.tolist(), day.tolist(), kind.tolist(), strict=True):
            self.jobs.add(int(ten.home[tt]), tt, d, names[k])
        # communal jobs on each block, void jobs between tenancies
        for b, members in enumerate(self.stock.block_homes):
            for d in (
                cal.start + rng.integers(0, cal.days, size=rng.poisson(0.12 * len(members) * self.years))
            ).tolist():
                self.jobs.add(int(self.stock.communal_of_block[b]), -1, d, "communal")
        ended = np.flatnonzero((ten.end >= cal.start) & (ten.end < cal.as_of - 3))
        for tt in ended.tolist():
            self.jobs.add(int(ten.home[tt]), -1, int(ten.end[tt]) + int(rng.integers(1, 4)), "void_lock")
            for _ in range(int(rng.integers(1, 4))):
                d = int(ten.end[tt]) + int(rng.integers(2, 40))
                if d <= cal.as_of and d < ten.next_start[tt]:
                    self.jobs.add(int(ten.home[tt]), -1, d, "void_other")

    # ---- planting --------------------------------------------------------------------------------
    def _pick(self, first: int, last: int, *, started_after: int | None = None) -> int:
        rng, ten = self.rng, self.ten
        for _ in range(5000):
            t = int(rng.integers(len(ten)))
            if t in self.used or ten.start[t] > first - 30 or ten.end[t] < last:
                continue
            if started_after is not None and ten.start[t] < started_after:
                continue
            self.used.add(t)
            return t
        return -1

    def _job(self, t: int, day: int, kind: str, crime: str = "") -> int:
        return self.jobs.add(int(self.ten.home[t]), t, day, kind, crime, planted=True)

    def _key(self, t: int, kind: str, strength: str, first: int, last: int, notes: str, flags: int) -> None:
        as_of = self.cal.as_of
        self.key_rows.append(
            {
                "tenancy_ref": str(self.ten.ref[t]),
                "property_ref": str(self.stock.ref[self.ten.home[t]]),
                "kind": kind,
                "strength": strength or None,
                "pattern_start": date_of(first),
                "pattern_end": date_of(last),
                # live: started, active in the last 90 days, and the household still there (a tenancy that ended
                # before the as-of date has nobody left to review)
                "live_at_as_of": first <= as_of
                and last >= as_of - LIVE_LOOKBACK_DAYS
                and int(self.ten.end[t]) >= as_of,
                "notes": notes,
                "red_flag_repairs": flags,
            }
        )

    def _plant(self) -> None:
        homes, scale = self.homes, self.homes * self.years
        n_live = max(6, round(homes * LIVE_PATTERNS_PER_HOME))
        for live in (True, False):
            n = n_live if live else round(n_live * 0.8 * (self.years - 1))
            strengths = self.rng.choice(len(STRENGTHS), size=n, p=[s[1] for s in STRENGTHS])
            for k in strengths.tolist():
                self._pattern(STRENGTHS[k][0], live)
        self._known_cases_planted(max(3, round(homes / 600)))
        for _ in range(max(3, round(scale / 1500))):
            self._burglary()
        self._vandalism(max(2, round(scale / 8000)))
        self._programmes(max(2, round(scale / 10000)))
        for _ in range(max(3, round(scale / 2000))):
            self._tenancy_start()
        for _ in range(max(3, round(homes / 1000))):
            self._heavy_repairer()
        for _ in range(max(4, round(homes / 600))):
            self._lockout()
        for _ in range(max(4, round(homes / 600))):
            self._complainant()

    def _occasions(self, t: int, days: list[int]) -> tuple[int, list[str]]:
        """Red-flag jobs on each occasion (a second job on the same or next day at times): (jobs, kinds)."""
        rng = self.rng
        kinds: list[str] = []
        names = list(PATTERN_JOBS)
        p = np.array(list(PATTERN_JOBS.values()))
        n_jobs = 0
        for d in days:
            kind = names[int(rng.choice(len(names), p=p / p.sum()))]
            job = self._job(t, d, kind)
            kinds.append(kind)
            n_jobs += 1
            if kind in FOLLOW_UP and rng.random() < 0.4:
                self._job(t, min(d + int(rng.integers(0, 2)), self.cal.as_of), FOLLOW_UP[kind])
                n_jobs += 1
            if kind in RECHARGE_KIND and rng.random() < 0.3:
                self.recharges.append((t, d + int(rng.integers(10, 40)), RECHARGE_KIND[kind], job))
        return n_jobs, kinds

    def _pattern(self, strength: str, live: bool) -> None:
        rng, cal = self.rng, self.cal
        if strength == "strong":
            n_occ, span, n_sig = (
                int(rng.integers(5, 9)),
                int(rng.integers(42, 211)),
                2 + int(rng.random() < 0.4),
            )
        elif strength == "medium":
            n_occ, span, n_sig = int(rng.integers(3, 5)), int(rng.integers(60, 241)), 1
        else:
            n_occ, span, n_sig = 2, int(rng.integers(60, 271)), 1
        if live:
            last = cal.as_of - int(rng.integers(0, 76))
        else:
            last = cal.as_of - LIVE_LOOKBACK_DAYS - 30 - int(rng.integers(0, max(cal.days - span - 150, 1)))
        first = last - span
        if first < cal.start + 7:
            return
        t = self._pick(first, last)
        if t < 0:
            return
        middle = sorted(
            int(d) for d in first + 3 + rng.choice(max(span - 6, n_occ), size=n_occ - 2, replace=False)
        )
        days = [first, *middle, last][:n_occ] if n_occ >= 2 else [first]
        n_jobs, kinds = self._occasions(t, days)
        # Other signals, each within the pattern's months.
        onset_ok = (
            first + 14 >= max(cal.rent_start, int(self.ten.start[t])) + 9 * 7 and first + 14 <= cal.as_of - 60
        )
        options = ["asb", "recharge"] + (["arrears"] if onset_ok else [])
        chosen = [str(s) for s in rng.permutation(options)[:n_sig]]
        ends = [last]
        notes = [f"{len(days)} occasions, {n_jobs} red-flag jobs ({', '.join(kinds)})"]
        for signal in chosen:
            day = int(rng.integers(first, last + 1))
            if signal == "asb":
                self._domestic_asb(t, day)
                notes.append("ASB through the lens (" + self.asb[-1][1] + ")")
            elif signal == "recharge":
                self.recharges.append((t, day, "inspection", None))
                notes.append("damage recharge found at a visit")
            else:
                onset = first + int(rng.integers(14, max(min(span, 120), 15)))
                onset = min(onset, cal.as_of - 60)
                self.rent.onset[t] = onset
                day = onset + 56
                notes.append(f"arrears onset {date_of(onset).isoformat()}")
            ends.append(min(day, cal.as_of))
        self._key(t, "da_pattern", strength, first, max(ends), "; ".join(notes), n_jobs)

    def _domestic_asb(self, t: int, day: int) -> None:
        """A domestic-lens case: the household as victim (police report), or as subject (a neighbour's complaint)."""
        rng, cat = self.rng, self.cat
        text = cat.asb_texts["domestic"][int(rng.integers(len(cat.asb_texts["domestic"])))]
        if rng.random() < 0.5:
            self.asb.append((day, "Domestic incident", text, [(t, "VICT")]))
            return
        category = cat.asb_domestic[1 + int(rng.integers(len(cat.asb_domestic) - 1))]
        parties = [(t, "PERP")]
        neighbour = self.ten.at(neighbour_of(rng, self.stock, np.array([self.ten.home[t]])), np.array([day]))
        if neighbour[0] >= 0 and neighbour[0] != t:
            parties.append((int(neighbour[0]), "COMP"))
        self.asb.append((day, category, text, parties))

    def _known_cases_planted(self, n: int) -> None:
        rng, cal = self.rng, self.cal
        for i in range(n):
            start = cal.as_of - int(rng.integers(20, 320))
            end = NO_END if rng.random() < 0.6 else cal.as_of + int(rng.integers(30, 300))
            t = self._pick(start, cal.as_of)
            if t < 0:
                continue
            marker = ("DVA", "MARAC", "SANC")[i % 3]
            self.markers.append((t, marker, start, end))
            self._job(t, start + int(rng.integers(1, 20)), "sanctuary_lock")
            self._job(t, start + int(rng.integers(5, 30)), "sanctuary_other")
            n_flags = 0
            if rng.random() < 0.5:
                days = sorted(
                    int(d) for d in rng.integers(start, cal.as_of + 1, size=int(rng.integers(2, 5)))
                )
                n_flags, _ = self._occasions(t, days)
            if rng.random() < 0.3:
                self._domestic_asb(t, int(rng.integers(start, cal.as_of + 1)))
            self._key(t, "known_case", "", start, cal.as_of, f"{marker} alert; sanctuary works", n_flags)

    def _burglary(self) -> None:
        rng, cal = self.rng, self.cal
        day = int(cal.start + rng.integers(30, cal.days - 3))
        t = self._pick(day, day + 2)
        if t < 0:
            return
        crime = f"{int(rng.integers(10, 99))}/{int(rng.integers(10000, 99999))}/{date_of(day).year % 100:02d}"
        self._job(t, day, "burglary_forced", crime)
        self._job(t, day + int(rng.integers(0, 2)), "burglary_lock", crime)
        if rng.random() < 0.6:
            self._job(t, day, "burglary_glass", crime)
        self._key(t, "lookalike_burglary", "", day, day + 1, "burglary, police crime number quoted", 3)

    def _vandalism(self, n: int) -> None:
        rng, cal, stock = self.rng, self.cal, self.stock
        big = [b for b, m in enumerate(stock.block_homes) if len(m) >= 10]
        for b in rng.permutation(big)[:n].tolist():
            day = int(cal.start + rng.integers(0, cal.days - 14))
            who = self.ten.at(stock.block_homes[b], np.full(len(stock.block_homes[b]), day))
            live = [int(t) for t in who[who >= 0] if int(t) not in self.used]
            if len(live) < 5:
                continue
            self.jobs.add(int(stock.communal_of_block[b]), -1, day, "communal_damage")
            for t in rng.permutation(live)[: int(rng.integers(4, min(10, len(live)) + 1))].tolist():
                self.used.add(t)
                d = day + int(rng.integers(0, 8))
                self._job(t, d, "vandal_door" if rng.random() < 0.5 else "vandal_glass")
                self._key(
                    t,
                    "lookalike_block_vandalism",
                    "",
                    d,
                    d,
                    f"vandalism across block {stock.block_ref[b]}",
                    1,
                )

    def _programmes(self, n: int) -> None:
        rng, cal, stock = self.rng, self.cal, self.stock
        estates = [e for e, m in enumerate(stock.estate_homes) if len(m) >= 30]
        for i, e in enumerate(rng.permutation(estates)[:n].tolist()):
            kind, programme = (
                ("planned_door", "Door Replacement 2024-26")
                if i % 2
                else ("planned_window", "Window Renewal Contract")
            )
            start = int(cal.start + 60 + rng.integers(0, max(cal.days - 120, 1)))
            end = start + int(rng.integers(60, 150))
            self.programmes.append((e, programme, start, end, start - int(rng.integers(14, 40))))
            members = stock.estate_homes[e]
            days = start + (rng.random(len(members)) * (end - start)).astype(np.int64)
            ok = days <= cal.as_of
            who = self.ten.at(members[ok], days[ok])
            marked = 0
            for home, d, t in zip(members[ok].tolist(), days[ok].tolist(), who.tolist(), strict=True):
                self.jobs.add(home, int(t), d, kind)
                if t >= 0 and marked < 15 and t not in self.used:
                    self.used.add(int(t))
                    marked += 1
                    self._key(int(t), "lookalike_planned_programme", "", d, d, programme, 0)

    def _tenancy_start(self) -> None:
        rng, cal, ten = self.rng, self.cal, self.ten
        fresh = np.flatnonzero(
            (ten.start >= cal.start + 7) & (ten.start <= cal.as_of - 30) & (ten.end > cal.as_of)
        )
        for t in rng.permutation(fresh)[:50].tolist():
            if t in self.used:
                continue
            self.used.add(t)
            s = int(ten.start[t])
            self._job(t, s + int(rng.integers(0, 10)), "lock_ext")
            self._job(t, s + int(rng.integers(5, 25)), "lost_keys")
            self._key(
                t,
                "lookalike_tenancy_start",
                "",
                s,
                s + 25,
                "new tenancy: locks and keys in the first weeks",
                2,
            )
            return

    def _heavy_repairer(self) -> None:
        rng, cal = self.rng, self.cal
        first = cal.as_of - int(rng.integers(200, 365))
        t = self._pick(first, cal.as_of)
        if t < 0:
            return
        count = int(rng.integers(12, 25))
        days = sorted(int(d) for d in rng.integers(first, cal.as_of + 1, size=count))
        for d in days:
            self._job(t, d, "repairer_extra")
        self._key(
            t, "lookalike_heavy_repairer", "", days[0], days[-1], f"{count} ordinary repairs in a year", 0
        )

    def _lockout(self) -> None:
        """One lock-out in the past six months, charged to the household: one occasion, however many jobs."""
        rng, cal = self.rng, self.cal
        day = cal.as_of - int(rng.integers(5, 180))
        t = self._pick(day - 365, cal.as_of)
        if t < 0:
            return
        job = self._job(t, day, "lockout")
        self._job(t, day, "lost_keys")
        self.recharges.append((t, day + int(rng.integers(7, 30)), "keys", job))
        self._key(t, "lookalike_lockout", "", day, day, "one lock-out with new keys, recharged", 2)

    def _complainant(self) -> None:
        """Lost keys once, and a noise complaint about a neighbour: a complainant, not a party to trouble."""
        rng, cal = self.rng, self.cal
        day = cal.as_of - int(rng.integers(5, 200))
        t = self._pick(day - 365, cal.as_of)
        if t < 0:
            return
        self._job(t, day, "lost_keys")
        other = self.ten.at(neighbour_of(rng, self.stock, np.array([self.ten.home[t]])), np.array([day + 20]))
        parties = [(t, "COMP")] + ([(int(other[0]), "PERP")] if other[0] >= 0 and other[0] != t else [])
        self.asb.append((day + 20, "Noise - music/TV", self.cat.asb_texts["ordinary"][0], parties))
        self._key(
            t,
            "lookalike_complainant",
            "",
            day,
            day + 20,
            "lost keys once; complained of a neighbour's music",
            1,
        )

    # ---- the extracts ----------------------------------------------------------------------------
    def _text(self, kind: JobKind, crime: str) -> str:
        rng, cat = self.rng, self.cat
        text = kind.texts[int(rng.integers(len(kind.texts)))].replace("{crime}", crime)
        if rng.random() < cat.slip_rate:
            words = [w for w in cat.slips if re.search(rf"\b{w}\b", text, flags=re.IGNORECASE)]
            if words:
                word = words[int(rng.integers(len(words)))]
                options = cat.slips[word]
                text = re.sub(
                    rf"\b{word}\b",
                    options[int(rng.integers(len(options)))],
                    text,
                    count=1,
                    flags=re.IGNORECASE,
                )
        if rng.random() < cat.upper_rate:
            text = text.upper()
        return text

    def _repairs(self) -> pl.DataFrame:
        rng, cal, cat, jobs = self.rng, self.cal, self.cat, self.jobs
        n = len(jobs.day)
        rows = []
        for i in range(n):
            kind = cat.jobs[jobs.kind[i]]
            codes = list(kind.priority)
            p = np.array(list(kind.priority.values()))
            priority = codes[int(rng.choice(len(codes), p=p / p.sum()))]
            minute = (
                int(rng.integers(0, 1440)) if priority in ("IMM", "EMG") else int(rng.integers(480, 1080))
            )
            reported = jobs.day[i] * 1440 + minute
            delay = {
                "IMM": 180,
                "EMG": 1200,
                "URG": 5 * 1440,
                "RTN": 18 * 1440,
                "PLN": 1440,
                "VOID": 7 * 1440,
            }[priority]
            closed = reported + int(delay * rng.uniform(0.3, 1.8))
            status = "COMP"
            u = rng.random()
            ordinary = priority not in ("PLN", "VOID") and not jobs.planted[i]  # planted jobs were all done
            if ordinary and u < 0.035:
                status = "CANC"
            elif ordinary and u < 0.06:
                status = "NOACC"
            if closed > (cal.as_of + 1) * 1440 - 1:
                status = "OPEN"
            ten = jobs.ten[i]
            tenancy = str(self.ten.ref[ten]) if ten >= 0 and rng.random() >= TENANCY_REF_MISSING else None
            text = self._text(kind, jobs.crime[i])
            code = (
                kind.codes[int(rng.integers(len(kind.codes)))] if kind.codes and rng.random() < 0.7 else None
            )
            rows.append(
                (
                    reported,
                    str(self.stock.ref[jobs.prop[i]]),
                    tenancy,
                    code,
                    text,
                    priority,
                    kind.trade,
                    status,
                    closed if status in ("COMP",) else None,
                    round(kind.cost * float(np.exp(rng.normal(0, 0.4))), 2) if status == "COMP" else None,
                    ten,
                    kind.name,
                    i,
                )
            )
        rows.sort(key=lambda r: (r[0], r[1]))
        frame = pl.DataFrame(
            rows,
            schema={
                "reported_min": pl.Int64,
                "property_ref": pl.String,
                "tenancy_ref": pl.String,
                "sor_code": pl.String,
                "description": pl.String,
                "priority": pl.String,
                "trade": pl.String,
                "status": pl.String,
                "closed_min": pl.Int64,
                "cost_gbp": pl.Float64,
                "ten": pl.Int64,
                "kind": pl.String,
                "job_idx": pl.Int64,
            },
            orient="row",
        )
        return frame.with_columns(
            pl.concat_str(pl.lit("W"), (pl.int_range(pl.len()) + 7_000_001).cast(pl.String)).alias("job_ref"),
            (pl.col("reported_min") * 60_000).cast(pl.Datetime("ms")).alias("reported_at"),
            (pl.col("closed_min") * 60_000).cast(pl.Datetime("ms")).alias("completed_at"),
            (pl.col("reported_min") // 1440).alias("file_day"),
            (pl.col("closed_min") // 1440).alias("close_day"),
        )

    def _recharges(self, repairs: pl.DataFrame) -> pl.DataFrame:
        rng, cal, cat, ten = self.rng, self.cal, self.cat, self.ten
        ref_of = dict(zip(repairs["job_idx"].to_list(), repairs["job_ref"].to_list(), strict=True))
        items: list[tuple[int, int, str, int | None]] = list(self.recharges)
        # background: some completed damage jobs are recharged; some tenancies end with a clearance charge
        red = repairs.filter(
            pl.col("kind").is_in(list(RECHARGE_KIND)) & (pl.col("status") == "COMP") & (pl.col("ten") >= 0)
        )
        red = red.filter(pl.Series(rng.random(red.height) < 0.2))
        for t, d, kind, idx in red.select("ten", "close_day", "kind", "job_idx").iter_rows():
            items.append((int(t), int(d) + int(rng.integers(5, 35)), RECHARGE_KIND[kind], int(idx)))
        ended = np.flatnonzero((ten.end >= cal.start) & (ten.end < cal.as_of) & (rng.random(len(ten)) < 0.1))
        items += [
            (int(t), int(ten.end[t]) + int(rng.integers(10, 45)), "clearance", None) for t in ended.tolist()
        ]
        live = np.flatnonzero(ten.end > cal.start)
        for t in rng.choice(live, size=max(1, round(self.homes * 0.01 * self.years)), replace=False).tolist():
            items.append((int(t), int(max(ten.start[t], cal.start) + rng.integers(0, 300)), "garden", None))
        rows = []
        for t, d, kind, job in items:
            if d > cal.as_of or d < cal.start:
                continue
            lo, hi = RECHARGE_GBP[kind]
            pence = int(rng.integers(lo * 100, hi * 100))
            if rng.random() < 0.7:
                pence = pence // 100 * 100
            amount = f"£{pence // 100:,}.{pence % 100:02d}"
            reasons = cat.recharge_reasons[kind]
            ref = ref_of.get(job) if job is not None else None
            status = str(rng.choice(["O", "P", "D", "W"], p=[0.35, 0.45, 0.1, 0.1]))
            rows.append((d, int(t), ref, amount, reasons[int(rng.integers(len(reasons)))], status))
        rows.sort(key=lambda r: (r[0], r[1]))
        frame = pl.DataFrame(
            rows,
            schema={
                "file_day": pl.Int64,
                "t": pl.Int64,
                "job_ref": pl.String,
                "amount_gbp": pl.String,
                "reason": pl.String,
                "status": pl.String,
            },
            orient="row",
        )
        return frame.with_columns(
            pl.concat_str(pl.lit("RCH"), (pl.int_range(pl.len()) + 50_001).cast(pl.String)).alias(
                "recharge_ref"
            ),
            self.ten.refs(frame["t"].to_numpy()).alias("tenancy_ref"),
            self.stock.refs(ten.home[frame["t"].to_numpy()]).alias("property_ref"),
            pl.col("file_day").cast(pl.Int32).cast(pl.Date).alias("raised_at"),
        )

    def _asb_frame(self) -> pl.DataFrame:
        rng, cal, cat, ten = self.rng, self.cal, self.cat, self.ten
        cases = list(self.asb)
        n = rng.poisson(ASB_PER_HOME_YEAR * self.homes * cal.days / 365.25)
        names = [c for c, _ in cat.asb_categories]
        p = np.array([w for _, w in cat.asb_categories])
        for _ in range(n):
            day = int(cal.start + rng.integers(0, cal.days))
            home = int(rng.integers(self.homes))
            complainant = int(ten.at(np.array([home]), np.array([day]))[0])
            if complainant < 0:
                continue
            category = names[int(rng.choice(len(names), p=p / p.sum()))]
            text = cat.asb_texts["ordinary"][int(rng.integers(len(cat.asb_texts["ordinary"])))]
            subject = int(ten.at(neighbour_of(rng, self.stock, np.array([home])), np.array([day]))[0])
            parties = [(complainant, "COMP")]
            if subject >= 0 and subject != complainant and rng.random() < 0.85:
                parties.append((subject, "PERP"))
            cases.append((day, category, text, parties))
        cases.sort(key=lambda c: c[0])
        rows = []
        for i, (day, category, text, parties) in enumerate(cases):
            closed = day + int(rng.integers(20, 240))
            for t, role in parties:
                rows.append(
                    (
                        f"ASB{date_of(day).year}-{i + 1:05d}",
                        int(t),
                        day,
                        closed if closed <= cal.as_of else None,
                        category,
                        role,
                        text,
                    )
                )
        frame = pl.DataFrame(
            rows,
            schema={
                "case_ref": pl.String,
                "t": pl.Int64,
                "file_day": pl.Int64,
                "close_day": pl.Int64,
                "category": pl.String,
                "role": pl.String,
                "description": pl.String,
            },
            orient="row",
        )
        return frame.with_columns(
            self.ten.refs(frame["t"].to_numpy()).alias("tenancy_ref"),
            pl.col("file_day").cast(pl.Int32).cast(pl.Date).alias("opened_at"),
            pl.col("close_day").cast(pl.Int32).cast(pl.Date).alias("closed_at"),
        )

    def _known_cases(self) -> pl.DataFrame:
        rng, cal, ten = self.rng, self.cal, self.ten
        rows = list(self.markers)
        for t in rng.choice(
            np.flatnonzero(ten.end > cal.as_of), size=max(3, self.homes // 150), replace=False
        ).tolist():
            rows.append((int(t), "VUL", int(max(ten.start[t], cal.start - 300)), NO_END))
        frame = pl.DataFrame(
            [(t, m, s, e if e < NO_END else None) for t, m, s, e in rows],
            schema={"t": pl.Int64, "marker": pl.String, "start_day": pl.Int64, "end_day": pl.Int64},
            orient="row",
        )
        return frame.with_columns(
            self.ten.refs(frame["t"].to_numpy()).alias("tenancy_ref"),
            pl.col("start_day").cast(pl.Int32).cast(pl.Date).alias("start_date"),
            pl.col("end_day").cast(pl.Int32).cast(pl.Date).alias("end_date"),
            pl.max_horizontal(pl.col("start_day"), pl.lit(cal.start)).alias("file_day"),
        )

    def _planned_works(self) -> pl.DataFrame:
        stock = self.stock
        return pl.DataFrame(
            [
                (None, None, stock.estate_name[e], prog, date_of(s), date_of(end), max(known, self.cal.start))
                for e, prog, s, end, known in self.programmes
            ],
            schema={
                "property_ref": pl.String,
                "block_ref": pl.String,
                "estate": pl.String,
                "programme": pl.String,
                "start_date": pl.Date,
                "end_date": pl.Date,
                "file_day": pl.Int64,
            },
            orient="row",
        )


def _key_schema() -> dict[str, pl.DataType]:
    types: dict[str, pl.DataType] = {
        "tenancy_ref": pl.String(),
        "property_ref": pl.String(),
        "kind": pl.String(),
        "strength": pl.String(),
        "pattern_start": pl.Date(),
        "pattern_end": pl.Date(),
        "live_at_as_of": pl.Boolean(),
        "notes": pl.String(),
        "red_flag_repairs": pl.Int64(),
    }
    assert tuple(types) == KEY_COLUMNS  # the standard landlord's answer-key format
    return types


def build_riverside(
    homes: int, years: int, seed: int, as_of: dt.date, catalogue: TextCatalogue
) -> RiversideLandlord:
    """The Riverside landlord in memory (rent is generated week by week by ``rent_weeks`` when written)."""
    return _Riverside(homes, years, seed, as_of, catalogue).build()
