from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from pipelines.ingest.conversion import convert_sql, used_params
from pipelines.ingest.mapping import CANONICAL, ExtractMapping
from pipelines.ingest.quarantine import repeated_keys
from pipelines.ingest.readers import create_stage
from pipelines.ingest.validation import checks, frame_sql, suite_groups, suite_spec, validate_batch, wide_sql
from tests.pipelines.ingest.ingest_helpers import (
    REPAIRS_MAPPING,
    ingest,
    new_warehouse,
    repairs_csv,
    table,
    write_mapping,
)


def test_the_rent_suite_is_built_from_the_contract() -> None:
    names = [(check, cls, kw["column"]) for check, cls, kw in checks(CANONICAL["rent"])]
    assert names == [
        ("tenancy_ref", "ExpectColumnValuesToNotBeNull", "value_num"),
        ("week_ending", "ExpectColumnValuesToNotBeNull", "value_num"),
        ("week_ending__readable", "ExpectColumnValuesToBeInSet", "value_flag"),
        ("week_ending", "ExpectColumnValuesToBeBetween", "value_num"),
        ("week_ending__days_after_extract", "ExpectColumnValuesToBeBetween", "value_num"),
        ("balance_gbp", "ExpectColumnValuesToNotBeNull", "value_num"),
        ("balance_gbp__readable", "ExpectColumnValuesToBeInSet", "value_flag"),
        ("weekly_charge_gbp__readable", "ExpectColumnValuesToBeInSet", "value_flag"),
        ("__key_repeats", "ExpectColumnValuesToBeBetween", "value_num"),
    ]
    # checks of one kind and bounds share a GX expectation, which reads its own column of the wide frame
    assert [(cls, kw["column"], names) for cls, kw, names in suite_groups(CANONICAL["rent"])] == [
        ("ExpectColumnValuesToNotBeNull", "value_num", ["tenancy_ref", "week_ending", "balance_gbp"]),
        (
            "ExpectColumnValuesToBeInSet",
            "value_flag",
            ["week_ending__readable", "balance_gbp__readable", "weekly_charge_gbp__readable"],
        ),
        ("ExpectColumnValuesToBeBetween", "value_num", ["week_ending"]),
        ("ExpectColumnValuesToBeBetween", "value_num", ["week_ending__days_after_extract", "__key_repeats"]),
    ]
    spec = suite_spec(CANONICAL["rent"])
    assert [kw["column"] for _, kw in spec] == ["e0", "e1", "e2", "e3"]
    assert not any("row_condition" in kw for _, kw in spec)


def test_each_expectation_sees_only_its_own_checks() -> None:
    """Wide frame: outside its checks a value expectation sees NULL (skipped) and a not-null one sees 1."""
    rent = CANONICAL["rent"]
    frame = (
        "select * from (values (0, 0, 'tenancy_ref', 5, NULL::DOUBLE, NULL::VARCHAR, NULL::BOOLEAN), "
        "(1, 0, 'week_ending', 5, 19000.0, NULL, NULL), (2, 0, 'week_ending__readable', 5, NULL, NULL, false), "
        "(3, 0, '__key_repeats', 2, 1.0, NULL, NULL)) "
        "t(__id, __file_idx, __check, __n, value_num, value_text, value_flag)"
    )
    rows = duckdb.sql(wide_sql(rent, frame)).fetchall()
    assert [r[4:] for r in rows] == [
        (None, None, None, None),  # a blank tenancy: only the not-null expectation (e0) sees it
        (19000.0, None, 19000.0, None),  # week_ending: both its not-null and its range check
        (1.0, False, None, None),
        (1.0, None, None, 1.0),
    ]


def test_the_profile_frame_holds_distinct_values_with_counts_not_rows() -> None:
    rent = CANONICAL["rent"]
    con = duckdb.connect()
    create_stage(con, "stage", rent)
    rows = [(0, i + 2, f"T{i}", "06/04/2025", str(i)) for i in range(1000)]
    con.executemany("insert into stage values (?, ?, ?, ?, ?, NULL)", rows)
    sql, params = convert_sql(rent, ExtractMapping(files=("*",)), "stage", "conv")
    params["known_on"] = [dt.date(2025, 4, 6)]
    con.execute(sql, used_params(sql, params))
    repeated_keys(con, rent, "conv", "repeated")
    frame = con.sql(frame_sql(rent, "conv", "repeated"), params={"known_on": params["known_on"]}).df()
    # one row per check (one date, all present, all readable, all keys unique), each standing for 1,000 rows
    assert len(frame) == len(checks(rent)) - 1  # week_ending's two checks share its distinct values
    assert set(frame["__n"]) == {1000}
    assert "T1" not in frame.to_string()


