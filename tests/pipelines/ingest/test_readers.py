from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.files import (
    FileProblem,
    fingerprint,
    natural_key,
    quote_identifier,
    resolve_files,
    sniff_delimiter,
)
from pipelines.ingest.mapping import CANONICAL, ExtractMapping
from pipelines.ingest.readers import prepare_file, read_batch, read_csv_header

TENANCIES = CANONICAL["tenancies"]


def test_quote_identifier_doubles_inner_quotes() -> None:
    assert quote_identifier("job_ref") == '"job_ref"'
    assert (
        quote_identifier('Job "Ref"; drop table raw_repairs; --')
        == '"Job ""Ref""; drop table raw_repairs; --"'
    )
    with pytest.raises(ValueError):
        quote_identifier("a\x00b")


def test_natural_order_puts_2_before_10(tmp_path: Path) -> None:
    for name in ("rent_10.csv", "rent_2.csv", "Rent_1.csv", "~$rent_3.csv", "notes.txt"):
        (tmp_path / name).write_text("x\n")
    assert sorted(["a_10", "a_2", "a_1"], key=natural_key) == ["a_1", "a_2", "a_10"]
    found = resolve_files(tmp_path, ["*ent_*.csv"])
    assert [p.name for p in found] == ["Rent_1.csv", "rent_2.csv", "rent_10.csv"]


def test_sniff_delimiter() -> None:
    assert sniff_delimiter("a;b;c") == ";"
    assert sniff_delimiter("a\tb") == "\t"
    assert sniff_delimiter("single") == ","


def test_header_is_the_first_record_however_it_is_written(tmp_path: Path) -> None:
    spec = ExtractMapping(files=("*",))
    cases = {
        "plain.csv": (b"tenancy_ref,property_ref,start_date\nT1,P1,01/01/2020\n", ","),
        "bom_crlf.csv": (b"\xef\xbb\xbftenancy_ref;property_ref;start_date\r\nT1;P1;01/01/2020\r\n", ";"),
        # A quoted name holding a line break (and an escaped quote): the record runs over three lines.
        "quoted.csv": (b'tenancy_ref,"property\nref ""P""\nnote",start_date\nT1,P1,01/01/2020\n', ","),
        "no_newline.csv": (b"tenancy_ref,property_ref,start_date", ","),
    }
    for name, (data, delimiter) in cases.items():
        (tmp_path / name).write_bytes(data)
        src = fingerprint(tmp_path / name, name, None, tmp_path)
        read_csv_header(src, None)
        assert src.delimiter == delimiter, name
        expected = ["tenancy_ref", 'property\nref "P"\nnote', "start_date"] if name == "quoted.csv" else None
        assert list(src.headers) == (expected or ["tenancy_ref", "property_ref", "start_date"]), name
    (tmp_path / "blank.csv").write_bytes(b"\r\nT1,P1,01/01/2020\n")
    src = fingerprint(tmp_path / "blank.csv", "blank.csv", None, tmp_path)
    with pytest.raises(FileProblem, match="header\\) is blank"):
        prepare_file(src, TENANCIES, spec, duckdb.connect())


def _read(tmp_path: Path, files: dict[str, bytes], spec: ExtractMapping | None = None, extract=TENANCIES):  # type: ignore[no-untyped-def]
    spec = spec or ExtractMapping(files=("*",))
    con = duckdb.connect()
    srcs = []
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        src = fingerprint(path, name, spec.encoding, tmp_path)
        prepare_file(src, extract, spec, con)
        srcs.append(src)
    rejects, failed = read_batch(con, "stage", srcs, extract, spec)
    rows = con.sql("select __file_idx, __row, tenancy_ref, start_date from stage order by 1, 2").fetchall()
    return rows, rejects, failed, srcs


def test_many_csv_files_in_one_read_keep_their_own_row_numbers(tmp_path: Path) -> None:
    files = {
        "t_1.csv": b"tenancy_ref,property_ref,start_date\nT1,P1,01/01/2020\nT2,P2,02/01/2020\n",
        "t_2.csv": b"tenancy_ref,property_ref,start_date\n",
        "t_3.csv": b"tenancy_ref,property_ref,start_date\r\n"
        b"T3,P3,03/01/2020\r\nT4,P4,04/01/2020\r\nT5,P5,x\r\n",
    }
    rows, rejects, failed, _ = _read(tmp_path, files)
    assert (rejects, failed) == ([], {})
    assert rows == [
        (0, 2, "T1", "01/01/2020"),
        (0, 3, "T2", "02/01/2020"),
        (2, 2, "T3", "03/01/2020"),
        (2, 3, "T4", "04/01/2020"),
        (2, 4, "T5", "x"),
    ]


def test_a_rejected_line_does_not_shift_the_rows_after_it(tmp_path: Path) -> None:
    data = b"tenancy_ref,property_ref,start_date\nT1,P1,01/01/2020\nT2\nT3,P3,03/01/2020\n"
    rows, rejects, _, _ = _read(tmp_path, {"t.csv": data})
    assert [(r.row, r.column) for r in rejects] == [(3, "property_ref")]
    assert [(r[1], r[2]) for r in rows] == [(2, "T1"), (4, "T3")]


