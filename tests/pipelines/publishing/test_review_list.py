"""Publishing: the contract's files, one folder per team, evidence decrypted, cells safe, owner-only."""

from __future__ import annotations

import csv
import datetime as dt
import stat
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from pipelines.publishing.review_list import EVIDENCE_COLUMNS, publish_list
from pipelines.warehouse.connection import open_warehouse

AS_OF = dt.date(2025, 3, 9)
LABELS = {"repairs_admin": "Repairs administrators", "tst": "Tenancy Support Team"}


@dataclass
class Week:
    listed: pl.DataFrame
    carried: pl.DataFrame
    evidence: pl.DataFrame
    suppressed: dict[str, int] = field(default_factory=dict)


def _week(cipher) -> Week:  # type: ignore[no-untyped-def]
    listed = pl.DataFrame(
        {
            "rank": [1, 2, 1],
            "tenancy_ref": ["T1", "T2", "T3"],
            "property_ref": ["P1", "P2", "P3"],
            "team": ["repairs_admin", "repairs_admin", "tst"],
            "score": [9.123, 5.0, 12.5],
            "points_score": [6.0, 4.0, 9.0],
            "surprise_score": [2.0, 0.5, 2.5],
            "anomaly_score": [0.9, 0.5, 0.99],
            "is_complex_case": [False, False, True],
            "reasons": [
                "2 external door lock changes (3 Feb, 1 Mar)",
                "=cmd|' /C calc'!A0",
                "3 lock changes",
            ],
        }
    )
    carried = pl.DataFrame(
        {
            "tenancy_ref": ["T9", "T7", "T8"],
            "team": ["tst", "repairs_admin", "repairs_admin"],
            "score": [4.5, 4.501, 6.0],
            "rank": [2, 4, 3],
            "weeks_waiting": [3, 1, 1],
        }
    )
    evidence = pl.DataFrame(
        {
            "tenancy_ref": ["T1", "T1", "T3", "T3"],
            "on": [dt.date(2025, 3, 1), dt.date(2025, 2, 3), dt.date(2025, 1, 5), dt.date(2025, 1, 9)],
            "source": ["repair", "repair", "repair", "asb"],
            "record_ref": ["J2", "J1", "J3", "C1"],
            "categories": [["lock_change"], ["lock_change"], ["door_damage"], []],
            "location": ["external", "external", "internal", None],
            "is_counted": [True, True, True, True],
            "note": [None, None, None, None],
            "evidence": ["renew cylinder", "renew cylinder", "hole in door", None],
            "amount_gbp": [None, None, None, None],
            "summary": [
                "emergency locksmith job",
                "urgent locksmith job",
                "routine carpenter job",
                "ASB case",
            ],
            "summary_enc": [
                cipher.encrypt("renew cylinder to FED"),
                cipher.encrypt("@SUM(1) tnt locked out"),
                cipher.encrypt("bedroom door holed"),
                cipher.encrypt("neighbour heard shouting"),
            ],
        },
        schema_overrides={"categories": pl.List(pl.String), "amount_gbp": pl.Float64, "note": pl.String},
    )
    return Week(listed, carried, evidence)


