"""Plain-English reasons for a listed household: facts from records, with dates, most important first.

Reasons state what the records show ("3 external door lock changes (12 Mar, 2 Apr, 28 May)"), never a
conclusion about a person. Discounted look-alikes appear as context ("1 repair with a police or crime
reference (3 Feb), not counted"). ASB categories are quoted as the landlord recorded them, except categories
holding a word from ``WITHHELD_WORDS``, which a list might carry into the wrong hands: those say "category on
the case file".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from models.scoring import REPAIR_COMPONENTS

WITHHELD_WORDS: tuple[str, ...] = ("abuse", "abusive", "victim", "perpetrator", "domestic", "marac")
MAX_DATES = 6

_NOUNS: dict[str, tuple[str, str]] = {
    "lock_change_external": ("external door lock change", "external door lock changes"),
    "lock_change_internal": ("internal door lock change", "internal door lock changes"),
    "lock_change_unknown": ("lock change", "lock changes"),
    "door_damage_external": ("repair to a damaged external door", "repairs to damaged external doors"),
    "door_damage_internal": ("repair to a damaged internal door", "repairs to damaged internal doors"),
    "door_damage_unknown": ("repair to a damaged door", "repairs to damaged doors"),
    "window_damage": ("broken window or glass repair", "broken window or glass repairs"),
    "lost_keys": ("lost keys or lock-out call", "lost keys or lock-out calls"),
    "forced_entry": ("forced entry", "forced entries"),
}
_DISCOUNT_PHRASES: dict[str, str] = {
    "police_reference": "with a police or crime reference",
    "tenancy_start": "at the start of the tenancy",
    "planned_works": "under planned works",
    "block_cluster": "at the same time as similar damage at other homes in the block",
}
_ROLE_PHRASES: dict[str, str] = {
    "subject": "ASB complaint about the household",
    "complainant": "household reported ASB",
    "victim": "household recorded as affected by ASB",
    "witness": "household a witness in an ASB case",
}


def format_day(day: dt.date, as_of: dt.date) -> str:
    """``12 Mar`` within the as-of year, ``12 Mar 2024`` otherwise."""
    text = f"{day.day} {day.strftime('%b')}"
    return text if day.year == as_of.year else f"{text} {day.year}"


def _dates(days: Sequence[dt.date], as_of: dt.date) -> str:
    days = sorted(days)
    shown = [format_day(d, as_of) for d in days[:MAX_DATES]]
    if len(days) > MAX_DATES:
        shown.append(f"and {len(days) - MAX_DATES} more")
    return ", ".join(shown)


def _count(n: int, nouns: tuple[str, str]) -> str:
    return f"{n} {nouns[0] if n == 1 else nouns[1]}"


def _money(value: float) -> str:
    return f"£{abs(value):,.0f}"


def repair_component(categories: Sequence[str], location: str | None) -> list[str]:
    """The points components a repair's categories fall into (a job with two categories is in two)."""
    loc = location if location in ("external", "internal") else "unknown"
    out = []
    for category in categories:
        if category in ("lock_change", "door_damage"):
            out.append(f"{category}_{loc}")
        elif category in _NOUNS:
            out.append(category)
    return out


def _evidence_words(evidence: str | None, category: str) -> list[str]:
    """The classifier's matched words for one category.

    From ``"lock_change: renew cylinder; door_damage: hole"``.
    """
    words: list[str] = []
    for part in (evidence or "").split(";"):
        name, _, matched = part.strip().partition(":")
        if name.strip() == category:
            words += [w.strip() for w in matched.split(",") if w.strip()]
    return list(dict.fromkeys(words))


def _asb_category(category: str | None) -> str:
    text = (category or "").strip()
    if not text or any(word in text.lower() for word in WITHHELD_WORDS):
        return "category on the case file"
    return text.lower()


def _burst_span(days: Sequence[dt.date], window_days: int) -> tuple[int, dt.date, dt.date]:
    """The most red flags within any ``window_days`` run, with its first and last day."""
    days = sorted(days)
    best = (0, days[0], days[0]) if days else (0, dt.date.min, dt.date.min)
    start = 0
    for end, day in enumerate(days):
        while (day - days[start]).days >= window_days:
            start += 1
        if end - start + 1 > best[0]:
            best = (end - start + 1, days[start], day)
    return best


def incident_days(days: Sequence[dt.date], gap_days: int) -> list[dt.date]:
    """The first day of each incident: red flags within ``gap_days`` of the previous one are one incident."""
    starts: list[dt.date] = []
    previous: dt.date | None = None
    for day in sorted(days):
        if previous is None or (day - previous).days > gap_days:
            starts.append(day)
        previous = day
    return starts


def _occasions(n: int) -> str:
    return "1 occasion" if n == 1 else f"{n} separate occasions"