def test_blank_lines_and_quoted_line_breaks_count_as_a_spreadsheet_would(tmp_path: Path) -> None:
    data = b'tenancy_ref,property_ref,start_date\nT1,"P1\nflat",01/01/2020\n\nT3,P3,03/01/2020\n'
    rows, _, _, srcs = _read(tmp_path, {"t.csv": data})
    assert srcs[0].has_blank_lines
    assert [(r[1], r[2]) for r in rows] == [(2, "T1"), (4, "T3")]


def test_semicolons_cp1252_and_renamed_headers(tmp_path: Path) -> None:
    data = "Tenancy No;Prop;Start\nT1;P1;01/01/2020\nT2;Café;02/01/2020\n".encode("cp1252")
    spec = ExtractMapping(
        files=("*",), columns={"tenancy_ref": "Tenancy No", "property_ref": "Prop", "start_date": "Start"}
    )
    rows, _, _, srcs = _read(tmp_path, {"t.csv": data}, spec)
    assert srcs[0].encoding == "cp1252" and srcs[0].delimiter == ";"
    assert [r[2] for r in rows] == ["T1", "T2"]


def test_utf8_with_bom(tmp_path: Path) -> None:
    data = "\ufefftenancy_ref,property_ref,start_date\nT1,P1,01/01/2020\n".encode()
    rows, _, _, srcs = _read(tmp_path, {"t.csv": data})
    assert srcs[0].encoding == "utf-8" and srcs[0].headers[0] == "tenancy_ref"
    assert rows == [(0, 2, "T1", "01/01/2020")]


def test_header_matching_is_case_insensitive_and_names_all_missing(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_bytes(b"TENANCY_REF,other\nT1,x\n")
    src = fingerprint(tmp_path / "t.csv", "t.csv", None, tmp_path)
    with pytest.raises(FileProblem) as info:
        prepare_file(src, TENANCIES, ExtractMapping(files=("*",)), duckdb.connect())
    assert (
        str(info.value) == "t.csv: row 1 (the header) lacks the required columns 'property_ref', 'start_date'"
    )


def test_xlsx_with_title_rows_named_sheet_and_date_cells(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "Cover"
    ws = book.create_sheet("Tenancies")
    ws.append(["Tenancy report"])  # row 1: a title
    ws.append([])  # row 2: blank
    ws.append(["Ref", "Property", "Start"])  # row 3: the header
    ws.append(["T1", "P1", dt.datetime(2020, 1, 31)])
    ws.append([None, None, None])  # row 5: empty, skipped
    ws.append([12345, "P2", "01/02/2020"])  # row 6: a number as a reference
    book.save(tmp_path / "t.xlsx")
    spec = ExtractMapping(
        files=("*",),
        sheet="Tenancies",
        header_row=3,
        columns={"tenancy_ref": "Ref", "property_ref": "Property", "start_date": "Start"},
    )
    con = duckdb.connect()
    src = fingerprint(tmp_path / "t.xlsx", "t.xlsx", None, tmp_path)
    prepare_file(src, TENANCIES, spec, con)
    read_batch(con, "stage", [src], TENANCIES, spec)
    assert con.sql("select __row, tenancy_ref, start_date from stage order by 1").fetchall() == [
        (4, "T1", "2020-01-31"),
        (6, "12345", "01/02/2020"),
    ]


def test_parquet_columns_become_text_with_row_numbers(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute(
        "copy (select * from (values ('T1', 'P1', DATE '2020-01-31'), ('T2', 'P2', NULL)) t(tenancy_ref, "
        "property_ref, "
        "start_date)) to $p (format parquet)",
        {"p": str(tmp_path / "t.parquet")},
    )
    spec = ExtractMapping(files=("*",))
    src = fingerprint(tmp_path / "t.parquet", "t.parquet", None, tmp_path)
    prepare_file(src, TENANCIES, spec, con)
    read_batch(con, "stage", [src], TENANCIES, spec)
    assert con.sql("select __row, tenancy_ref, start_date from stage order by 1").fetchall() == [
        (2, "T1", "2020-01-31"),
        (3, "T2", None),
    ]


@pytest.mark.parametrize(
    ("data", "encoding", "blank"),
    [
        ("a,\u00e9\ny,z\n".encode(), "utf-8", False),  # é split across two chunks
        (b"a,\xc3\nx,y\n", "cp1252", False),  # a character left open, then ASCII: not UTF-8
        ("a,b\nx,caf\u00e9\ny,z\n".encode("cp1252"), "cp1252", False),  # a Windows byte in a later chunk
        (b"a,b\nx,y\n\nz,w\n", "utf-8", True),  # a blank line across a chunk boundary
        (b"a,b\r\nx,y\r\n\r\nz,w\r\n", "utf-8", True),  # the same, Windows line ends
        (b"a,b\r\nx,y\r\nz,w\r\n", "utf-8", False),
    ],
)
def test_fingerprint_reads_encoding_and_blank_lines_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, encoding: str, blank: bool
) -> None:
    from pipelines.ingest import files

    monkeypatch.setattr(files, "_CHUNK", 3)  # every few bytes a new chunk
    (tmp_path / "t.csv").write_bytes(data)
    src = fingerprint(tmp_path / "t.csv", "t.csv", None, tmp_path)
    assert (src.encoding, src.has_blank_lines) == (encoding, blank)
