"""Planted households of the standard landlord: domestic-abuse-like patterns of three strengths, live and
lapsed known cases, and the innocent look-alikes (burglary, block vandalism, planned programmes, heavy
repairers, new tenancies). Each writes its jobs into the shared ``RepairParts`` and one answer-key row."""

from __future__ import annotations

import logging

import numpy as np

from pipelines.synth import text as txt
from pipelines.synth.landlord import LIVE_LOOKBACK_DAYS, BuildState
from pipelines.synth.stock import NO_END, date_of

log = logging.getLogger(__name__)

# The shape of the planted patterns (DOMAIN.md: what a worrying repairs pattern looks like).
LIVE_PATTERN_SHARE = 0.005  # homes with a live planted pattern at the as-of date
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


class Planting(BuildState):
    """The planting half of the builder (its state is ``BuildState``; one shared random generator)."""

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
            notes_signals.append(f"arrears onset {date_of(onset).isoformat()}")
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
            notes = f"{marker} marker from {date_of(start).isoformat()}" + (
                f" to {date_of(end).isoformat()}" if end < NO_END else " (no end date)"
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
                f"{marker} marker from {date_of(marker_start).isoformat()} with no end date, lapsed "
                f"{date_of(lapse).isoformat()}; new pattern: {notes}"
            )
            self._key_row(t, "known_case_lapsed", DA_STRENGTHS[k][0], days[0], last_day, notes, len(days))

    def _plant_burglaries(self, n: int) -> None:
        rng, cal = self.rng, self.cal
        for _ in range(n):
            day = int(cal.start + rng.integers(0, cal.days - 7))
            t = self._pick(day, day + 1)
            if t < 0:
                continue
            crime = txt.crime_reference(rng, date_of(day).year)
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
