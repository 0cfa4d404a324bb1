"""repairs__incidents, signals__corroborating and household_features incident columns, on hand-written rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from warehouse_rows import Landlord

AS_OF = "2025-06-30"


def features(ll: Landlord, **overrides: Any) -> dict[str, dict[str, Any]]:
    ll.build(AS_OF, upto="marts/household_features", **overrides)
    return {r["tenancy_ref"]: r for r in ll.table("household_features").to_dicts()}


def test_jobs_within_the_gap_are_one_incident_led_by_its_strongest_component() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    # one lock-out: lock change + lost keys on 1 Jun, the door made good on 2 Jun (1 day later: same incident)
    ll.repair("J1", "P1", "T1", "2025-06-01", ("lock_change", "lost_keys"), "external")
    ll.repair("J2", "P1", "T1", "2025-06-02", ("door_damage",), "external")
    # a second occasion 28 days later: a broken window
    ll.repair("J3", "P1", "T1", "2025-06-30", ("window_damage",), None)
    ll.build(AS_OF, upto="intermediate/repairs__incidents")
    rows = ll.table("repairs__incidents", order_by="started_on").to_dicts()
    assert [(r["started_on"], r["ended_on"], r["jobs"]) for r in rows] == [
        (dt.date(2025, 6, 1), dt.date(2025, 6, 2), 2),
        (dt.date(2025, 6, 30), dt.date(2025, 6, 30), 1),
    ]
    assert rows[0]["components"] == ["door_damage_external", "lock_change_external", "lost_keys"]
    # weights: lock change external 2.0 > door damage external 1.5 > lost keys 1.0
    assert rows[0]["lead_component"] == "lock_change_external"
    assert rows[1]["lead_component"] == "window_damage"
    assert rows[0]["recency_weight"] == pytest.approx(0.5 ** (28 / 90))  # its last day, 2 Jun, is 28 days old
    # 30 Jun - 28 days = 2 Jun: the incident starting 1 Jun is outside the burst window ending 30 Jun
    assert [r["incidents_in_burst_window"] for r in rows] == [1, 1]


def test_burst_window_counts_incidents_starting_within_it() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    for i, day in enumerate(["2025-06-01", "2025-06-02", "2025-06-10", "2025-06-20"]):
        ll.repair(f"J{i}", "P1", "T1", day)
    ll.build(AS_OF, upto="intermediate/repairs__incidents")
    rows = ll.table("repairs__incidents", order_by="started_on").to_dicts()
    # 1-2 Jun is one incident; 10 Jun and 20 Jun are two more; all start within 28 days of 1 Jun
    assert [r["incidents_in_burst_window"] for r in rows] == [1, 2, 3]
    row = features(ll)["T1"]
    assert (row["flags_long"], row["incidents_long"], row["max_burst_incidents"]) == (4, 3, 3)


def test_household_incident_columns() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    ll.repair(
        "J1", "P1", "T1", "2025-06-01", ("lock_change", "lost_keys", "door_damage"), "external"
    )  # 29 days
    ll.repair("J2", "P1", "T1", "2025-03-02", ("window_damage",), None)  # 120 days
    row = features(ll)["T1"]
    assert (row["incidents_long"], row["incidents_recent"], row["incidents_short"]) == (2, 2, 1)
    w1, w2 = 0.5 ** (29 / 90), 0.5 ** (120 / 90)
    assert row["lock_change_external_weighted"] == pytest.approx(
        w1
    )  # the lock-out's strongest component only
    assert row["lost_keys_weighted"] == 0.0 and row["door_damage_external_weighted"] == 0.0
    assert row["window_damage_weighted"] == pytest.approx(w2)
    assert row["incident_extra_weighted"] == pytest.approx(
        w1 * 2
    )  # lost keys and door damage: 2 beyond the first
    assert row["incidents_weighted"] == pytest.approx(w1 + w2)
    assert row["max_incident_categories_recent"] == 3
    assert row["distinct_categories_recent"] == 4  # the mix across incidents: 4 - 3 = 1 category added


def test_expected_incidents_come_from_peers_like_flags() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    ll.home("T2", "P2")
    # T2: three jobs on one day = 3 flags but 1 incident
    for i in range(3):
        ll.repair(f"B{i}", "P2", "T2", "2025-04-15")
    rows = features(ll, peer_prior_home_years=1.0)
    # landlord incident rate = 1 incident / 2 home-years = 0.5; T1's peer (T2): 1 incident in 1 year
    # shrunk: (1 + 1 x 0.5) / (1 + 1) = 0.75 a year; the recent window is 180 days: 0.75 x 180/365
    assert rows["T1"]["expected_incidents_long"] == pytest.approx(0.75)
    assert rows["T1"]["expected_incidents_recent"] == pytest.approx(0.75 * 180 / 365)
    # flags: landlord 3 / 2 = 1.5; shrunk (3 + 1.5) / 2 = 2.25
    assert rows["T1"]["expected_flags_long"] == pytest.approx(2.25)


def test_corroborating_signals_are_independent_of_the_incident() -> None:
    ll = Landlord()
    for t in ("T1", "T2", "T3", "T4"):
        ll.home(t, "P" + t[1:])
        ll.repair(f"J{t}", "P" + t[1:], t, "2025-05-01", ("lock_change", "lost_keys"))
    ll.asb("C1", "T1", "2025-04-01", "Shouting", role="subject")  # 30 days before: corroborates
    ll.asb("C2", "T2", "2025-04-01", "Shouting", role="complainant")  # about a neighbour: does not
    ll.asb("C3", "T2", "2024-10-01", "Shouting", role="victim")  # 212 days before: outside 120 days
    ll.recharge("R3", "T3", "2025-05-10", 90.0, job="JT3")  # the incident's own call-out: the same event
    ll.recharge("R4", "T4", "2025-05-20", 150.0, categories=("window_damage",))  # glass, no red-flag job
    rows = features(ll)
    assert {t: rows[t]["corroborating_signals"] for t in rows} == {"T1": 1, "T2": 0, "T3": 0, "T4": 1}
    assert rows["T1"]["corroborating_asb_cases"] == 1
    assert rows["T4"]["independent_damage_recharges_near"] == 1
