"""models/reasons.py: plain-English reasons with dates, most important first, no conclusions about people."""

from __future__ import annotations

import datetime as dt
from typing import Any

from models.reasons import format_day, household_reasons

AS_OF = dt.date(2025, 6, 29)
D = dt.date


def repair(
    on: dt.date, categories: str, location: str | None, evidence: str | None = None, **kw: Any
) -> dict:
    return {"source": "repair", "on": on, "categories": categories, "location": location, "is_counted": True,
            "note": None, "evidence": evidence, "amount_gbp": None} | kw  # fmt: skip


def test_reasons_text_in_order_of_points_with_dates_and_evidence_words() -> None:
    household = {
        "pts_lock_change_external": 4.5,
        "pts_door_damage_internal": 1.6,
        "pts_asb_lens": 1.2,
        "pts_arrears_near_pattern": 2.0,
        "is_arrears_near_pattern": True,
        "arrears_onset_on": D(2025, 3, 2),
        "pre_onset_balance_gbp": 0.0,
        "current_balance_gbp": 612.4,
        "surprise_score": 0.5,
    }
    events = [
        repair(D(2025, 3, 12), "lock_change", "external", "lock_change: renew cylinder"),
        repair(D(2025, 4, 2), "lock_change", "external"),
        repair(D(2025, 5, 28), "lock_change", "external"),
        repair(D(2025, 4, 4), "door_damage", "internal", "door_damage: hole"),
        {
            "source": "asb",
            "on": D(2025, 4, 6),
            "categories": "Noise - shouting",
            "is_counted": True,
            "note": "subject",
        },
        repair(D(2025, 2, 3), "forced_entry", "external", is_counted=False, note="police_reference"),
    ]
    text = household_reasons(household, events, AS_OF, burst_window_days=28, burst_min_repairs=3)
    assert text == (
        '3 external door lock changes: "renew cylinder" (12 Mar, 2 Apr, 28 May); '
        "rent arrears from £0 to £612 since 2 Mar; "
        '1 repair to a damaged internal door: "hole" (4 Apr); '
        "ASB complaint about the household: noise - shouting (6 Apr); "
        "1 repair with a police or crime reference (3 Feb), not counted"
    )


def test_burst_surprise_recharges_and_years_outside_the_as_of_year() -> None:
    household = {
        "pts_window_damage": 3.0,
        "pts_burst": 2.0,
        "pts_damage_recharge": 1.0,
        "surprise_score": 3.2,
        "incidents_recent": 3,  # the surprise counts incidents (separate occasions), not jobs
        "expected_incidents_recent": 0.14,
    }
    events = [repair(D(2024, 12, 30), "window_damage", None), repair(D(2025, 1, 5), "window_damage", None),
              repair(D(2025, 1, 20), "window_damage", None),
              {"source": "recharge", "on": D(2025, 1, 21), "categories": "window_damage", "is_counted": True,
               "note": "damage", "amount_gbp": 180.0}]  # fmt: skip
    text = household_reasons(household, events, AS_OF, burst_window_days=28, burst_min_repairs=3)
    assert text.split("; ") == [
        "3 broken window or glass repairs (30 Dec 2024, 5 Jan, 20 Jan)",
        # deliberately changed with the move to incidents: bursts and the peer comparison count occasions
        "red-flag repairs on 3 separate occasions within 28 days (30 Dec 2024 to 20 Jan)",
        "1 damage recharge totalling £180 (21 Jan)",
        "red-flag repairs on 3 separate occasions in 180 days where about 0.1 would be usual for similar "
        "homes",
    ]


def test_repairs_within_the_incident_gap_are_one_occasion_in_the_burst() -> None:
    household = {"pts_lock_change_external": 6.0, "pts_burst": 2.0}
    # 1 May and 2 May are one incident (1 day apart, gap 2); 20 May and 27 May are two more: 3 occasions
    events = [repair(D(2025, 5, day), "lock_change", "external") for day in (1, 2, 20, 27)]
    text = household_reasons(household, events, AS_OF, burst_window_days=28, burst_min_repairs=3)
    assert text.split("; ") == [
        "4 external door lock changes (1 May, 2 May, 20 May, 27 May)",
        "red-flag repairs on 3 separate occasions within 28 days (1 May to 27 May)",
    ]
    # with the gap at 0 days each day is its own incident: 4 occasions
    text = household_reasons(
        household, events, AS_OF, burst_window_days=28, burst_min_repairs=3, incident_gap_days=0
    )
    assert "red-flag repairs on 4 separate occasions within 28 days (1 May to 27 May)" in text


def test_reasons_never_state_conclusions_and_withhold_sensitive_asb_categories() -> None:
    household = {"pts_lock_change_internal": 2.5, "pts_asb_lens": 3.0}
    events = [
        repair(D(2025, 6, 1), "lock_change", "internal"),
        {
            "source": "asb",
            "on": D(2025, 5, 1),
            "categories": "Domestic abuse",
            "is_counted": True,
            "note": "victim",
        },
    ]
    text = household_reasons(household, events, AS_OF, burst_window_days=28, burst_min_repairs=3)
    assert text == (
        "household recorded as affected by ASB: category on the case file (1 May); "
        "1 internal door lock change (1 Jun)"
    )
    for word in ("victim", "abuse", "perpetrator", "domestic"):
        assert word not in text.lower()


def test_format_day() -> None:
    assert format_day(D(2025, 3, 2), AS_OF) == "2 Mar"
    assert format_day(D(2024, 3, 2), AS_OF) == "2 Mar 2024"
