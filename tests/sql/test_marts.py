"""household_features and household_evidence on hand-written rows."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from warehouse_rows import Landlord

AS_OF = "2025-06-30"


def features(ll: Landlord, **overrides: Any) -> dict[str, dict[str, Any]]:
    ll.build(AS_OF, upto="marts/household_features", **overrides)
    return {r["tenancy_ref"]: r for r in ll.table("household_features").to_dicts()}


def test_one_row_per_live_tenancy_with_windowed_counts_by_category_and_location() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    ll.property("P9")
    ll.tenancy("T9", "P9", "2020-01-01", end="2025-01-31")  # ended: not a row
    ll.repair("J1", "P1", "T1", "2025-06-10", ("lock_change",), "external")  # 20 days old
    ll.repair("J2", "P1", "T1", "2025-03-10", ("lock_change", "door_damage"), "internal")  # 112 days
    ll.repair("J3", "P1", "T1", "2024-11-01", ("window_damage",), None)  # 241 days
    ll.repair("J4", "P1", "T1", "2024-06-01", ("lost_keys",))  # 394 days: outside the 365-day window
    row = features(ll)["T1"]
    assert set(features(ll)) == {"T1"}
    assert (row["flags_short"], row["flags_recent"], row["flags_long"]) == (1, 2, 3)
    assert (row["lock_change_external_long"], row["lock_change_internal_long"]) == (1, 1)
    assert (row["door_damage_internal_long"], row["window_damage_long"], row["lost_keys_long"]) == (1, 1, 0)
    # recency weights halve every 90 days: J2 is 112 days old, J3 241 days, J1 20 days
    assert row["lock_change_internal_weighted"] == pytest.approx(0.5 ** (112 / 90))
    assert row["window_damage_weighted"] == pytest.approx(0.5 ** (241 / 90))
    assert row["flags_weighted"] == pytest.approx(0.5 ** (20 / 90) + 0.5 ** (112 / 90) + 0.5 ** (241 / 90))
    assert row["distinct_categories_recent"] == 2  # lock_change, door_damage within 180 days
    assert row["distinct_categories_long"] == 3  # lock_change, door_damage, window_damage
    assert (row["first_flag_on"], row["last_flag_on"]) == (dt.date(2024, 11, 1), dt.date(2025, 6, 10))
    assert row["days_since_last_flag"] == 20


def test_burst_is_the_most_red_flags_within_the_burst_window() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    for i, day in enumerate(["2025-05-01", "2025-05-10", "2025-05-28", "2025-05-29", "2025-06-20"]):
        ll.repair(f"J{i}", "P1", "T1", day)
    # 28-day windows: 1 May..28 May holds 3 (1, 10, 28 May); 10 May..29 May... 6 Jun holds 3 (10, 28, 29 May)
    assert features(ll)["T1"]["max_burst_flags"] == 3


def test_expected_flags_come_from_peers_shrunk_towards_the_landlord_rate() -> None:
    ll = Landlord()
    ll.home("T1", "P1", estate="E1")
    ll.home("T2", "P2", estate="E1")
    ll.home("T3", "P3", estate="E2")
    for i in range(4):
        ll.repair(f"A{i}", "P1", "T1", f"2025-0{i + 2}-15")
    ll.repair("B1", "P2", "T2", "2025-04-15")
    rows = features(ll, peer_prior_home_years=1.0)
    # every tenancy is exposed for the whole window: 365 days = 365/365 = 1 home-year each
    # landlord rate = (4 + 1 + 0) / 3 = 5/3 a year
    # T1's peers (E1 flat 2-bed, leaving T1 out): 1 flag over 1 year; shrunk: (1 + 1 * 5/3) / (1 + 1) = 4/3
    assert rows["T1"]["exposure_years"] == pytest.approx(1.0)
    assert rows["T1"]["landlord_rate_per_year"] == pytest.approx(5 / 3)
    assert rows["T1"]["expected_flags_long"] == pytest.approx((1 + 5 / 3) / 2)
    # T3 alone in E2: no peers, so the landlord rate: (0 + 5/3) / (0 + 1)
    assert rows["T3"]["expected_flags_long"] == pytest.approx(5 / 3)


def test_arrears_onset_near_the_pattern() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    ll.home("T2", "P2")
    ll.repair("J1", "P1", "T1", "2025-05-01")
    ll.repair("J2", "P2", "T2", "2025-05-01")
    # T1: clear from 5 Jan, arrears from 2 Mar (60 days before the first flag), rising to £400
    ll.rent("T1", "2025-01-05", [0] * 8 + [100, 200, 300, 400])
    # T2: arrears onset 2 Mar too but only £150 rise: below the £200 minimum
    ll.rent("T2", "2025-01-05", [0] * 8 + [50, 100, 150])
    rows = features(ll)
    assert rows["T1"]["has_arrears_onset"] and rows["T1"]["is_arrears_near_pattern"]
    assert not rows["T2"]["has_arrears_onset"] and not rows["T2"]["is_arrears_near_pattern"]
    # with a 30-day "near" window, 60 days before the pattern is not near
    assert not features(ll, economic_abuse_window_days=30)["T1"]["is_arrears_near_pattern"]


def test_asb_and_recharges_are_counted_in_the_period() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    ll.repair("J1", "P1", "T1", "2025-05-01", ("door_damage",))
    ll.recharge("R1", "T1", "2025-05-10", 120.0, job="J1")
    ll.recharge("R2", "T1", "2025-05-12", 40.0)
    ll.asb("C1", "T1", "2025-04-01", "Shouting", role="subject")
    ll.asb("C2", "T1", "2025-04-02", "Parking", role="complainant")
    row = features(ll)["T1"]
    assert (row["recharges_long"], row["damage_recharges_long"], float(row["damage_recharges_gbp_long"])) == (
        2,
        1,
        120.0,
    )
    assert (row["asb_cases_long"], row["asb_lens_cases_long"], row["asb_lens_as_subject_long"]) == (2, 1, 1)


def test_live_marker_suppresses_and_a_lapsed_marker_counts_only_later_flags() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    ll.home("T2", "P2")
    ll.known_case("T1", "Sanctuary Scheme", "2025-03-01")  # live: its lock changes are protection
    ll.repair("J1", "P1", "T1", "2025-03-05")
    ll.known_case("T2", "MARAC", "2024-01-01", end="2025-01-31")  # lapsed on 31 Jan 2025
    ll.repair("J2", "P2", "T2", "2024-12-01")  # while the marker was live: not counted
    ll.repair("J3", "P2", "T2", "2025-01-31")  # the last live day: not counted
    ll.repair("J4", "P2", "T2", "2025-03-01")  # after the lapse: counted
    rows = features(ll)
    assert rows["T1"]["suppression_reason"] == "live_marker"
    assert rows["T2"]["suppression_reason"] is None
    assert rows["T2"]["flags_long"] == 1 and rows["T2"]["counted_from"] == dt.date(2025, 2, 1)
    # exposure since the lapse: 1 Feb to 30 Jun = 150 days
    assert rows["T2"]["exposure_years"] == pytest.approx(150 / 365)


def test_no_concern_outcome_suppresses_until_a_new_red_flag_after_the_review() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    ll.home("T2", "P2")
    ll.home("T3", "P3")
    for t, p in (("T1", "P1"), ("T2", "P2"), ("T3", "P3")):
        ll.repair(f"{t}a", p, t, "2025-03-01")
    ll.outcome("T1", "no_concern", "2025-04-01")
    ll.outcome("T2", "no_concern", "2025-04-01")
    ll.repair("T2b", "P2", "T2", "2025-05-01")  # a new red flag after the review lifts the suppression
    ll.outcome("T3", "already_known", "2025-04-01", outcome_id=3)
    rows = features(ll)
    assert rows["T1"]["suppression_reason"] == "outcome_no_concern"
    assert rows["T2"]["suppression_reason"] is None
    assert rows["T3"]["suppression_reason"] == "outcome_already_known"


def test_discounted_flags_are_counted_as_context_not_as_red_flags() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    ll.repair("J1", "P1", "T1", "2025-02-03", ("forced_entry",), police=True)
    row = features(ll)["T1"]
    assert (row["flags_long"], row["discounted_police_reference"]) == (0, 1)
    assert math.isclose(row["expected_flags_long"], 0.0)


def test_evidence_is_in_date_order_with_encrypted_text_passed_through() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    ll.repair(
        "J1", "P1", "T1", "2025-05-01", evidence="lock_change: renew cylinder", description=b"\x00secret"
    )
    ll.repair("J2", "P1", "T1", "2025-02-03", ("forced_entry",), police=True)
    ll.recharge("R1", "T1", "2025-05-10", 120.0, job="J1")
    ll.asb("C1", "T1", "2025-04-01", "Shouting")
    ll.rent("T1", "2025-01-05", [0] * 8 + [100, 300])
    ll.build(AS_OF)
    rows = ll.table("household_evidence", order_by='"on", source').to_dicts()
    assert [(r["source"], str(r["on"])) for r in rows] == [
        ("repair", "2025-02-03"),
        ("rent", "2025-03-02"),
        ("rent", "2025-03-09"),
        ("asb", "2025-04-01"),
        ("repair", "2025-05-01"),
        ("recharge", "2025-05-10"),
    ]
    repair = rows[4]
    assert repair["summary_enc"] == b"\x00secret" and "renew cylinder" in repair["summary"]
    assert rows[0]["is_counted"] is False and "not counted: police reference" in rows[0]["summary"]
    assert rows[2]["summary"] == "rent balance £300.00 in arrears"
