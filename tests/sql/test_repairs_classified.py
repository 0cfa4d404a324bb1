"""repairs__classified: each innocent look-alike rule on hand-written rows (default settings)."""

from __future__ import annotations

from typing import Any

from warehouse_rows import Landlord

AS_OF = "2025-06-30"


def classified(ll: Landlord, **overrides: Any) -> dict[str, dict[str, Any]]:
    ll.build(AS_OF, upto="intermediate/repairs__classified", **overrides)
    return {r["job_ref"]: r for r in ll.table("repairs__classified").to_dicts()}


def test_a_plain_red_flag_counts_and_cancelled_or_unflagged_jobs_are_not_red_flags() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    ll.repair("J1", "P1", "T1", "2025-05-01")
    ll.repair("J2", "P1", "T1", "2025-05-02", status="cancelled")
    ll.repair("J3", "P1", "T1", "2025-05-03", categories=())
    rows = classified(ll)
    assert set(rows) == {"J1"}
    assert rows["J1"]["is_counted"] is True and rows["J1"]["discount_reason"] is None


def test_lock_change_within_the_grace_period_of_a_new_tenancy_is_discounted() -> None:
    ll = Landlord()
    ll.home("T1", "P1", start="2025-04-01")
    ll.repair("J1", "P1", "T1", "2025-04-29")  # 28 days after the start: within the 28-day grace
    ll.repair("J2", "P1", "T1", "2025-04-30")  # 29 days: counts
    ll.repair("J3", "P1", "T1", "2025-04-10", categories=("window_damage",))  # not a lock change: counts
    rows = classified(ll)
    assert rows["J1"]["is_tenancy_start"] and rows["J1"]["discount_reason"] == "tenancy_start"
    assert rows["J2"]["is_counted"] and rows["J3"]["is_counted"]


def test_void_jobs_are_discounted() -> None:
    ll = Landlord()
    ll.property("P1")
    ll.tenancy("T0", "P1", "2020-01-01", end="2025-03-31")
    ll.repair("J1", "P1", None, "2025-04-10")  # no tenancy, nobody living there: void
    ll.repair("J2", "P1", "T0", "2025-04-12")  # raised under a tenancy that had ended
    ll.repair("J3", "P1", "T0", "2025-03-01", priority="void")
    rows = classified(ll)
    assert all(rows[j]["is_void"] and rows[j]["discount_reason"] == "void" for j in ("J1", "J2", "J3"))


def test_communal_jobs_are_discounted() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    ll.property("BLK1", kind="communal")
    ll.repair("J1", "BLK1", None, "2025-05-01")  # a communal property
    ll.repair("J2", "P1", "T1", "2025-05-02", communal_text=True)  # the text says communal
    rows = classified(ll)
    assert all(rows[j]["is_communal"] and rows[j]["discount_reason"] == "communal" for j in ("J1", "J2"))


def test_a_dwelling_job_without_tenancy_ref_belongs_to_the_household_living_there() -> None:
    # tenancy_ref is optional in the contract: an export without it must still find the household.
    ll = Landlord()
    ll.property("P1")
    ll.tenancy("T0", "P1", "2020-01-01", end="2024-12-31")
    ll.tenancy("T1", "P1", "2025-02-01")
    ll.property("BLK1", kind="communal")
    ll.repair("J1", "P1", None, "2025-05-03")  # let to T1 that day: T1's, counted
    ll.repair("J2", "P1", None, "2025-01-15")  # between tenancies: void
    ll.repair("J3", "BLK1", None, "2025-05-03")  # a communal property: never a household's
    ll.repair("J4", "P1", None, "2025-05-04", priority="void")  # void priority stays void
    rows = classified(ll)
    assert rows["J1"]["tenancy_ref"] == "T1" and rows["J1"]["is_tenancy_derived"] and rows["J1"]["is_counted"]
    assert rows["J2"]["tenancy_ref"] is None and rows["J2"]["discount_reason"] == "void"
    assert rows["J3"]["tenancy_ref"] is None and rows["J3"]["discount_reason"] == "communal"
    assert rows["J4"]["tenancy_ref"] is None and rows["J4"]["discount_reason"] == "void"