def household_reasons(
    household: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    as_of: dt.date,
    *,
    burst_window_days: int,
    burst_min_repairs: int,
    recent_window_days: int = 180,
    surprise_min: float = 2.0,
    incident_gap_days: int = 2,
) -> str:
    """One household's reasons, most important first, joined with ``"; "``.

    ``household``: a scored row (``pts_*``, ``incidents_recent``, ``expected_incidents_recent``,
    ``surprise_score``, ``current_balance_gbp``, ``pre_onset_balance_gbp``, ``arrears_onset_on``, discount
    counts).
    ``events``: the household's evidence rows (``on``, ``source``, ``categories`` as ``"a; b"``, ``location``,
    ``is_counted``, ``note``, ``amount_gbp``, ``evidence``).
    """
    parts: list[tuple[float, str]] = []
    repairs = [e for e in events if e["source"] == "repair"]
    counted = [e for e in repairs if e["is_counted"]]

    by_component: dict[str, list[Mapping[str, Any]]] = {}
    for e in counted:
        categories = [c.strip() for c in (e["categories"] or "").split(";") if c.strip()]
        for component in repair_component(categories, e.get("location")):
            by_component.setdefault(component, []).append(e)
    for component in REPAIR_COMPONENTS:
        rows = by_component.get(component)
        if not rows:
            continue
        category = component.rsplit("_", 1)[0] if component.startswith(("lock_", "door_")) else component
        words: list[str] = []
        for e in rows:
            words += _evidence_words(e.get("evidence"), category)
        quoted = f": {', '.join(_quote(w) for w in dict.fromkeys(words))}" if words else ""
        text = f"{_count(len(rows), _NOUNS[component])}{quoted} ({_dates([e['on'] for e in rows], as_of)})"
        parts.append((float(household.get(f"pts_{component}", 0.0)) + 0.001 * len(rows), text))

    if household.get("pts_burst", 0) and counted:
        starts = incident_days([e["on"] for e in counted], incident_gap_days)
        n, first, last = _burst_span(starts, burst_window_days)
        if n >= burst_min_repairs:
            text = (
                f"red-flag repairs on {_occasions(n)} within {burst_window_days} days "
                f"({format_day(first, as_of)} to {format_day(last, as_of)})"
            )
            parts.append((float(household["pts_burst"]), text))

    asb = [e for e in events if e["source"] == "asb" and e["is_counted"]]
    if asb:
        pieces = [
            f"{_ROLE_PHRASES.get(e.get('note') or '', 'household named in an ASB case')}: "
            f"{_asb_category(e['categories'])} ({format_day(e['on'], as_of)})"
            for e in sorted(asb, key=lambda e: e["on"])
        ]
        parts.append((float(household.get("pts_asb_lens", 0.0)), "; ".join(pieces)))

    damage = [e for e in events if e["source"] == "recharge" and e["is_counted"]]
    if damage:
        total = sum(float(e["amount_gbp"] or 0) for e in damage)
        noun = ("damage recharge", "damage recharges")
        days = _dates([e["on"] for e in damage], as_of)
        text = f"{_count(len(damage), noun)} totalling {_money(total)} ({days})"
        parts.append((float(household.get("pts_damage_recharge", 0.0)), text))

    if household.get("is_arrears_near_pattern") and household.get("arrears_onset_on") is not None:
        before = float(household.get("pre_onset_balance_gbp") or 0)
        now = float(household.get("current_balance_gbp") or 0)
        start = (
            "£0"
            if before <= 0 and before > -1
            else (f"{_money(before)} in credit" if before < 0 else _money(before))
        )
        onset = format_day(household["arrears_onset_on"], as_of)
        text = f"rent arrears from {start} to {_money(now)} since {onset}"
        parts.append((float(household.get("pts_arrears_near_pattern", 0.0)), text))

    surprise = float(household.get("surprise_score") or 0.0)
    if surprise >= surprise_min:
        expected = float(household.get("expected_incidents_recent") or 0.0)
        occasions = _occasions(int(household["incidents_recent"]))
        text = (
            f"red-flag repairs on {occasions} in {recent_window_days} days "
            f"where about {expected:.1f} would be usual for similar homes"
        )
        parts.append((0.0, text))

    ordered = [text for _, text in sorted(parts, key=lambda p: -p[0])]
    ordered += _context(repairs, as_of)
    return "; ".join(ordered)


def _quote(word: str) -> str:
    return f'"{word}"'


def _context(repairs: Sequence[Mapping[str, Any]], as_of: dt.date) -> list[str]:
    """Discounted look-alikes worth knowing about, after the counted facts."""
    out = []
    for reason, phrase in _DISCOUNT_PHRASES.items():
        days = [e["on"] for e in repairs if not e["is_counted"] and e.get("note") == reason]
        if days:
            noun = ("repair", "repairs")
            out.append(f"{_count(len(days), noun)} {phrase} ({_dates(days, as_of)}), not counted")
    return out
