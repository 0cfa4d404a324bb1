"""Staging models: the latest version of each key known on the as-of date, and nothing dated after it."""

from __future__ import annotations

from warehouse_rows import Landlord


def test_stg_repairs_uses_the_latest_version_known_on_the_as_of_date() -> None:
    ll = Landlord()
    ll.repair("J1", "P1", "T1", "2025-03-01", status="open", known_on="2025-03-02")
    ll.repair("J1", "P1", "T1", "2025-03-01", status="completed", known_on="2025-03-09")
    ll.repair("J1", "P1", "T1", "2025-03-01", status="cancelled", known_on="2025-03-16")  # after as_of
    ll.repair("J2", "P1", "T1", "2025-03-20", known_on="2025-03-20")  # reported after as_of
    ll.build("2025-03-10", upto="staging/stg_repairs")
    rows = ll.table("stg_repairs").to_dicts()
    assert [(r["job_ref"], r["status"]) for r in rows] == [("J1", "completed")]


def test_stg_repairs_breaks_ties_on_file_then_row_and_blanks_tenancy() -> None:
    ll = Landlord()
    ll.repair("J1", "P1", " ", "2025-03-01", priority="Urgent", file_id=1, known_on="2025-03-02")
    ll.repair("J1", "P1", " ", "2025-03-01", priority="EMERGENCY", file_id=2, known_on="2025-03-02")
    ll.build("2025-03-10", upto="staging/stg_repairs")
    row = ll.row("stg_repairs", "job_ref", "J1")
    assert row["priority"] == "emergency"  # file 2 restates file 1; codes lower-cased
    assert row["tenancy_ref"] is None


def test_stg_tenancies_hides_future_ends_and_future_starts() -> None:
    ll = Landlord()
    ll.tenancy("T1", "P1", "2020-01-01", end="2025-06-30", known_on="2025-01-01")
    ll.tenancy("T2", "P2", "2025-05-01", known_on="2025-01-01")  # starts after as_of
    ll.tenancy("T3", "P3", "2020-01-01", end="2025-02-01", known_on="2025-01-01")
    ll.build("2025-03-10", upto="staging/stg_tenancies")
    rows = {r["tenancy_ref"]: (r["end_date"], r["is_live"]) for r in ll.table("stg_tenancies").to_dicts()}
    assert rows == {"T1": (None, True), "T3": (rows["T3"][0], False)}
    assert str(rows["T3"][0]) == "2025-02-01"


def test_stg_tenancies_ignores_a_version_known_after_as_of() -> None:
    ll = Landlord()
    ll.tenancy("T1", "P1", "2020-01-01", known_on="2024-01-01")
    ll.tenancy(
        "T1", "P1", "2020-01-01", end="2025-01-05", known_on="2025-04-01"
    )  # the ending is learnt later
    ll.build("2025-03-10", upto="staging/stg_tenancies")
    assert ll.row("stg_tenancies", "tenancy_ref", "T1")["is_live"] is True
    ll.build("2025-04-10", upto="staging/stg_tenancies")
    assert ll.row("stg_tenancies", "tenancy_ref", "T1")["is_live"] is False


def test_stg_recharges_asb_rent_filter_on_their_own_dates() -> None:
    ll = Landlord()
    ll.recharge("R1", "T1", "2025-03-01", 80.0)
    ll.recharge("R2", "T1", "2025-03-12", 90.0)
    ll.asb("C1", "T1", "2025-03-01", "Noise")
    ll.asb("C2", "T1", "2025-03-11", "Noise")
    ll.rent("T1", "2025-02-23", [0, 0, 10])  # weeks ending 23 Feb, 2 Mar, 9 Mar
    ll.build("2025-03-08", upto="staging/stg_properties")
    assert ll.table("stg_recharges")["recharge_ref"].to_list() == ["R1"]
    assert ll.table("stg_asb")["case_ref"].to_list() == ["C1"]
    assert ll.table("stg_rent").height == 2  # 23 Feb and 2 Mar; 9 Mar is after as_of


def test_stg_properties_known_cases_planned_works() -> None:
    ll = Landlord()
    ll.property("P1", block=" ", kind=" Flat ")
    ll.known_case("T1", " MARAC ", "2025-01-01", end="2025-12-31")
    ll.known_case("T2", "MARAC", "2025-04-01")  # starts after as_of
    ll.planned("Windows", "2025-02-01", "2025-06-30", estate="E1")
    ll.planned("Doors", "2025-05-01", estate="E1")  # starts after as_of
    ll.build("2025-03-10", upto="staging/stg_planned_works")
    prop = ll.row("stg_properties", "property_ref", "P1")
    assert (prop["block_ref"], prop["property_type"]) == (None, "flat")
    cases = ll.table("stg_known_cases").to_dicts()
    assert [(c["tenancy_ref"], c["marker_normalised"]) for c in cases] == [("T1", "marac")]
    assert str(cases[0]["end_date"]) == "2025-12-31"  # a future end is kept: it is when the marker lapses
    assert ll.table("stg_planned_works")["programme"].to_list() == ["Windows"]
