"""`redflags outcomes import`: good rows recorded, bad ones named by file/row/column, no duplicates, corrections
added."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from outcome_fixtures import LIST1, LIST2, WEEK1, new_warehouse, two_weeks, write_review_csv

from pipelines.cli.main import main
from pipelines.outcomes.records import import_outcomes, parse_reviewed_on
from pipelines.warehouse.audit import audit_events, verify_audit_chain
from pipelines.warehouse.connection import Warehouse, open_warehouse

VALUES = ("no_concern", "already_known", "new_concern_referred", "unable_to_assess")
TODAY = dt.date(2025, 3, 20)


def _import(wh: Warehouse, path: Path, today: dt.date = TODAY):  # type: ignore[no-untyped-def]
    return import_outcomes(wh, path, values=VALUES, actor="tester", today=today)


def _outcomes(wh: Warehouse) -> list[tuple[object, ...]]:
    rows = wh.con.sql(
        "select outcome_id, list_id, as_of, tenancy_ref, outcome_enc, reviewer_enc, reviewed_on, source_file,"
        " source_row from outcomes order by outcome_id"
    ).fetchall()
    return [(*r[:4], wh.cipher.decrypt(r[4]), wh.cipher.decrypt(r[5]), *r[6:]) for r in rows]


def _row(ref: str, list_id: str = LIST1, **filled: str) -> dict[str, str]:
    return {"tenancy_ref": ref, "list_id": list_id, "as_of": "2025-03-09", "team": "repairs_admin", **filled}


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    warehouse = new_warehouse(tmp_path)
    two_weeks(warehouse)
    return warehouse


def test_filled_rows_are_recorded_and_blank_rows_skipped(wh: Warehouse, tmp_path: Path) -> None:
    path = write_review_csv(
        tmp_path / "review_list.csv",
        [
            _row("T1", outcome="no_concern", reviewer="J Smith", rationale="Lock changes after a burglary"),
            _row(
                "T2",
                outcome="Already known",
                reviewer="A Khan",
                rationale="Open TST case",
                reviewed_on="12/03/2025",
            ),
            _row("T1", list_id=LIST2),  # not reviewed yet: silence is not a negative
            _row("T2", reviewer="A Khan"),  # half filled: skipped, and said so
        ],
    )
    result = _import(wh, path)
    assert dict(result.applied) == {"no_concern": 1, "already_known": 1}
    assert (result.rows_without_outcome, result.rows_half_filled, result.already_recorded) == (2, 1, 0)
    # header = row 1, so the second data row is row 3
    assert result.already_known_rows == ["review_list.csv, row 3"]
    assert _outcomes(wh) == [
        (1, LIST1, WEEK1, "T1", "no_concern", "J Smith", TODAY, "review_list.csv", 2),
        (2, LIST1, WEEK1, "T2", "already_known", "A Khan", dt.date(2025, 3, 12), "review_list.csv", 3),
    ]
    event = audit_events(wh.con, "outcomes_imported", cipher=wh.cipher)
    assert event.height == 1 and event["actor"][0] == "tester"
    detail = json.loads(event["detail"][0])
    assert detail["applied"] == 2  # how many, never which outcome (the values are stored encrypted)
    assert "no_concern" not in event["detail"][0] and "already_known" not in event["detail"][0]
    assert detail["rows_without_outcome"] == 2 and detail["lists"] == [LIST1]
    assert "burglary" not in event["detail"][0]
    assert verify_audit_chain(wh.con).ok


def test_rationale_is_stored_encrypted(tmp_path: Path, db_key: str) -> None:
    wh = open_warehouse(tmp_path / "enc.duckdb")
    two_weeks(wh)
    path = write_review_csv(
        tmp_path / "r.csv",
        [_row("T1", outcome="no_concern", reviewer="J", rationale="Lock changes after a burglary")],
    )
    _import(wh, path)
    stored = bytes(wh.con.sql("select rationale_enc from outcomes").fetchall()[0][0])
    assert b"burglary" not in stored
    assert wh.cipher.decrypt(stored) == "Lock changes after a burglary"


def test_reimporting_the_same_file_adds_nothing(wh: Warehouse, tmp_path: Path) -> None:
    path = write_review_csv(
        tmp_path / "r.csv",
        [
            _row("T1", outcome="no_concern", reviewer="J Smith", rationale="burglary"),
            _row("T2", outcome="new_concern_referred", reviewer="A", rationale="r", reviewed_on="2025-03-11"),
        ],
    )
    _import(wh, path)
    before = _outcomes(wh)
    # another day: the blank reviewed_on (default: the import date) must not make it look new
    again = _import(wh, path, today=TODAY + dt.timedelta(days=3))
    assert again.applied_total == 0 and again.already_recorded == 2
    assert _outcomes(wh) == before
    assert audit_events(wh.con, "outcomes_imported").height == 2  # both imports are on the trail


def test_a_changed_outcome_is_a_new_entry_and_the_first_is_kept(wh: Warehouse, tmp_path: Path) -> None:
    first = write_review_csv(
        tmp_path / "a.csv", [_row("T1", outcome="no_concern", reviewer="J", rationale="fine")]
    )
    _import(wh, first)
    before = _outcomes(wh)
    second = write_review_csv(
        tmp_path / "b.csv",
        [
            _row(
                "T1",
                outcome="new_concern_referred",
                reviewer="J",
                rationale="tenant disclosed; referred to TST",
            )
        ],
    )
    result = _import(wh, second)
    assert result.applied_total == 1 and result.corrections == 1
    after = _outcomes(wh)
    assert after[: len(before)] == before  # the earlier entry is untouched
    assert [r[4] for r in after] == ["no_concern", "new_concern_referred"]


def test_every_bad_row_is_named_and_the_good_ones_are_recorded(wh: Warehouse, tmp_path: Path) -> None:
    path = write_review_csv(
        tmp_path / "bad.csv",
        [
            _row("T1", outcome="no_concern", reviewer="J", rationale="ok"),  # row 2: fine on its own
            _row("T2", outcome="maybe", reviewer="J", rationale="x"),  # row 3
            _row("T9", outcome="no_concern", reviewer="J", rationale="x"),  # row 4: not on the list
            _row("T2", outcome="no_concern", rationale="x"),  # row 5: no reviewer
            _row("T2", list_id=LIST1, outcome="no_concern", reviewer="J"),  # row 6: no rationale
            _row("T1", list_id="1999-01-03-r9", outcome="no_concern", reviewer="J", rationale="x"),  # row 7
            _row(
                "T1",
                list_id=LIST2,
                outcome="no_concern",
                reviewer="J",
                rationale="x",
                reviewed_on="31/02/2025",
            ),
            _row(
                "T1",
                list_id=LIST2,
                outcome="no_concern",
                reviewer="J",
                rationale="x",
                reviewed_on="2025-03-10",
            ),
        ],
    )
    result = _import(wh, path)
    assert result.problems == [
        "bad.csv, row 3, column outcome: not one of the outcomes "
        "(no_concern, already_known, new_concern_referred, unable_to_assess)",
        f"bad.csv, row 4, column tenancy_ref: this household was not on list {LIST1}",
        "bad.csv, row 5, column reviewer: blank; every outcome needs a reviewer",
        "bad.csv, row 6, column rationale: blank; every outcome needs a rationale",
        "bad.csv, row 7, column list_id: no list with this id was published from this database",
        "bad.csv, row 8, column reviewed_on: not a date (use YYYY-MM-DD or DD/MM/YYYY)",
        "bad.csv, row 9, column reviewed_on: 10/03/2025 is before the list's week ending 16/03/2025",
    ]
    assert result.rows_rejected == 7 and dict(result.applied) == {"no_concern": 1}
    assert _outcomes(wh) == [(1, LIST1, WEEK1, "T1", "no_concern", "J", TODAY, "bad.csv", 2)]
    detail = json.loads(audit_events(wh.con, "outcomes_imported")["detail"][0])
    assert detail["rows_rejected"] == 7 and detail["applied"] == 1


def test_reimporting_the_corrected_file_adds_only_what_was_missing(wh: Warehouse, tmp_path: Path) -> None:
    good = _row("T1", outcome="no_concern", reviewer="J", rationale="ok")
    first = write_review_csv(
        tmp_path / "list.csv", [good, _row("T2", outcome="no concern?", reviewer="A", rationale="fine")]
    )
    result = _import(wh, first)
    assert (result.applied_total, result.rows_rejected) == (1, 1)
    assert result.problems[0].startswith("list.csv, row 3, column outcome: not one of the outcomes")
    corrected = write_review_csv(
        tmp_path / "list.csv", [good, _row("T2", outcome="no_concern", reviewer="A", rationale="fine")]
    )
    again = _import(wh, corrected)
    assert (again.applied_total, again.already_recorded, again.rows_rejected) == (1, 1, 0)
    assert again.problems == []
    assert [(r[3], r[4], r[8]) for r in _outcomes(wh)] == [("T1", "no_concern", 2), ("T2", "no_concern", 3)]


def test_the_command_records_good_rows_reports_bad_ones_and_exits_1(
    wh: Warehouse, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wh.close()
    path = write_review_csv(
        tmp_path / "list.csv",
        [
            _row("T1", outcome="no_concern", reviewer="J", rationale="ok"),
            _row("T2", outcome="maybe", reviewer="A", rationale="x"),
        ],
    )
    db = str(tmp_path / "wh.duckdb")
    code = main(["outcomes", "import", str(path), "--db", db, "--allow-unencrypted"])
    captured = capsys.readouterr()
    assert code == 1
    assert "list.csv: 1 outcome(s) recorded (no_concern 1)." in captured.out
    assert "1 row(s) had problems and were NOT recorded" in captured.out
    assert "list.csv, row 3, column outcome: not one of the outcomes" in captured.err
    assert "rows already recorded are skipped" in captured.err
    code = main(["outcomes", "import", str(path), "--db", db, "--allow-unencrypted"])
    assert code == 1
    assert "1 row(s) were already recorded by an earlier import: skipped" in capsys.readouterr().out


def test_the_same_household_with_two_outcomes_in_one_file_is_refused(wh: Warehouse, tmp_path: Path) -> None:
    path = write_review_csv(
        tmp_path / "dup.csv",
        [
            _row("T1", outcome="no_concern", reviewer="J", rationale="a"),
            _row("T1", outcome="already_known", reviewer="J", rationale="b"),
        ],
    )
    result = _import(wh, path)
    assert len(result.problems) == 1 and result.rows_rejected == 2
    assert "row 3, column outcome: the same household" in result.problems[0]
    assert "neither was recorded" in result.problems[0]
    assert _outcomes(wh) == []


def test_a_future_review_date_is_refused(wh: Warehouse, tmp_path: Path) -> None:
    path = write_review_csv(
        tmp_path / "f.csv",
        [_row("T1", outcome="no_concern", reviewer="J", rationale="a", reviewed_on="2025-04-01")],
    )
    result = _import(wh, path)
    assert result.problems == ["f.csv, row 2, column reviewed_on: 01/04/2025 is in the future"]
    assert _outcomes(wh) == []


def test_a_file_that_is_not_a_review_list_is_refused(wh: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("tenancy_ref,outcome\nT1,no_concern\n")
    with pytest.raises(Exception, match=r"other\.csv has no list_id, reviewer, rationale column"):
        _import(wh, path)


def _workbook(path: Path, team_rows: dict[str, list[list[object]]], notes_rows: int = 0) -> Path:
    header = ["rank", "tenancy_ref", "property_ref", "score", "team", "reasons", "list_id", "as_of"]
    header += ["outcome", "reviewer", "rationale", "reviewed_on"]
    book = Workbook()
    book.remove(book.active)
    for title, rows in team_rows.items():
        sheet = book.create_sheet(title)
        for i in range(notes_rows):
            sheet.append([f"note {i}"])
        sheet.append(header)
        for r in rows:
            sheet.append(r)
    evidence = book.create_sheet("Evidence")
    evidence.append(["tenancy_ref", "on", "source", "categories", "summary"])
    evidence.append(["T1", "2025-01-02", "repair", "lock_change", "renew cylinder"])
    book.save(path)
    return path


def test_xlsx_team_sheets_are_read_with_their_own_row_numbers(wh: Warehouse, tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "review_list.xlsx",
        {
            "Repairs administrators": [
                [1, "T1", "P1", 9.5, "repairs_admin", "r", LIST1, "2025-03-09", "no_concern", "J", "ok", None]
            ],
            "Tenancy Support Team": [
                [2, "T2", "P-T2", 7.0, "tst", "r", LIST1, "2025-03-09", "new concern referred", "A", "MARAC",
                 dt.datetime(2025, 3, 11)],
            ],
        },
        notes_rows=2,
    )  # fmt: skip
    result = _import(wh, path)
    assert dict(result.applied) == {"no_concern": 1, "new_concern_referred": 1}
    assert _outcomes(wh) == [
        (1, LIST1, WEEK1, "T1", "no_concern", "J", TODAY, "review_list.xlsx[Repairs administrators]", 4),
        (2, LIST1, WEEK1, "T2", "new_concern_referred", "A", dt.date(2025, 3, 11),
         "review_list.xlsx[Tenancy Support Team]", 4),
    ]  # fmt: skip


def test_xlsx_errors_name_the_sheet_row_and_column(wh: Warehouse, tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "review_list.xlsx",
        {
            "Tenancy Support Team": [
                [2, "T2", "P", 7.0, "tst", "r", LIST1, "2025-03-09", "referred", "A", "x", None]
            ]
        },
    )
    result = _import(wh, path)
    assert result.problems[0].startswith(
        "review_list.xlsx, sheet 'Tenancy Support Team', row 2, column outcome: not one of the outcomes"
    )


def test_reviewed_on_formats() -> None:
    assert parse_reviewed_on("2025-03-11") == dt.date(2025, 3, 11)
    assert parse_reviewed_on("11/03/2025") == dt.date(2025, 3, 11)  # UK: day first
    assert parse_reviewed_on(dt.datetime(2025, 3, 11, 9, 30)) == dt.date(2025, 3, 11)
    assert parse_reviewed_on("next week") is None


def test_cli_prints_counts_not_content(
    wh: Warehouse, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wh.close()
    path = write_review_csv(
        tmp_path / "r.csv",
        [
            _row("T1", outcome="already_known", reviewer="J", rationale="sanctuary scheme fitted last year"),
            _row("T2"),
        ],
    )
    code = main(["outcomes", "import", str(path), "--db", str(tmp_path / "wh.duckdb"), "--allow-unencrypted"])
    out = capsys.readouterr().out
    assert code == 0
    assert "1 outcome(s) recorded (already_known 1)" in out
    assert "add the known-case marker" in out and "r.csv, row 2" in out
    assert "sanctuary" not in out and "T1" not in out
    code = main(["outcomes", "import", str(path), "--db", str(tmp_path / "wh.duckdb"), "--allow-unencrypted"])
    assert code == 0 and "1 row(s) were already recorded" in capsys.readouterr().out


def test_cli_bad_file_exits_non_zero(
    wh: Warehouse, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wh.close()
    path = write_review_csv(tmp_path / "r.csv", [_row("T1", outcome="no_concern", rationale="x")])
    code = main(["outcomes", "import", str(path), "--db", str(tmp_path / "wh.duckdb"), "--allow-unencrypted"])
    err = capsys.readouterr().err
    assert code == 1
    assert "r.csv, row 2, column reviewer: blank" in err and "Traceback" not in err
