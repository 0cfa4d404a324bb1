"""pipelines/scoring/week.py: the week's list from hand-written rows (suppression, capacity, knowledge)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from warehouse_rows import Landlord

from pipelines.core.settings import Settings, load_settings
from pipelines.scoring.week import EVIDENCE_COLUMNS, LISTED_COLUMNS, score_week

AS_OF = dt.date(2025, 6, 29)


def settings_with_capacity(repairs_admin: int, tst: int) -> Settings:
    data = load_settings().model_dump()
    data["teams"]["repairs_admin"]["capacity_per_week"] = repairs_admin
    data["teams"]["tst"]["capacity_per_week"] = tst
    return Settings.model_validate(data)


def pattern(ll: Landlord, tenancy: str, prop: str, days: list[str], **kw: object) -> None:
    for i, day in enumerate(days):
        ll.repair(f"{tenancy}-{i}", prop, tenancy, day, ("lock_change",), "external", **kw)  # type: ignore[arg-type]


def landlord(settings: Settings) -> Landlord:
    ll = Landlord(settings)
    for i in range(1, 9):
        ll.home(f"T{i}", f"P{i}", block=f"B{i}")
    recent = ["2025-05-01", "2025-05-20", "2025-06-10"]
    pattern(ll, "T1", "P1", recent)  # repairs only
    pattern(ll, "T2", "P2", [*recent, "2025-06-20"])  # repairs only, more of them
    pattern(ll, "T3", "P3", recent)
    ll.asb("C3", "T3", "2025-05-05", "Shouting")  # repairs + ASB: TST
    pattern(ll, "T4", "P4", recent)
    ll.known_case("T4", "Sanctuary Scheme", "2025-04-01")  # live marker: never listed
    pattern(ll, "T5", "P5", ["2024-09-01", "2024-09-20", "2024-10-10"])
    ll.known_case("T5", "MARAC", "2024-08-01", end="2024-12-31")  # flags only while live: not listed
    pattern(ll, "T6", "P6", ["2024-09-01", *recent])
    ll.known_case("T6", "MARAC", "2024-08-01", end="2024-12-31")  # lapsed, then a new pattern: back
    pattern(ll, "T7", "P7", recent, known_on="2025-07-06")  # learnt after the as-of date
    pattern(ll, "T8", "P8", recent)
    ll.outcome("T8", "no_concern", "2025-06-15")  # reviewed after its last red flag
    return ll


def test_the_weekly_list_respects_suppression_routing_capacity_and_knowledge_time() -> None:
    settings = settings_with_capacity(repairs_admin=2, tst=5)
    week = score_week(landlord(settings).con, settings, AS_OF)
    assert week.listed.columns == list(LISTED_COLUMNS)
    assert week.listed.select("team", "rank", "tenancy_ref").rows() == [
        ("repairs_admin", 1, "T2"),  # four lock changes outrank three
        # T6 has the same points as T1 but counts only since its marker lapsed (1 Jan): less exposure, so its
        # three red flags are more surprising against its peers
        ("repairs_admin", 2, "T6"),
        ("tst", 1, "T3"),
    ]
    assert week.carried.select("tenancy_ref", "team").rows() == [("T1", "repairs_admin")]
    assert week.suppressed == {"live_marker": 1, "outcome_no_concern": 1}
    listed_or_carried = set(week.listed["tenancy_ref"]) | set(week.carried["tenancy_ref"])
    assert not listed_or_carried & {"T4", "T5", "T7", "T8"}
    assert week.features.height == 8


def test_reasons_and_evidence_for_listed_households_only() -> None:
    settings = settings_with_capacity(repairs_admin=5, tst=5)
    week = score_week(landlord(settings).con, settings, AS_OF)
    t3 = week.listed.filter(pl.col("tenancy_ref") == "T3").row(0, named=True)
    assert t3["reasons"].startswith("3 external door lock changes (1 May, 20 May, 10 Jun)")
    assert "ASB complaint about the household: shouting (5 May)" in t3["reasons"]
    assert week.evidence.columns == list(EVIDENCE_COLUMNS)
    assert set(week.evidence["tenancy_ref"]) == set(week.listed["tenancy_ref"])
    t6 = week.evidence.filter(pl.col("tenancy_ref") == "T6")
    assert t6["on"].to_list() == sorted(t6["on"].to_list())
    assert t6["on"].min() == dt.date(
        2025, 5, 1
    )  # the flag before the marker lapsed is not behind the listing


def test_the_same_input_gives_the_same_list() -> None:
    settings = settings_with_capacity(repairs_admin=2, tst=5)
    ll = landlord(settings)
    first = score_week(ll.con, settings, AS_OF)
    second = score_week(ll.con, settings, AS_OF)
    assert first.listed.equals(second.listed) and first.carried.equals(second.carried)


def _publish(con: object, week: object, as_of: dt.date) -> None:
    from pipelines.warehouse.audit import record_list_published
    from pipelines.warehouse.crypto import FieldCipher

    record_list_published(
        con,  # type: ignore[arg-type]
        list_id=f"{as_of.isoformat()}-r1",
        as_of=as_of,
        listed=week.listed,  # type: ignore[attr-defined]
        carried=week.carried,  # type: ignore[attr-defined]
        config_version="test",
        config_fingerprint="test",
        rules_version="test",
        thresholds={},
        actor="test",
        cipher=FieldCipher(None),  # the test's warehouse is unencrypted
    )


def test_weeks_waiting_counts_the_consecutive_weeks_carried_forward() -> None:
    # repairs_admin has no capacity on 29 Jun and 6 Jul: T1 waits 1 week, then 2; on 13 Jul the team has room and
    # T1 is listed; on 20 Jul it is carried again: a new wait, 1 week
    tight = settings_with_capacity(repairs_admin=0, tst=5)
    roomy = settings_with_capacity(repairs_admin=10, tst=5)
    ll = landlord(tight)
    waited = []
    for as_of, settings in (
        (AS_OF, tight),
        (AS_OF + dt.timedelta(days=7), tight),
        (AS_OF + dt.timedelta(days=14), roomy),
        (AS_OF + dt.timedelta(days=21), tight),
    ):
        week = score_week(ll.con, settings, as_of)
        carried = dict(zip(week.carried["tenancy_ref"], week.carried["weeks_waiting"], strict=True))
        waited.append(carried.get("T1", 0) if "T1" not in set(week.listed["tenancy_ref"]) else "listed")
        _publish(ll.con, week, as_of)
    assert waited == [1, 2, "listed", 1]


def test_eligibility_by_hand_separate_occasions_and_a_signal_in_the_year() -> None:
    # docs/scoring.md, "Eligibility, checkable by hand", as of 29 Jun 2025 (counting from 30 Jun 2024)
    settings = settings_with_capacity(repairs_admin=20, tst=20)
    ll = Landlord(settings)
    for i in range(1, 9):
        ll.home(f"H{i}", f"Q{i}", block=f"C{i}")
    # H1: 2 occasions 7 months apart + a domestic ASB case as victim 5 months ago: eligible, however old
    pattern(ll, "H1", "Q1", ["2024-09-10", "2025-04-20"])
    ll.asb("A1", "H1", "2025-01-15", "Domestic incident", role="victim")
    # H2: the same with the household as complainant about a neighbour's shouting: not corroborating
    pattern(ll, "H2", "Q2", ["2024-09-10", "2025-04-20"])
    ll.asb("A2", "H2", "2025-01-15", "Shouting", role="complainant")
    # H3: 3 occasions alone, the latest 3 months ago: eligible
    pattern(ll, "H3", "Q3", ["2024-08-01", "2024-12-01", "2025-03-30"])
    # H4: 4 jobs on 1-3 Jun, each within 2 days of the one before: ONE occasion, even with a recharge
    pattern(ll, "H4", "Q4", ["2025-06-01", "2025-06-02", "2025-06-03", "2025-06-05"])
    ll.recharge("R4", "H4", "2025-06-20", 120.0, job="H4-0")
    # H5: 2 occasions and a recharge for one of them (any damage recharge corroborates, Dover 8.6): eligible
    pattern(ll, "H5", "Q5", ["2024-11-02", "2025-05-02"])
    ll.recharge("R5", "H5", "2025-05-20", 90.0, job="H5-1")
    # H6: 2 occasions and arrears from a clear account that rose £300 and were paid down again: eligible
    pattern(ll, "H6", "Q6", ["2024-10-05", "2025-02-05"])
    ll.rent("H6", "2024-07-07", [0.0] * 10 + [100.0, 200.0, 300.0, 150.0, 50.0])
    # H7: 2 occasions, one before the counting period (29 Jun 2024) and one in it, plus ASB as subject: 1 occasion
    pattern(ll, "H7", "Q7", ["2024-06-20", "2025-05-01"])
    ll.asb("A7", "H7", "2025-05-10", "Verbal abuse", role="subject")
    week = score_week(ll.con, settings, AS_OF)
    eligible = dict(zip(week.features["tenancy_ref"], week.features["is_eligible"], strict=True))
    assert {ref: eligible[ref] for ref in ("H1", "H2", "H3", "H4", "H5", "H6", "H7", "H8")} == {
        "H1": True,
        "H2": False,
        "H3": True,
        "H4": False,
        "H5": True,
        "H6": True,
        "H7": False,
        "H8": False,
    }
    h1 = week.features.filter(pl.col("tenancy_ref") == "H1").row(0, named=True)
    h5 = week.features.filter(pl.col("tenancy_ref") == "H5").row(0, named=True)
    # the ASB case is independent of the repairs: 3.0 points; H5's recharge is for its own lock change: none
    assert h1["pts_corroborating_signal"] == 3.0 and h5["pts_corroborating_signal"] == 0.0