def test_counts_are_per_file_in_one_batch() -> None:
    rent = CANONICAL["rent"]
    con = duckdb.connect()
    create_stage(con, "stage", rent)
    rows = [
        (0, 2, "T1", "06/04/2025", "1"),
        (0, 3, "T1", "06/04/2025", "x"),  # repeats T1's week; balance unreadable
        (1, 2, "T1", "06/04/2025", "2"),  # another file: not a repeat
        (1, 3, None, "01/01/1980", "3"),  # blank tenancy; before 1990
        (1, 4, "T2", "30/04/2025", "4"),  # after the extract date (+6 days grace)
        (1, 5, "T3", None, "5"),  # blank week: week_ending is in two expectations (not null; the date range)
    ]
    con.executemany("insert into stage values (?, ?, ?, ?, ?, NULL)", rows)
    sql, params = convert_sql(rent, ExtractMapping(files=("*",)), "stage", "conv")
    params["known_on"] = [dt.date(2025, 4, 6), dt.date(2025, 4, 6)]
    con.execute(sql, used_params(sql, params))
    repeated_keys(con, rent, "conv", "repeated")
    results = validate_batch(
        con, "conv", rent, ["a.csv", "b.csv"], {0: 2, 1: 4}, params["known_on"], repeated="repeated"
    )
    failing = {
        i: sorted((r["expectation"], r["column"], r["unexpected_count"]) for r in rs if not r["success"])
        for i, rs in results.items()
    }
    assert failing == {
        0: [
            # both rows sharing the key count
            (
                "expect_column_values_to_be_between (key not repeated in the file)",
                "tenancy_ref, week_ending",
                2,
            ),
            ("expect_column_values_to_be_in_set (readable)", "balance_gbp", 1),
            ("expect_column_values_to_not_be_null", "balance_gbp", 1),
        ],
        1: [
            ("expect_column_values_to_be_between (not after the file's extract date)", "week_ending", 1),
            ("expect_column_values_to_be_between (not before 1990)", "week_ending", 1),
            ("expect_column_values_to_not_be_null", "tenancy_ref", 1),
            ("expect_column_values_to_not_be_null", "week_ending", 1),
        ],
    }
    assert {r["element_count"] for r in results[1]} == {4}


def test_results_are_stored_and_the_page_names_expectations_without_values(tmp_path: Path) -> None:
    folder = tmp_path / "ex"
    repairs_csv(
        folder / "repairs_2025-04-06.csv",
        ["J1,P1,T1,03/04/2025,renew lock,E,open,", "J2,P2,T2,03/04/2025,door,Zebra,open,"],
    )
    wh = new_warehouse()
    ingest(wh, folder, write_mapping(tmp_path / "m.yaml", REPAIRS_MAPPING), out=tmp_path / "out")
    assert table(
        wh,
        "select file_name, expectation, column_name, unexpected_count, element_count from validation_results "
        "where not success",
    ) == [("repairs_2025-04-06.csv", "expect_column_values_to_be_in_set", "priority", 1, 2)]
    page = (tmp_path / "out" / "data_quality.html").read_text()
    assert "expect_column_values_to_be_in_set" in page and "priority" in page
    for value in ("Zebra", "J2", "P2", "door", "renew lock"):
        assert value not in page


def test_an_expectation_that_cannot_run_fails_its_checks_without_counts(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """GX reports an expectation that raised (here a range check handed text): its checks are failures, so a
    broken check never passes silently; the other expectations still count."""
    from pipelines.ingest import validation

    rent = CANONICAL["rent"]
    con = duckdb.connect()
    create_stage(con, "stage", rent)
    con.executemany("insert into stage values (?, ?, ?, ?, ?, NULL)", [(0, 2, "T1", "06/04/2025", "1")])
    sql, params = convert_sql(rent, ExtractMapping(files=("*",)), "stage", "conv")
    params["known_on"] = [dt.date(2025, 4, 6)]
    con.execute(sql, used_params(sql, params))
    repeated_keys(con, rent, "conv", "repeated")
    real = validation.wide_sql
    monkeypatch.setattr(
        validation, "wide_sql", lambda e, f: real(e, f).replace(" as e2,", " as e2_num, 'x' as e2,")
    )
    [results] = validate_batch(
        con, "conv", rent, ["a.csv"], {0: 1}, params["known_on"], repeated="repeated"
    ).values()
    failing = sorted(
        (r["expectation"], r["column"], r["unexpected_count"]) for r in results if not r["success"]
    )
    assert failing == [("expect_column_values_to_be_between (not before 1990)", "week_ending", 0)]