@pytest.fixture
def published(tmp_path: Path):  # type: ignore[no-untyped-def]
    wh = open_warehouse(":memory:", key="k")
    result = publish_list(
        wh,
        _week(wh.cipher),
        as_of=AS_OF,
        out_dir=tmp_path,
        list_id="2025-03-09-r1",
        team_labels=LABELS,
        about_lines=["settings test"],
    )
    wh.close()
    return result


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_contract_files_and_columns(published, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "2025-03-09"
    assert published.csv == folder / "review_list.csv" and published.xlsx == folder / "review_list.xlsx"
    rows = _rows(published.csv)
    assert {"rank", "tenancy_ref", "property_ref", "score", "team", "reasons"} <= set(rows[0])
    assert {"outcome", "reviewer", "rationale"} <= set(rows[0])
    assert [(r["team"], r["rank"], r["tenancy_ref"]) for r in rows] == [
        ("repairs_admin", "1", "T1"),
        ("repairs_admin", "2", "T2"),
        ("tst", "1", "T3"),
    ]
    assert rows[0]["score"] == "9.12"  # rounded to 2 places for people
    assert published.carried == {"tst": 1, "repairs_admin": 2}


def test_carried_forward_continues_the_ranks_across_teams(published, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(tmp_path / "2025-03-09" / "carried_forward.csv")
    # the list's last rank is 2 (repairs_admin): the backlog goes on from 3, by score as published, and T9 (4.50,
    # waiting 3 weeks) comes before T7 (4.501 shows as 4.50, new this week)
    assert [(r["rank"], r["tenancy_ref"], r["team"], r["score"], r["weeks_waiting"]) for r in rows] == [
        ("3", "T8", "repairs_admin", "6.0", "1"),
        ("4", "T9", "tst", "4.5", "3"),
        ("5", "T7", "repairs_admin", "4.5", "1"),
    ]
    book = openpyxl.load_workbook(published.xlsx)
    sheet = book["Carried forward"]
    assert [c.value for c in sheet[1]] == ["rank", "tenancy_ref", "team", "score", "weeks_waiting"]
    assert [c.value for c in sheet[3]][:2] == [4, "T9"]


def test_carried_forward_has_a_header_when_nobody_waits(tmp_path: Path) -> None:
    wh = open_warehouse(":memory:", key="k")
    week = _week(wh.cipher)
    week.carried = week.carried.head(0)
    publish_list(wh, week, as_of=AS_OF, out_dir=tmp_path, list_id="x", team_labels=LABELS, about_lines=[])
    wh.close()
    text = (tmp_path / "2025-03-09" / "carried_forward.csv").read_text(encoding="utf-8-sig")
    assert text.strip() == "rank,tenancy_ref,team,score,weeks_waiting"


def test_each_team_folder_holds_only_its_own_rows_and_evidence(published) -> None:  # type: ignore[no-untyped-def]
    admin = _rows(published.team_folders["repairs_admin"] / "review_list.csv")
    tst_evidence = _rows(published.team_folders["tst"] / "evidence.csv")
    assert {r["tenancy_ref"] for r in admin} == {"T1", "T2"}
    assert {r["tenancy_ref"] for r in tst_evidence} == {"T3"}
    admin_evidence = _rows(published.team_folders["repairs_admin"] / "evidence.csv")
    assert "neighbour heard shouting" not in (
        published.team_folders["repairs_admin"] / "evidence.csv"
    ).read_text(encoding="utf-8-sig")
    # Date order within a household, facts apart from the text as typed.
    assert [r["on"] for r in admin_evidence] == ["2025-02-03", "2025-03-01"]
    assert list(admin_evidence[0]) == EVIDENCE_COLUMNS
    assert admin_evidence[1]["text_as_recorded"] == "renew cylinder to FED"


def test_hostile_text_is_never_a_formula(published) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(published.csv)
    assert rows[1]["reasons"] == "'=cmd|' /C calc'!A0"
    book = openpyxl.load_workbook(published.xlsx)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
    evidence_text = {c.value for row in book["Evidence"].iter_rows() for c in row}
    assert "'@SUM(1) tnt locked out" in evidence_text


def test_one_sheet_per_team_plus_evidence(published) -> None:  # type: ignore[no-untyped-def]
    book = openpyxl.load_workbook(published.xlsx)
    assert {"Repairs administrators", "Tenancy Support Team", "Evidence"} <= set(book.sheetnames)


def test_outputs_are_owner_only(published, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for path in [published.folder, *published.team_folders.values()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    for path in published.folder.rglob("*.*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


VALUES = ("no_concern", "already_known", "new_concern_referred", "unable_to_assess", "passed_to_police")


@pytest.fixture
def with_values(tmp_path: Path):  # type: ignore[no-untyped-def]
    wh = open_warehouse(":memory:", key="k")
    result = publish_list(
        wh,
        _week(wh.cipher),
        as_of=AS_OF,
        out_dir=tmp_path,
        list_id="2025-03-09-r1",
        team_labels=LABELS,
        about_lines=["settings test"],
        outcome_values=VALUES,
    )
    wh.close()
    return result


def _header(sheet) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.value for c in next(sheet.iter_rows(min_row=1, max_row=1))]


def test_the_sheet_puts_the_reviewers_columns_after_the_reasons_and_groups_the_technical_ones(
    with_values,  # type: ignore[no-untyped-def]
) -> None:
    book = openpyxl.load_workbook(with_values.xlsx)
    sheet = book["Repairs administrators"]
    header = _header(sheet)
    assert header[:10] == [
        "rank", "tenancy_ref", "property_ref", "score", "team", "reasons",
        "outcome", "reviewer", "rationale", "reviewed_on",
    ]  # fmt: skip
    technical = ["points_score", "surprise_score", "anomaly_score", "list_id", "as_of"]
    assert header[-5:] == technical
    letters = {name: openpyxl.utils.get_column_letter(i + 1) for i, name in enumerate(header)}
    dims = sheet.column_dimensions
    # openpyxl merges neighbouring columns with the same settings into one dimension: find each one's range.
    levels = {}
    for name, letter in letters.items():
        index = openpyxl.utils.column_index_from_string(letter)
        level = 0
        for dim in dims.values():
            if dim.min is not None and dim.min <= index <= dim.max:
                level = dim.outline_level
        levels[name] = level
    assert {n for n, lv in levels.items() if lv == 1} == set(technical)
    # The CSV list keeps the contract's columns first, in the same order.
    assert list(_rows(with_values.csv)[0])[:10] == header[:10]


def test_the_sheet_offers_the_configured_outcomes_and_checks_dates(with_values) -> None:  # type: ignore[no-untyped-def]
    book = openpyxl.load_workbook(with_values.xlsx)
    for title, rows in (("Repairs administrators", 2), ("Tenancy Support Team", 1)):
        sheet = book[title]
        header = _header(sheet)
        col = {name: openpyxl.utils.get_column_letter(i + 1) for i, name in enumerate(header)}
        checks = {str(v.sqref): v for v in sheet.data_validations.dataValidation}

        def cells(name: str, col: dict[str, str] = col, rows: int = rows) -> str:
            return f"{col[name]}2" + (f":{col[name]}{rows + 1}" if rows > 1 else "")  # every data row

        assert len(checks) == 4
        outcome = checks[cells("outcome")]
        assert outcome.type == "list"
        assert outcome.formula1 == '"' + ",".join(VALUES) + '"'
        assert outcome.showInputMessage and "choose from the list" in outcome.prompt
        assert outcome.showErrorMessage
        date = checks[cells("reviewed_on")]
        assert date.type == "date" and date.operator in (None, "between")  # "between" is Excel's default
        assert date.showInputMessage and "date you reviewed" in date.prompt
        assert (date.formula1, date.formula2) == ("36526", "73050")  # 1 Jan 2000 to 31 Dec 2099 (serials)
        for name in ("reviewer", "rationale"):
            assert checks[cells(name)].prompt


def test_every_cell_but_the_reviewers_is_locked_without_a_password(with_values) -> None:  # type: ignore[no-untyped-def]
    book = openpyxl.load_workbook(with_values.xlsx)
    sheet = book["Repairs administrators"]
    assert sheet.protection.sheet is True
    assert not sheet.protection.password  # it guides; it does not secure
    assert sheet.protection.autoFilter is False and sheet.protection.sort is False  # False = allowed
    header = _header(sheet)
    inputs = {"outcome", "reviewer", "rationale", "reviewed_on"}
    for row in sheet.iter_rows(min_row=1, max_row=3):
        for cell, name in zip(row, header, strict=True):
            expect_locked = cell.row == 1 or name not in inputs
            assert cell.protection.locked is expect_locked, (cell.coordinate, name)
    assert book["Evidence"].protection.sheet is False  # nothing to fill in there
    notes = " ".join(str(c.value) for c in book["Notes"]["A"])
    assert "outcome: one of " + ", ".join(VALUES) in notes  # the configured values, not a fixed list


def test_a_filled_in_sheet_imports_back(with_values, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from pipelines.outcomes.records import import_outcomes
    from tests.pipelines.outcomes.outcome_fixtures import publish

    wh = open_warehouse(tmp_path / "wh.duckdb", allow_unencrypted=True)
    publish(wh, "2025-03-09-r1", AS_OF, [(1, "T1", "repairs_admin", 9.1, "r"), (1, "T3", "tst", 12.5, "r")])
    book = openpyxl.load_workbook(with_values.xlsx)
    for title, values in (
        ("Repairs administrators", ["passed_to_police", "J", "ok", dt.datetime(2025, 3, 11)]),
        ("Tenancy Support Team", ["no_concern", "A", "fine", None]),
    ):
        sheet = book[title]
        for offset, value in enumerate(values):
            sheet.cell(row=2, column=7 + offset, value=value)
    filled = tmp_path / "filled.xlsx"
    book.save(filled)
    result = import_outcomes(wh, filled, values=VALUES, actor="t", today=dt.date(2025, 3, 12))
    assert result.problems == []
    assert dict(result.applied) == {"passed_to_police": 1, "no_concern": 1}
    recorded = wh.con.sql(
        "select tenancy_ref, decrypt_text(outcome_enc), reviewed_on from outcomes order by 1"
    ).fetchall()
    assert recorded == [
        ("T1", "passed_to_police", dt.date(2025, 3, 11)),
        ("T3", "no_concern", dt.date(2025, 3, 12)),
    ]
    wh.close()
