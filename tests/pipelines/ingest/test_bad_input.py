"""One test per bad-input case: the message names the file, the row and the column; nothing half-loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.warehouse.connection import open_warehouse
from tests.pipelines.ingest.ingest_helpers import (
    REPAIRS_MAPPING,
    ingest,
    new_warehouse,
    repairs_csv,
    table,
    write_mapping,
)

GOOD = "J1,P1,T1,03/04/2025,renew lock,E,open,10"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "extracts"
    d.mkdir()
    write_mapping(tmp_path / "mapping.yaml", REPAIRS_MAPPING)
    return d


def _quarantine(wh) -> list[tuple]:  # type: ignore[no-untyped-def]
    return table(
        wh,
        "select file_name, source_row, column_name, reason from quarantine order by source_row, column_name",
    )


def test_missing_required_columns_are_all_named_and_nothing_loads(folder: Path, tmp_path: Path) -> None:
    repairs_csv(
        folder / "repairs_2025-04-06.csv", ["J1,03/04/2025,open"], header="job_ref,reported_at,status\n"
    )
    wh = new_warehouse()
    summary = ingest(wh, folder, tmp_path / "mapping.yaml")
    assert summary.files_failed == 1
    message = summary.failures[0]
    assert "repairs_2025-04-06.csv" in message and "row 1" in message
    assert "'property_ref'" in message and "'description'" in message
    assert table(wh, "select count(*) from raw_repairs") == [(0,)]
    assert table(wh, "select count(*) from loaded_files") == [(0,)]


def test_impossible_date_is_quarantined_naming_row_and_column(folder: Path, tmp_path: Path) -> None:
    repairs_csv(folder / "repairs_2025-04-06.csv", [GOOD, "J2,P2,T2,31/02/2025,door,U,open,5"])
    wh = new_warehouse()
    summary = ingest(wh, folder, tmp_path / "mapping.yaml")
    assert _quarantine(wh) == [
        ("repairs_2025-04-06.csv", 3, "reported_at", "reported_at: not a real calendar date")
    ]
    assert summary.row_messages == [
        "repairs_2025-04-06.csv row 3, column 'reported_at': reported_at: not a real calendar date"
    ]
    assert table(wh, "select job_ref from raw_repairs") == [("J1",)]


def test_us_style_date_file_without_format_fails_naming_row_and_column(folder: Path, tmp_path: Path) -> None:
    # 04/03/2025 would silently read as 4 March; 12/31/2025 gives the file away as month-first.
    header = "job_ref,property_ref,reported_at,description\n"
    repairs_csv(
        folder / "repairs_2025-04-06.csv", ["J1,P1,04/03/2025,a", "J2,P2,03/31/2025,b"], header=header
    )
    wh = new_warehouse()
    summary = ingest(wh, folder, tmp_path / "mapping.yaml")
    assert summary.files_failed == 1
    message = summary.failures[0]
    assert "repairs_2025-04-06.csv" in message and "row 3" in message and "'reported_at'" in message
    assert "date_format" in message
    assert table(wh, "select count(*) from raw_repairs") == [(0,)]


def test_us_style_file_loads_with_a_date_format(folder: Path, tmp_path: Path) -> None:
    header = "job_ref,property_ref,reported_at,description\n"
    repairs_csv(
        folder / "repairs_2025-04-06.csv", ["J1,P1,04/03/2025,a", "J2,P2,03/31/2025,b"], header=header
    )
    mapping = write_mapping(
        tmp_path / "us.yaml", {"repairs": {"files": "repairs_*.csv", "date_format": "%m/%d/%Y"}}
    )
    wh = new_warehouse()
    ingest(wh, folder, mapping)
    assert table(wh, "select job_ref, cast(reported_at as date)::varchar from raw_repairs order by 1") == [
        ("J1", "2025-04-03"),
        ("J2", "2025-03-31"),
    ]


def test_unreadable_amount_is_quarantined(folder: Path, tmp_path: Path) -> None:
    repairs_csv(folder / "repairs_2025-04-06.csv", [GOOD, 'J2,P2,T2,03/04/2025,door,U,open,"£1,2x0"'])
    wh = new_warehouse()
    ingest(wh, folder, tmp_path / "mapping.yaml")
    [(name, row, column, reason)] = _quarantine(wh)
    assert (name, row, column) == ("repairs_2025-04-06.csv", 3, "cost_gbp")
    assert reason.startswith("cost_gbp: not an amount")
    assert "2x0" not in reason


def test_duplicate_job_ref_quarantines_the_later_row(folder: Path, tmp_path: Path) -> None:
    repairs_csv(
        folder / "repairs_2025-04-06.csv",
        [GOOD, "J2,P2,T2,03/04/2025,x,U,open,1", "J1,P1,T1,04/04/2025,y,E,open,2"],
    )
    wh = new_warehouse()
    ingest(wh, folder, tmp_path / "mapping.yaml")
    assert _quarantine(wh) == [
        ("repairs_2025-04-06.csv", 4, "job_ref", "job_ref: repeats the key of row 2 in the same file")
    ]
    assert table(wh, "select job_ref, source_row from raw_repairs order by 1") == [("J1", 2), ("J2", 3)]


def test_a_key_repeats_only_within_its_own_file(folder: Path, tmp_path: Path) -> None:
    """Three rows with one key in a file: the first loads, the other two are quarantined naming it; the same key
    in another file of the same chunk is no repeat."""
    repairs_csv(
        folder / "repairs_2025-04-06.csv",
        [
            "J7,P1,T1,01/04/2025,x,U,open,1",
            GOOD,
            "J1,P2,T2,02/04/2025,y,U,open,2",
            "J1,P3,T3,03/04/2025,z,U,open,3",
        ],
    )
    repairs_csv(
        folder / "repairs_2025-04-13.csv",
        ["J7,P1,T1,08/04/2025,x,U,open,1", "J8,P1,T1,08/04/2025,x,U,open,1"],
    )
    wh = new_warehouse()
    summary = ingest(wh, folder, tmp_path / "mapping.yaml")
    assert (summary.rows_loaded, summary.rows_quarantined) == (4, 2)
    assert _quarantine(wh) == [
        ("repairs_2025-04-06.csv", 4, "job_ref", "job_ref: repeats the key of row 3 in the same file"),
        ("repairs_2025-04-06.csv", 5, "job_ref", "job_ref: repeats the key of row 3 in the same file"),
    ]
    assert table(
        wh,
        "select file_name, unexpected_count, element_count from validation_results "
        "where expectation like '%key not repeated%' order by 1",
    ) == [("repairs_2025-04-06.csv", 3, 4), ("repairs_2025-04-13.csv", 0, 2)]


def test_empty_file_fails(folder: Path, tmp_path: Path) -> None:
    (folder / "repairs_2025-04-06.csv").write_bytes(b"")
    wh = new_warehouse()
    summary = ingest(wh, folder, tmp_path / "mapping.yaml")
    assert summary.files_failed == 1
    assert "repairs_2025-04-06.csv" in summary.failures[0] and "empty" in summary.failures[0]


def test_header_only_file_loads_zero_rows_and_is_recorded(folder: Path, tmp_path: Path) -> None:
    repairs_csv(folder / "repairs_2025-04-06.csv", [])
    wh = new_warehouse()
    summary = ingest(wh, folder, tmp_path / "mapping.yaml")
    assert summary.ok and summary.files_loaded == 1
    assert table(wh, "select file_name, rows_read, rows_loaded, rows_quarantined from loaded_files") == [
        ("repairs_2025-04-06.csv", 0, 0, 0)
    ]


def test_truncated_last_line_is_a_row_problem(folder: Path, tmp_path: Path) -> None:
    path = repairs_csv(folder / "repairs_2025-04-06.csv", [GOOD, "J2,P2,T2,03/04/2025,door,U,open,5"])
    path.write_bytes(path.read_bytes() + b"J3,P3,T3,04/0")  # the export was cut off mid-row, no newline
    wh = new_warehouse()
    summary = ingest(wh, folder, tmp_path / "mapping.yaml")
    assert summary.ok
    [(name, row, column, reason)] = _quarantine(wh)
    assert (name, row, column) == ("repairs_2025-04-06.csv", 4, "description")
    assert "truncated" in reason
    assert table(wh, "select job_ref from raw_repairs order by 1") == [("J1",), ("J2",)]


def test_cp1252_pound_in_a_file_declared_utf8_fails_naming_row_and_column(
    folder: Path, tmp_path: Path
) -> None:
    repairs_csv(
        folder / "repairs_2025-04-06.csv", [GOOD, "J2,P2,T2,03/04/2025,door,U,open,£5"], encoding="cp1252"
    )
    mapping = write_mapping(
        tmp_path / "utf8.yaml", {"repairs": {"files": "repairs_*.csv", "encoding": "utf-8"}}
    )
    wh = new_warehouse()
    summary = ingest(wh, folder, mapping)
    assert summary.files_failed == 1
    message = summary.failures[0]
    assert "repairs_2025-04-06.csv" in message and "row 3" in message and "'cost_gbp'" in message
    assert "cp1252" in message


def test_cp1252_without_declared_encoding_falls_back_to_windows_1252(folder: Path, tmp_path: Path) -> None:
    repairs_csv(
        folder / "repairs_2025-04-06.csv", [GOOD, "J2,P2,T2,03/04/2025,door,U,open,£5"], encoding="cp1252"
    )
    wh = new_warehouse()
    assert ingest(wh, folder, tmp_path / "mapping.yaml").ok
    assert table(wh, "select job_ref, cost_gbp::varchar from raw_repairs order by 1") == [
        ("J1", "10.00"),
        ("J2", "5.00"),
    ]


def test_sql_in_a_mapped_header_is_only_a_name(folder: Path, tmp_path: Path) -> None:
    evil = 'Job "Ref"; drop table raw_repairs; --'
    header = f'"{evil.replace(chr(34), chr(34) * 2)}",property_ref,reported_at,description\n'
    repairs_csv(folder / "repairs_2025-04-06.csv", ["J1,P1,03/04/2025,a"], header=header)
    mapping = write_mapping(
        tmp_path / "evil.yaml", {"repairs": {"files": "repairs_*.csv", "columns": {"job_ref": evil}}}
    )
    wh = new_warehouse()
    assert ingest(wh, folder, mapping).ok
    assert table(wh, "select job_ref from raw_repairs") == [("J1",)]


def test_sql_in_a_parquet_column_name_is_only_a_name(folder: Path, tmp_path: Path) -> None:
    evil = 'Job "Ref"; drop table raw_repairs; --'
    wh = new_warehouse()
    wh.con.execute(
        f"copy (select 'J1' as \"{evil.replace(chr(34), chr(34) * 2)}\", 'P1' as property_ref, "
        "DATE '2025-04-03' as reported_at, 'a' as description) to $p (format parquet)",
        {"p": str(folder / "repairs_2025-04-06.parquet")},
    )
    mapping = write_mapping(
        tmp_path / "evil.yaml", {"repairs": {"files": "*.parquet", "columns": {"job_ref": evil}}}
    )
    assert ingest(wh, folder, mapping).ok
    assert table(wh, "select job_ref, source_row from raw_repairs") == [("J1", 2)]


def test_unknown_sheet_fails_naming_the_sheet(folder: Path, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "Jobs"
    book.active.append(["job_ref", "property_ref", "reported_at", "description"])
    book.save(folder / "repairs_2025-04-06.xlsx")
    mapping = write_mapping(tmp_path / "x.yaml", {"repairs": {"files": "*.xlsx", "sheet": "Repairs"}})
    wh = new_warehouse()
    summary = ingest(wh, folder, mapping)
    assert summary.files_failed == 1
    assert "repairs_2025-04-06.xlsx" in summary.failures[0] and "'Repairs'" in summary.failures[0]
    assert "'Jobs'" in summary.failures[0]


def test_unknown_category_value_is_quarantined_without_its_text(folder: Path, tmp_path: Path) -> None:
    repairs_csv(folder / "repairs_2025-04-06.csv", [GOOD, "J2,P2,T2,03/04/2025,door,Zebra,open,5"])
    wh = new_warehouse()
    ingest(wh, folder, tmp_path / "mapping.yaml")
    [(_, row, column, reason)] = _quarantine(wh)
    assert (row, column) == (3, "priority")
    assert "emergency" in reason and "Zebra" not in reason


def test_future_and_ancient_event_dates_are_quarantined(folder: Path, tmp_path: Path) -> None:
    repairs_csv(
        folder / "repairs_2025-04-06.csv",
        [
            GOOD,
            "J2,P2,T2,07/04/2025,a,U,open,1",
            "J3,P3,T3,01/01/1989,b,U,open,1",
            "J4,P4,T4,06/04/2025,c,U,open,1",
        ],
    )
    wh = new_warehouse()
    ingest(wh, folder, tmp_path / "mapping.yaml")
    assert [(r[1], r[3]) for r in _quarantine(wh)] == [
        (3, "reported_at: after the extract date of the file"),
        (4, "reported_at: before 1990"),
    ]


def test_blank_required_value_is_quarantined(folder: Path, tmp_path: Path) -> None:
    repairs_csv(folder / "repairs_2025-04-06.csv", [GOOD, "J2,,T2,03/04/2025,a,U,open,1"])
    wh = new_warehouse()
    ingest(wh, folder, tmp_path / "mapping.yaml")
    assert [(r[1], r[2], r[3]) for r in _quarantine(wh)] == [(3, "property_ref", "property_ref: blank")]


def test_a_failing_file_leaves_what_was_loaded_untouched(folder: Path, tmp_path: Path) -> None:
    repairs_csv(folder / "repairs_2025-04-06.csv", [GOOD])
    wh = new_warehouse()
    assert ingest(wh, folder, tmp_path / "mapping.yaml").ok
    tables = ("raw_repairs", "loaded_files", "validation_results")
    before = {t: table(wh, f"select * from {t} order by all") for t in tables}
    repairs_csv(folder / "repairs_2025-04-13.csv", ["J1,03/04/2025"], header="job_ref,reported_at\n")
    summary = ingest(wh, folder, tmp_path / "mapping.yaml")
    assert summary.files_failed == 1 and summary.files_skipped == 1
    assert {t: table(wh, f"select * from {t} order by all") for t in tables} == before
    assert table(wh, "select file_name, source_row from quarantine") == [("repairs_2025-04-13.csv", None)]


def test_a_failure_mid_transaction_rolls_the_file_back(folder: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pipelines.ingest import loading

    repairs_csv(folder / "repairs_2025-04-06.csv", [GOOD])
    wh = new_warehouse()
    original = loading.next_id

    def fail_after_insert(con, seq):  # type: ignore[no-untyped-def]
        return original(con, seq)

    monkeypatch.setattr(loading, "next_id", fail_after_insert)

    class Boom(RuntimeError):
        pass

    class Con:
        """The connection (and each worker's cursor), failing the insert that marks a file loaded."""

        def __init__(self, real):  # type: ignore[no-untyped-def]
            self.real = real

        def execute(self, sql, *args, **kwargs):  # type: ignore[no-untyped-def]
            if str(sql).startswith("insert into loaded_files"):
                raise Boom("disk full")
            return self.real.execute(sql, *args, **kwargs)

        def cursor(self):  # type: ignore[no-untyped-def]
            return Con(self.real.cursor())

        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(self.real, name)

    wh_proxy = type(wh)(con=Con(wh.con), cipher=wh.cipher, path=wh.path)  # type: ignore[arg-type]
    with pytest.raises(Boom):
        ingest(wh_proxy, folder, tmp_path / "mapping.yaml")
    assert table(wh, "select count(*) from raw_repairs") == [(0,)]
    assert table(wh, "select count(*) from quarantine") == [(0,)]


@pytest.mark.slow
def test_redflags_ingest_runs_the_flow_and_exits_non_zero_after_the_other_files(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from pipelines.cli.main import main

    repairs_csv(folder / "repairs_2025-04-06.csv", [GOOD])
    repairs_csv(folder / "repairs_2025-04-13.csv", ["J1,03/04/2025"], header="job_ref,reported_at\n")
    db = tmp_path / "cli.duckdb"
    argv = ["ingest", "--extracts", str(folder), "--mapping", str(tmp_path / "mapping.yaml"), "--db", str(db),
            "--allow-unencrypted", "--out", str(tmp_path / "out")]  # fmt: skip
    with prefect_test_harness(server_startup_timeout=60):
        assert main(argv) == 1
    err = capsys.readouterr().err
    assert "repairs_2025-04-13.csv" in err and "row 1" in err and "'property_ref'" in err
    wh = open_warehouse(db, allow_unencrypted=True)
    assert table(wh, "select job_ref from raw_repairs") == [("J1",)]
    assert (tmp_path / "out" / "data_quality.html").exists()
