"""The monitoring marts (sql/marts/monitoring_*.sql) on a handful of hand-written rows each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from pipelines.report.data import materialise_list_models
from pipelines.warehouse.connection import Warehouse, model_sql, open_warehouse, query

SUN = dt.date(2025, 6, 29)  # the last day of the report
PREV = dt.date(2025, 6, 22)
MON = dt.datetime(2025, 6, 30, 7, 0)


@pytest.fixture
def wh() -> Iterator[Warehouse]:
    warehouse = open_warehouse(":memory:", allow_unencrypted=True)
    yield warehouse
    warehouse.close()


def run(wh: Warehouse, name: str, **params: Any) -> list[dict[str, Any]]:
    text = model_sql(f"marts/{name}")
    if (
        "monitoring__" in text
    ):  # a list mart: the weekly lists it reads are materialised first, as in the report
        materialise_list_models(wh.con, params)
    return query(wh.con, text, {k: v for k, v in params.items() if f"${k}" in text}).to_dicts()


def repair(
    wh: Warehouse,
    job: str,
    reported: dt.date,
    known: dt.date,
    cats: list[str],
    status: str = "completed",
    file_id: int = 1,
) -> None:
    wh.con.execute(
        "insert into raw_repairs (job_ref, property_ref, reported_at, status, categories, file_id,"
        " source_row, known_on) values (?, 'P1', ?, ?, ?, ?, 2, ?)",
        [job, dt.datetime.combine(reported, dt.time(9)), status, cats, file_id, known],
    )


def test_flags_count_what_each_week_saw(wh: Warehouse) -> None:
    repair(wh, "J1", dt.date(2025, 6, 25), SUN, ["lock_change", "door_damage"])  # counts under both
    repair(wh, "J2", dt.date(2025, 6, 26), SUN, ["lock_change"], status="cancelled")  # never counts
    repair(wh, "J3", dt.date(2025, 6, 18), SUN, ["lock_change"])  # reported last week, known only this week
    repair(wh, "J4", dt.date(2025, 6, 17), PREV, ["window_damage"])
    repair(
        wh, "J4", dt.date(2025, 6, 17), SUN, ["window_damage"], status="cancelled", file_id=2
    )  # later news
    repair(wh, "J5", dt.date(2025, 6, 27), SUN, [])  # no category
    rows = run(wh, "monitoring_flags_weekly", last_day=SUN, weeks=2)
    got = {(r["week_ending"], r["category"]): r["flags"] for r in rows}
    assert len(rows) == 2 * 5  # two weeks x five categories, zero-filled
    assert got[(SUN, "lock_change")] == 1  # J1 only
    assert got[(SUN, "door_damage")] == 1
    assert got[(PREV, "lock_change")] == 0  # J3 was not known by 22 June
    assert got[(PREV, "window_damage")] == 1  # J4 as 22 June's run saw it (cancelled only later)


def test_reviews_on_time_late_overdue_and_awaiting(wh: Warehouse) -> None:
    for i, team in enumerate(["a", "a", "a", "a", "b"]):
        wh.con.execute(
            "insert into review_list_rows (list_id, as_of, published_at, tenancy_ref, team, rank, score,"
            " reasons_enc, config_version, rules_version) values ('L1', ?, ?, ?, ?, ?, 1, 'r', 'v', 'r')",
            [SUN, MON, f"T{i}", team, i + 1],
        )

    def outcome(tenancy: str, on: dt.date, n: int) -> None:
        wh.con.execute(
            "insert into outcomes values (?, 'L1', ?, ?, '\x00no_concern'::blob, 'x', null, ?, ?, 'f', 2)",
            [n, SUN, tenancy, on, MON],
        )

    outcome("T0", dt.date(2025, 7, 2), 1)  # Tue, Wed: 2 working days, on time
    outcome("T1", dt.date(2025, 7, 3), 2)  # 3 working days: late
    outcome("T1", dt.date(2025, 7, 1), 3)  # a second outcome: the first review date (1 July) counts
    outcome("T4", dt.date(2025, 7, 7), 4)  # Tue..Fri + Mon = 5 working days: late

    def reviews(today: dt.date, holidays: list[dt.date] | None = None) -> list[dict[str, Any]]:
        return run(
            wh,
            "monitoring_reviews_weekly",
            last_day=SUN,
            weeks=1,
            today=today,
            within_working_days=2,
            bank_holidays=holidays or [],
        )

    rows = reviews(dt.date(2025, 7, 3))
    a = next(r for r in rows if r["team"] == "a")
    assert (a["households_listed"], a["reviewed"], a["reviewed_on_time"], a["reviewed_late"]) == (4, 2, 2, 0)
    assert a["overdue"] == 2  # T2, T3: 3 working days have passed by Thursday 3 July
    b = next(r for r in rows if r["team"] == "b")
    assert (b["reviewed_late"], b["overdue"], b["awaiting_review"]) == (1, 0, 0)
    early = reviews(dt.date(2025, 7, 1))
    assert next(r for r in early if r["team"] == "a")["awaiting_review"] == 2  # 1 working day so far
    # Had Wednesday 2 July been a bank holiday, T1's review on Thursday is on time (Tue, Thu: 2 working days),
    # and T2, T3 are not yet overdue on Thursday.
    closed = reviews(dt.date(2025, 7, 3), [dt.date(2025, 7, 2)])
    a = next(r for r in closed if r["team"] == "a")
    assert (a["reviewed_on_time"], a["reviewed_late"], a["overdue"], a["awaiting_review"]) == (2, 0, 0, 2)


def _list_row(
    wh: Warehouse, list_id: str, as_of: dt.date, published: dt.datetime, tenancy: str, team: str
) -> None:
    wh.con.execute(
        "insert into review_list_rows (list_id, as_of, published_at, tenancy_ref, property_ref, team, rank,"
        " score, reasons_enc, config_version, rules_version) values (?, ?, ?, ?, ?, ?, 1, 1, 'r', 'v', 'r')",
        [list_id, as_of, published, tenancy, f"P-{tenancy}", team],
    )


def test_lists_take_the_last_list_published_each_week(wh: Warehouse) -> None:
    _list_row(wh, "old", SUN, MON, "T1", "a")
    _list_row(wh, "new", SUN, MON + dt.timedelta(hours=2), "T1", "a")
    _list_row(wh, "new", SUN, MON + dt.timedelta(hours=2), "T2", "a")
    _list_row(wh, "new", SUN, MON + dt.timedelta(hours=2), "T3", "tst")
    wh.con.execute(
        "insert into carried_forward values ('new', ?, 'T9', 'a', 1), ('old', ?, 'T8', 'a', 1)", [SUN, SUN]
    )
    rows = run(wh, "monitoring_lists_weekly", last_day=SUN, weeks=2)
    got = {(r["week_ending"], r["team"]): r for r in rows}
    assert len(rows) == 4  # 2 weeks x 2 teams
    assert got[(SUN, "a")]["households_listed"] == 2  # T1, T2 on the re-run; the first list is replaced
    assert got[(SUN, "a")]["carried_forward"] == 1
    assert got[(SUN, "a")]["lists_published"] == 2
    assert got[(SUN, "tst")]["households_listed"] == 1
    assert got[(PREV, "a")]["households_listed"] == 0


def test_the_backlog_by_week_counts_households_waiting_since_the_week_before(wh: Warehouse) -> None:
    # week before: T7 and T8 carried; this week: T8 and T9 carried (T7 listed): 2 carried, 1 of them waiting 2+ weeks
    _list_row(wh, "prev", PREV, MON - dt.timedelta(days=7), "T1", "a")
    _list_row(wh, "this", SUN, MON, "T7", "a")
    wh.con.execute(
        "insert into carried_forward values ('prev', ?, 'T7', 'a', 1), ('prev', ?, 'T8', 'a', 1),"
        " ('this', ?, 'T8', 'a', 1), ('this', ?, 'T9', 'a', 1)",
        [PREV, PREV, SUN, SUN],
    )
    got = {
        (r["week_ending"], r["team"]): r for r in run(wh, "monitoring_lists_weekly", last_day=SUN, weeks=2)
    }
    assert (got[(PREV, "a")]["carried_forward"], got[(PREV, "a")]["waiting_2plus_weeks"]) == (2, 0)
    assert (got[(SUN, "a")]["carried_forward"], got[(SUN, "a")]["waiting_2plus_weeks"]) == (2, 1)


def test_outcomes_use_the_latest_correction(wh: Warehouse) -> None:
    _list_row(wh, "L", SUN, MON, "T1", "a")
    _list_row(wh, "L", SUN, MON, "T2", "a")
    wh.con.execute(
        "insert into outcomes values (1, 'L', ?, 'T1', '\x00no_concern'::blob, 'x', null, ?, ?, 'f', 2),"
        " (2, 'L', ?, 'T1', '\x00new_concern_referred'::blob, 'x', null, ?, ?, 'f', 2)",
        [SUN, SUN, MON, SUN, SUN, MON + dt.timedelta(days=1)],
    )
    rows = run(wh, "monitoring_outcomes_weekly", last_day=SUN, weeks=1)
    assert {(r["outcome"], r["households"]) for r in rows} == {
        ("new_concern_referred", 1),
        ("not_reviewed", 1),
    }


def test_groups_count_homes_listings_and_decisions(wh: Warehouse) -> None:
    wh.con.execute(
        "insert into raw_properties values"
        " ('P-T1', 'B', 'North', 'Flat', 1, 1, 2, ?),"  # restated below: the later version wins
        " ('P-T1', 'B', 'South', 'flat', 1, 2, 2, ?),"
        " ('P-T2', 'B', 'North', 'house', 1, 1, 3, ?),"
        " ('C1', 'B', 'North', 'communal', null, 1, 4, ?),"  # a communal reference is not a home
        " ('P-T3', null, '', 'house', 1, 1, 5, ?)",
        [PREV, SUN, PREV, PREV, PREV],
    )
    _list_row(wh, "L", SUN, MON, "T1", "a")
    wh.con.execute(
        "insert into outcomes values (1, 'L', ?, 'T1', '\x00new_concern_referred'::blob, 'x', null, ?, ?, 'f', 2)",
        [SUN, SUN, MON],
    )
    rows = run(wh, "monitoring_groups", last_day=SUN, weeks=1)
    got = {(r["attribute_name"], r["group_name"]): r for r in rows}
    assert got[("estate", "North")]["homes"] == 1  # P-T2 (C1 is communal, P-T1 moved to South)
    assert got[("estate", "South")]["households_listed"] == 1
    assert got[("estate", "South")]["reviews_referred"] == 1
    assert got[("estate", "not recorded")]["homes"] == 1  # P-T3's blank estate
    assert got[("property_type", "flat")]["homes"] == 1  # 'Flat' and 'flat' are one type
    assert got[("property_type", "house")]["homes"] == 2


def test_age_band_groups_when_the_column_exists(wh: Warehouse) -> None:
    wh.con.execute("alter table raw_tenancies add column age_band varchar")
    wh.con.execute(
        "insert into raw_tenancies values ('T1', 'P1', '2020-01-01', null, 1, 2, ?, '25-44'),"
        " ('T2', 'P2', '2020-01-01', '2025-01-01', 1, 3, ?, '65+')",  # ended: not a household now
        [PREV, PREV],
    )
    _list_row(wh, "L", SUN, MON, "T1", "a")
    rows = run(wh, "monitoring_groups_age_band", last_day=SUN, weeks=1)
    assert [(r["group_name"], r["homes"], r["households_listed"]) for r in rows] == [("25-44", 1, 1)]


def test_quarantine_reasons_are_grouped_into_kinds(wh: Warehouse) -> None:
    wh.con.execute(
        "insert into loaded_files values (1, 'repairs', 'r.csv', '/r', 'h', 1, 3, 0, 3, ?, ?, null)",
        [SUN, MON],
    )
    wh.con.execute(
        "insert into quarantine values"
        " (1, 'repairs', 'r.csv', 2, 'reported_at', 'unreadable date ''32/01/2025''', ?),"
        " (1, 'repairs', 'r.csv', 3, 'cost_gbp', 'unreadable amount ''£1x''', ?),"
        " (1, 'repairs', 'r.csv', 4, 'job_ref', 'job_ref J9 repeated in the file', ?),"
        " (9, 'rent', 'rent.csv', null, 'balance_gbp', 'required column missing', ?)",
        [MON, MON, MON, MON],
    )
    rows = run(wh, "monitoring_quarantine_reasons", last_day=SUN, weeks=1)
    assert {(r["extract"], r["reason_kind"], r["problems"]) for r in rows} == {
        ("repairs", "unreadable date", 1),
        ("repairs", "unreadable amount or number", 1),
        ("repairs", "key repeated in the file", 1),
    }  # the refused rent file never loaded: its quarantine date (Monday 30 June) is after the report
    rows = run(wh, "monitoring_quarantine_reasons", last_day=dt.date(2025, 7, 6), weeks=2)
    assert ("rent", "whole file refused") in {(r["extract"], r["reason_kind"]) for r in rows}


def test_ingest_weeks_are_zero_filled(wh: Warehouse) -> None:
    wh.con.execute(
        "insert into loaded_files values (1, 'repairs', 'a', '/a', 'h', 1, 10, 9, 1, ?, ?, null),"
        " (2, 'rent', 'b', '/b', 'h', 1, 5, 5, 0, ?, ?, null)",
        [dt.date(2025, 6, 27), MON, SUN, MON],
    )
    rows = run(wh, "monitoring_ingest_weekly", last_day=SUN, weeks=3)
    assert [r["week_ending"] for r in rows] == [dt.date(2025, 6, 15), PREV, SUN]
    assert (rows[2]["files_loaded"], rows[2]["extracts_loaded"], rows[2]["rows_loaded"]) == (2, 2, 14)
    assert rows[0]["files_loaded"] == 0


def test_runs_newest_first_and_limited(wh: Warehouse) -> None:
    for i in range(3):
        start = MON + dt.timedelta(days=i)
        wh.con.execute(
            "insert into runs (run_id, kind, as_of, started_at, finished_at, status, files_loaded, files_failed,"
            " rows_loaded, rows_quarantined, detail) values"
            " (?, 'weekly_review', ?, ?, ?, 'SUCCESS', 1, 0, 10, 0, 'secret detail')",
            [i + 1, SUN, start, start + dt.timedelta(seconds=90)],
        )
    rows = run(wh, "monitoring_runs", max_runs=2)
    assert [r["run_id"] for r in rows] == [3, 2]
    assert rows[0]["duration_seconds"] == 90
    assert rows[0]["status"] == "success"
    assert "detail" not in rows[0]


def _features(
    wh: Warehouse, list_id: str, as_of: dt.date, rows: list[tuple[str, bool, bool]], active: bool
) -> None:
    for tenancy, listed, rules in rows:
        wh.con.execute(
            "insert into review_list_features values (?, ?, ?, ?, ?, ?, '{}')",
            [list_id, as_of, tenancy, listed, rules, active],
        )


def test_learning_weekly_counts_moves_and_reviewers_precision(wh: Warehouse) -> None:
    # 22 June: re-ranker off (listed = the rules' list). 29 June: on; it moved T3 on and T2 off.
    _list_row(wh, "L1", PREV, MON - dt.timedelta(days=7), "T1", "a")
    _features(wh, "L1", PREV, [("T1", True, True)], active=False)
    for t in ("T1", "T3", "T4"):
        _list_row(wh, "L2", SUN, MON, t, "a")
    _features(
        wh,
        "L2",
        SUN,
        [("T1", True, True), ("T2", False, True), ("T3", True, False), ("T4", True, True)],
        True,
    )
    outcomes = [
        (1, "L2", "T3", "new_concern_referred"),
        (2, "L2", "T4", "no_concern"),
        (3, "L2", "T1", "already_known"),
    ]
    outcomes.append((4, "L1", "T1", "no_concern"))
    for n, list_id, tenancy, outcome in outcomes:
        wh.con.execute(
            "insert into outcomes values (?, ?, ?, ?, ?, 'x', null, ?, ?, 'f', 2)",
            [n, list_id, SUN, tenancy, b"\x00" + outcome.encode(), SUN, MON],
        )
    rows = run(
        wh,
        "monitoring_learning_weekly",
        last_day=SUN,
        weeks=2,
        positive_values=["new_concern_referred"],
        negative_values=["no_concern"],
    )
    got = {r["week_ending"]: r for r in rows}
    assert not got[PREV]["learning_active"] and got[SUN]["learning_active"]
    assert (got[PREV]["listed"], got[PREV]["moved_on"], got[PREV]["no_concern"]) == (1, 0, 1)
    sun = got[SUN]
    assert (sun["listed"], sun["moved_on"], sun["moved_off"]) == (3, 1, 1)
    assert (sun["referred"], sun["no_concern"], sun["moved_on_referred"], sun["moved_on_no_concern"]) == (
        1,
        1,
        1,
        0,
    )


def test_learning_groups_count_listings_on_and_off(wh: Warehouse) -> None:
    wh.con.execute(
        "insert into raw_properties values ('P1', 'B', 'North', 'flat', 1, 1, 2, ?),"
        " ('P2', 'B', 'South', 'house', 1, 1, 3, ?)",
        [PREV, PREV],
    )
    wh.con.execute(
        "insert into raw_tenancies (tenancy_ref, property_ref, start_date, end_date, file_id, source_row, known_on)"
        " values ('T1', 'P1', '2020-01-01', null, 1, 2, ?), ('T2', 'P2', '2020-01-01', null, 1, 3, ?)",
        [PREV, PREV],
    )
    _list_row(wh, "L2", SUN, MON, "T1", "a")
    _features(wh, "L2", SUN, [("T1", True, False), ("T2", False, True)], True)
    rows = run(wh, "monitoring_learning_groups", last_day=SUN, weeks=1)
    got = {(r["attribute_name"], r["group_name"]): (r["listed_on"], r["listed_off"]) for r in rows}
    assert got == {
        ("estate", "North"): (1, 0),
        ("estate", "South"): (0, 1),
        ("property_type", "flat"): (1, 0),
        ("property_type", "house"): (0, 1),
    }
