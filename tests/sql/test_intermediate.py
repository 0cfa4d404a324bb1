"""asb__lens, rent__trajectory, recharges__damage, known_cases__live, outcomes__latest on hand rows."""

from __future__ import annotations

import datetime as dt

from warehouse_rows import Landlord


def test_asb_lens_matches_terms_case_insensitively_for_parties_but_not_witnesses() -> None:
    ll = Landlord()
    ll.asb("C1", "T1", "2025-05-01", "Noise - Shouting", role="subject")
    ll.asb("C2", "T2", "2025-05-01", "Noise - Shouting", role="witness")
    ll.asb("C3", "T3", "2025-05-01", "Fly-tipping", role="subject")
    ll.asb("C4", "T4", "2025-05-01", "Verbal abuse", role=None)
    ll.build("2025-06-30", upto="intermediate/asb__lens")
    rows = {r["case_ref"]: r for r in ll.table("asb__lens").to_dicts()}
    assert rows["C1"]["lens_terms"] == ["noise", "shout"] and rows["C1"]["is_lens_match"]
    assert rows["C2"]["is_lens_category"] and not rows["C2"]["is_lens_match"]
    assert not rows["C3"]["is_lens_category"] and not rows["C3"]["is_lens_match"]
    assert rows["C4"]["is_lens_match"]  # no role recorded: still a party to the case


def test_rent_onset_after_eight_clear_weeks_and_the_rise_since() -> None:
    ll = Landlord()
    # 8 clear weeks (a £5 timing wobble is still clear: <= £10), then arrears 50, 150, 300, 450
    ll.rent("T1", "2025-01-05", [0, -20, 5, 0, 0, 0, -10, 0, 50, 150, 300, 450])
    # only 7 clear weeks before the arrears: no onset
    ll.rent("T2", "2025-01-05", [0, 0, 0, 0, 0, 0, 0, 80, 160])
    ll.build("2025-06-30", upto="intermediate/rent__trajectory")
    t1 = ll.row("rent__trajectory", "tenancy_ref", "T1")
    assert t1["arrears_onset_on"] == dt.date(2025, 1, 5) + dt.timedelta(weeks=8)
    assert float(t1["pre_onset_balance_gbp"]) == 0.0
    assert float(t1["arrears_rise_gbp"]) == 450.0 - 0.0
    assert float(t1["current_balance_gbp"]) == 450.0
    t2 = ll.row("rent__trajectory", "tenancy_ref", "T2")
    assert t2["arrears_onset_on"] is None and t2["arrears_rise_gbp"] is None


def test_rent_takes_the_latest_onset() -> None:
    ll = Landlord()
    ll.rent("T1", "2025-01-05", [0] * 8 + [40, 0] + [0] * 8 + [-30, 270])  # a wobble, then a real onset
    ll.build("2025-06-30", upto="intermediate/rent__trajectory")
    t1 = ll.row("rent__trajectory", "tenancy_ref", "T1")
    assert t1["arrears_onset_on"] == dt.date(2025, 1, 5) + dt.timedelta(weeks=19)
    assert float(t1["arrears_rise_gbp"]) == 270.0 - (-30.0)


def test_recharges_are_damage_by_their_linked_job_or_their_own_categories() -> None:
    ll = Landlord()
    ll.home("T1", "P1")
    ll.repair("J1", "P1", "T1", "2025-05-01", ("door_damage",))  # counted
    ll.repair("J2", "P1", "T1", "2025-02-01", ("forced_entry",), police=True)  # single police incident
    ll.repair("J3", "P1", "T1", "2025-05-05", ())  # not a red flag (a boiler)
    ll.recharge("R1", "T1", "2025-05-10", 120.0, job="J1")
    ll.recharge("R2", "T1", "2025-02-10", 90.0, job="J2", categories=("forced_entry",))
    ll.recharge("R3", "T1", "2025-05-10", 60.0, job="J3", categories=("window_damage",))
    ll.recharge("R4", "T1", "2025-05-10", 30.0)
    ll.build("2025-06-30", upto="intermediate/recharges__damage")
    rows = {r["recharge_ref"]: r["is_damage"] for r in ll.table("recharges__damage").to_dicts()}
    assert rows == {"R1": True, "R2": False, "R3": True, "R4": False}


def test_known_case_markers_live_lapsed_and_ignored() -> None:
    ll = Landlord()
    ll.known_case("T1", "MARAC", "2024-09-01")  # no end: live for 12 months, to 1 Sep 2025
    ll.known_case("T2", "Domestic Abuse", "2023-01-01", end="2024-12-31")  # lapsed
    ll.known_case("T3", "Sanctuary Scheme", "2025-01-01", end="2025-06-30")  # live to the end of as_of day
    ll.known_case("T4", "Hoarding", "2025-01-01")  # not a suppressing marker
    ll.known_case("T5", "marac", "2023-01-01")  # no end, started over 12 months ago: lapsed 1 Jan 2024
    ll.build("2025-06-30", upto="intermediate/known_cases__live")
    rows = {
        r["tenancy_ref"]: (r["has_live_marker"], r["lapsed_on"])
        for r in ll.table("known_cases__live").to_dicts()
    }
    assert rows == {
        "T1": (True, None),
        "T2": (False, dt.date(2024, 12, 31)),
        "T3": (True, None),
        "T5": (False, dt.date(2024, 1, 1)),
    }


def test_latest_outcome_on_or_before_as_of_wins() -> None:
    ll = Landlord()
    ll.outcome("T1", "new_concern_referred", "2025-03-01", outcome_id=1)
    ll.outcome("T1", "No_Concern", "2025-04-01", outcome_id=2)
    ll.outcome("T1", "already_known", "2025-07-15", outcome_id=3)  # after as_of
    ll.build("2025-06-30", upto="intermediate/outcomes__latest")
    row = ll.row("outcomes__latest", "tenancy_ref", "T1")
    assert (row["outcome"], row["reviewed_on"]) == ("no_concern", dt.date(2025, 4, 1))