def test_damage_at_three_homes_of_one_block_within_the_window_is_a_cluster() -> None:
    ll = Landlord()
    for i in (1, 2, 3, 4):
        ll.home(f"T{i}", f"P{i}", block="B1" if i < 4 else "B2")
    window = ("window_damage",)
    ll.repair("J1", "P1", "T1", "2025-05-01", window)
    ll.repair("J2", "P2", "T2", "2025-05-10", window)
    ll.repair("J3", "P3", "T3", "2025-05-15", window)  # 14 days after J1: P1, P2, P3 -> 3 homes
    ll.repair("J4", "P4", "T4", "2025-05-05", window)  # another block
    ll.repair("J5", "P1", "T1", "2025-05-02")  # a lock change is not vandalism damage
    ll.repair("J6", "P1", "T1", "2025-06-20", window)  # P1 alone five weeks later
    rows = classified(ll)
    assert [rows[j]["block_homes_nearby"] for j in ("J1", "J2", "J3", "J4", "J6")] == [3, 3, 3, 1, 1]
    assert [rows[j]["is_block_cluster"] for j in ("J1", "J2", "J3", "J4", "J5", "J6")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_damage_inside_a_home_is_not_part_of_a_block_cluster() -> None:
    # a spree on the block reaches front doors and windows, not a door inside a home: an internal door kicked in
    # while two neighbours' front doors were damaged is the household's own, and counts
    ll = Landlord()
    for i in (1, 2, 3, 4):
        ll.home(f"T{i}", f"P{i}", block="B1")
    door = ("door_damage",)
    ll.repair("J1", "P1", "T1", "2025-05-01", door, "internal")
    ll.repair("J2", "P2", "T2", "2025-05-05", door, "external")
    ll.repair("J3", "P3", "T3", "2025-05-09", door, "unknown")
    rows = classified(ll)
    assert not rows["J1"]["is_block_cluster"] and rows["J1"]["is_counted"]
    assert [rows[j]["block_homes_nearby"] for j in ("J2", "J3")] == [
        2,
        2,
    ]  # P1's internal door is not counted
    ll.repair("J4", "P4", "T4", "2025-05-07", door, "external")  # a third home's outside damage: a cluster
    rows = classified(ll)
    assert [rows[j]["is_block_cluster"] for j in ("J1", "J2", "J3", "J4")] == [False, True, True, True]


def test_two_homes_are_not_a_cluster_with_the_default_minimum_of_three() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    ll.home("T2", "P2")
    ll.repair("J1", "P1", "T1", "2025-05-01", ("door_damage",))
    ll.repair("J2", "P2", "T2", "2025-05-03", ("door_damage",))
    rows = classified(ll)
    assert not rows["J1"]["is_block_cluster"]
    assert classified(ll, block_cluster_min_households=2)["J1"]["is_block_cluster"]


def test_planned_programmes_and_priority_planned_are_discounted_but_never_lost_keys() -> None:
    ll = Landlord()
    ll.home("T1", "P1", estate="E1")
    ll.home("T2", "P2", estate="E2", block="B2")
    ll.planned("Front door renewal", "2025-04-01", "2025-05-31", estate="E1")
    # in the programme: a routine job not coded planned (the test helper's default priority is emergency)
    ll.repair("J1", "P1", "T1", "2025-04-15", ("door_damage", "lock_change"), priority="routine")
    ll.repair("J2", "P1", "T1", "2025-04-16", ("lost_keys",))  # programmes don't lose keys
    ll.repair("J3", "P1", "T1", "2025-06-10", ("door_damage",))  # after the programme ended
    ll.repair("J4", "P2", "T2", "2025-04-15", ("door_damage",))  # another estate
    ll.repair("J5", "P2", "T2", "2025-04-20", ("window_damage",), priority="planned")
    # raised as an emergency or urgent repair during the programme: a response to something that happened, not
    # the programme's scheduled work (new with issue 17: these were discounted before)
    ll.repair("J6", "P1", "T1", "2025-04-22", ("lock_change",), priority="emergency")
    ll.repair("J7", "P1", "T1", "2025-05-02", ("door_damage",), priority="urgent")
    rows = classified(ll)
    assert [rows[j]["is_planned"] for j in ("J1", "J2", "J3", "J4", "J5", "J6", "J7")] == [
        True,
        False,
        False,
        False,
        True,
        False,
        False,
    ]


def test_planned_works_match_the_property_or_the_block() -> None:
    ll = Landlord()
    ll.home("T1", "P1", block="B1")
    ll.home("T2", "P2", block="B9")
    ll.planned("Windows", "2025-04-01", prop="P2")
    ll.planned("Windows", "2025-04-01", block="B1")
    # routine jobs: an emergency or urgent one is never the programme's (test above)
    ll.repair("J1", "P1", "T1", "2025-04-15", ("window_damage",), priority="routine")
    ll.repair("J2", "P2", "T2", "2025-04-15", ("window_damage",), priority="routine")
    rows = classified(ll)
    assert rows["J1"]["is_planned"] and rows["J2"]["is_planned"]


def test_a_single_police_referenced_incident_is_context_but_repeated_ones_count() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    ll.home("T2", "P2", block="B2")
    # T1: one burglary: forced entry with a crime reference, then reglazing and a new lock within 14 days
    ll.repair("J1", "P1", "T1", "2025-02-03", ("forced_entry",), police=True)
    ll.repair("J2", "P1", "T1", "2025-02-05", ("window_damage",))
    ll.repair("J3", "P1", "T1", "2025-02-17", ("lock_change",))  # 14 days later: same incident
    ll.repair("J4", "P1", "T1", "2025-03-10", ("lock_change",))  # 35 days later: counts
    # T2: police-referenced entries in February and May: two incidents, so a pattern
    ll.repair("J5", "P2", "T2", "2025-02-03", ("forced_entry",), police=True)
    ll.repair("J6", "P2", "T2", "2025-05-03", ("forced_entry",), police=True)
    rows = classified(ll)
    assert [rows[j]["is_police_incident"] for j in ("J1", "J2", "J3", "J4")] == [True, True, True, False]
    assert rows["J1"]["discount_reason"] == "police_reference"
    assert rows["J5"]["is_counted"] and rows["J6"]["is_counted"]


def test_discounts_are_independent_booleans_and_the_reason_is_the_first_that_fired() -> None:
    ll = Landlord()
    ll.home("T1", "P1", start="2025-05-01")
    ll.repair("J1", "P1", "T1", "2025-05-02", priority="void")
    row = classified(ll)["J1"]
    assert row["is_void"] and row["is_tenancy_start"] and row["discount_reason"] == "void"
    assert row["is_counted"] is False


def test_a_programme_explains_only_what_its_name_says_it_renews() -> None:
    ll = Landlord()
    ll.home("T1", "P1", estate="E1", block="B1")  # blocks apart: no vandalism cluster
    ll.home("T2", "P2", estate="E2", block="B2")
    ll.home("T3", "P3", estate="E3", block="B3")
    ll.planned("Window Renewal Contract", "2025-04-01", "2025-05-31", estate="E1")
    ll.planned("Door Replacement 2024-26", "2025-04-01", "2025-05-31", estate="E2")
    ll.planned(
        "Decent Homes 2025", "2025-04-01", "2025-05-31", estate="E3"
    )  # names none: every planned category
    routine = {"priority": "routine"}
    ll.repair("J1", "P1", "T1", "2025-04-10", ("window_damage",), **routine)  # a window programme's window
    ll.repair(
        "J2", "P1", "T1", "2025-04-20", ("lock_change",), **routine
    )  # a window programme never fits locks
    ll.repair(
        "J3", "P1", "T1", "2025-04-30", ("window_damage", "door_damage"), **routine
    )  # the door is not its
    ll.repair(
        "J4", "P2", "T2", "2025-04-10", ("door_damage", "lock_change"), **routine
    )  # a new door and its lock
    ll.repair("J5", "P2", "T2", "2025-04-20", ("window_damage",), **routine)  # a door programme's? no
    ll.repair("J6", "P3", "T3", "2025-04-10", ("lock_change",), **routine)
    ll.repair("J7", "P3", "T3", "2025-04-20", ("window_damage",), **routine)
    rows = classified(ll)
    assert {j: rows[j]["is_planned"] for j in rows} == {
        "J1": True,
        "J2": False,
        "J3": False,
        "J4": True,
        "J5": False,
        "J6": True,
        "J7": True,
    }
    assert rows["J2"]["is_counted"] and rows["J5"]["is_counted"]
    # with no scope words configured, every programme covers every planned category (the rule before)
    unscoped = classified(ll, planned_scope_terms=[""], planned_scope_categories=[[]])
    assert all(unscoped[j]["is_planned"] for j in unscoped)
