"""No input breaks ingest: random bytes, truncated files and mangled headers of every extract, as CSV, .xlsx
and Parquet, each fail alone with one sentence naming the file (or load, when what is left still reads as the
extract), and a good file beside them always loads."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ingest_helpers import fake_classify

from pipelines.ingest.folder import ingest_folder
from pipelines.ingest.mapping import CANONICAL, mapping_from_dict
from pipelines.synth.standard import write_landlord
from pipelines.warehouse.connection import open_warehouse, query

EXTRACTS = tuple(CANONICAL)
TODAY = dt.date(2025, 7, 1)
FORMATS = ("csv", "xlsx", "parquet")
FUZZ = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure is reproducible, never a flake
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], bytes]:
    """A small good file of each extract in each format, cut from the synthetic landlord."""
    root = tmp_path_factory.mktemp("fuzz")
    write_landlord(root / "ll", homes=60, years=1, seed=3, as_of=dt.date(2025, 6, 29))
    out: dict[tuple[str, str], bytes] = {}
    for name in EXTRACTS:
        first = sorted((root / "ll" / name).glob("*.csv"))[-1]
        lines = first.read_bytes().splitlines(keepends=True)[:15]
        text = b"".join(lines)
        out[(name, "csv")] = text
        frame = pl.read_csv(io.BytesIO(text), infer_schema=False)
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(frame.columns)
        for row in frame.iter_rows():
            sheet.append(list(row))
        buffer = io.BytesIO()
        book.save(buffer)
        out[(name, "xlsx")] = buffer.getvalue()
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        out[(name, "parquet")] = buffer.getvalue()
    return out


def _ingest_with(
    tmp: Path, samples: dict[tuple[str, str], bytes], name: str, fmt: str, content: bytes
) -> None:
    """Ingest one good file and the fuzzed one; assert the good one loads and the fuzzed one fails alone."""
    folder = tmp / "in"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / f"{name}_2025-06-22.{fmt}").write_bytes(samples[(name, fmt)])
    fuzzed = f"{name}_2025-06-29_partial.{fmt}"
    (folder / fuzzed).write_bytes(content)
    mapping = mapping_from_dict({"extracts": {name: {"files": f"{name}_*.{fmt}"}}})
    with open_warehouse(":memory:", allow_unencrypted=True) as wh:
        summary = ingest_folder(wh, folder, mapping, classify=fake_classify, today=TODAY)
        outcomes = {f.file_name: f for f in summary.files}
        assert outcomes[f"{name}_2025-06-22.{fmt}"].status == "loaded"
        fuzzed_outcome = outcomes[fuzzed]
        if fuzzed_outcome.status == "failed":
            message = fuzzed_outcome.message or ""
            assert message.startswith(f"{fuzzed}: ") and len(message) > len(fuzzed) + 10
            assert "\n" not in message and "Traceback" not in message
            quarantined = query(
                wh.con,
                "select reason from quarantine where file_name = $f and source_row is null",
                {"f": fuzzed},
            )
            assert quarantined.height == 1
        else:  # what was left still reads as the extract: it loaded, whole or with rows quarantined
            assert fuzzed_outcome.status in ("loaded", "skipped")


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", EXTRACTS)
@FUZZ
@given(
    data=st.one_of(
        st.binary(min_size=1, max_size=4096),
        # text-like junk: a header's start, then bytes that are neither UTF-8 nor sure to hold a NUL
        st.binary(min_size=1, max_size=512).map(lambda b: b'job_ref,"x\r' + bytes(c | 0x80 for c in b)),
    )
)
@example(data=b"job_ref\rproperty_ref\n\x81")  # the header line breaks the csv module: once a traceback
@example(data=bytes(range(1, 256)) * 8)  # binary without a NUL in its first bytes
def test_random_bytes_fail_alone(
    samples: dict[tuple[str, str], bytes], tmp_path: Path, name: str, fmt: str, data: bytes
) -> None:
    _ingest_with(tmp_path, samples, name, fmt, data)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", EXTRACTS)
@FUZZ
@given(cut=st.floats(min_value=0.0, max_value=0.999))
def test_a_truncated_file_fails_alone_or_loads_what_is_whole(
    samples: dict[tuple[str, str], bytes], tmp_path: Path, name: str, fmt: str, cut: float
) -> None:
    good = samples[(name, fmt)]
    _ingest_with(tmp_path, samples, name, fmt, good[: max(1, int(len(good) * cut))])


@pytest.mark.slow
@pytest.mark.parametrize("name", EXTRACTS)
@FUZZ
@given(
    junk=st.binary(min_size=1, max_size=40),
    at=st.floats(min_value=0.0, max_value=1.0),
)
def test_a_mangled_csv_header_fails_alone(
    samples: dict[tuple[str, str], bytes], tmp_path: Path, name: str, junk: bytes, at: float
) -> None:
    good = samples[(name, "csv")]
    header_end = good.index(b"\n")
    where = int(header_end * at)
    _ingest_with(tmp_path, samples, name, "csv", good[:where] + junk + good[where:])


@pytest.mark.parametrize("fmt", ("xlsx", "parquet"))
@FUZZ
@given(
    offset=st.floats(min_value=0.0, max_value=0.999),
    junk=st.binary(min_size=1, max_size=64),
)
def test_bytes_overwritten_inside_a_workbook_or_parquet_file_fail_alone(
    samples: dict[tuple[str, str], bytes], tmp_path: Path, fmt: str, offset: float, junk: bytes
) -> None:
    good = samples[("repairs", fmt)]
    at = int(len(good) * offset)
    _ingest_with(tmp_path, samples, "repairs", fmt, good[:at] + junk + good[at + len(junk) :])


def test_a_workbook_without_the_mapped_sheet_fails_alone(
    samples: dict[tuple[str, str], bytes], tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "repairs_2025-06-29.xlsx").write_bytes(samples[("repairs", "xlsx")])
    mapping = mapping_from_dict({"extracts": {"repairs": {"files": "repairs_*.xlsx", "sheet": "Jobs"}}})
    with open_warehouse(":memory:", allow_unencrypted=True) as wh:
        summary = ingest_folder(wh, folder, mapping, classify=fake_classify, today=TODAY)
    assert summary.failures == ["repairs_2025-06-29.xlsx: has no sheet 'Jobs' (sheets: 'Sheet')"]


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("repairs_2025-06-29_partial.csv", b"job_ref,\x00\x93\x11binary", "holds binary data, not CSV text"),
        ("repairs_2025-06-29.csv", b"PK\x03\x04rest of a zip", "is a zip archive or an .xlsx workbook"),
        ("repairs_2025-06-29.csv", b"\x1f\x8b\x08gzip", "is a compressed archive"),
        ("repairs_2025-06-29.xlsx", b"job_ref,property_ref\nJ1,P1\n", "is not an .xlsx workbook although"),
        ("repairs_2025-06-29.xlsx", b"\xd0\xcf\x11\xe0old workbook", "is an old-style .xls workbook"),
        ("repairs_2025-06-29.parquet", b"job_ref,property_ref\n", "is not a Parquet file although"),
        ("repairs_2025-06-29.csv", b"job\x01ref,property_ref\nJ1,P1\n", "row 1 (the header) is not text"),
    ],
)
def test_what_a_file_really_holds_is_named(
    samples: dict[tuple[str, str], bytes], tmp_path: Path, name: str, content: bytes, says: str
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / name).write_bytes(content)
    fmt = name.rsplit(".", 1)[1]
    (folder / f"repairs_2025-06-22.{fmt}").write_bytes(samples[("repairs", fmt)])
    mapping = mapping_from_dict({"extracts": {"repairs": {"files": f"repairs_*.{fmt}"}}})
    with open_warehouse(":memory:", allow_unencrypted=True) as wh:
        summary = ingest_folder(wh, folder, mapping, classify=fake_classify, today=TODAY)
    assert summary.files_loaded == 1
    assert len(summary.failures) == 1 and summary.failures[0].startswith(f"{name}: {says}")


def test_bad_files_scattered_in_one_chunk_each_fail_alone_and_the_rest_load_in_order(
    tmp_path: Path, samples: dict[tuple[str, str], bytes]
) -> None:
    # eleven weekly files of one chunk, the 2nd, 7th and 8th of them binary: the chunk is halved until each bad
    # file stands alone; every good file loads, each once, numbered in the files' order
    folder = tmp_path / "in"
    folder.mkdir()
    days = [dt.date(2025, 4, 13) + dt.timedelta(days=7 * i) for i in range(11)]
    bad = {1, 6, 7}
    lines = samples[("repairs", "csv")].splitlines(keepends=True)  # a header and 14 rows
    for i, day in enumerate(days):
        # good files differ (the header and the first 3 + i rows): an identical file would be skipped as known
        content = bytes(range(256)) * 8 if i in bad else b"".join(lines[: 4 + i])
        (folder / f"repairs_{day.isoformat()}.csv").write_bytes(content)
    mapping = mapping_from_dict({"extracts": {"repairs": {"files": "repairs_*.csv"}}})
    with open_warehouse(":memory:", allow_unencrypted=True) as wh:
        summary = ingest_folder(wh, folder, mapping, classify=fake_classify, today=TODAY)
        status = {f.file_name: f.status for f in summary.files}
        assert status == {
            f"repairs_{d.isoformat()}.csv": "failed" if i in bad else "loaded" for i, d in enumerate(days)
        }
        assert [f.file_name for f in summary.files if f.status == "failed"] == [
            f"repairs_{days[i].isoformat()}.csv" for i in sorted(bad)
        ]
        loaded = query(wh.con, "select file_name, file_id from loaded_files order by file_id")
        assert loaded["file_name"].to_list() == [
            f"repairs_{d.isoformat()}.csv" for i, d in enumerate(days) if i not in bad
        ]
        # each good file read whole, once (the sample's rows postdate these names: most are quarantined for it)
        read = {f.file_name: f.rows_read for f in summary.files if f.status == "loaded"}
        assert list(read.values()) == [3 + i for i in range(11) if i not in bad]
        stored = query(
            wh.con,
            "select file_name, count(r.file_id) + (select count(distinct q.source_row) from quarantine q"
            " where q.file_name = f.file_name"
            " and q.source_row is not null) as n from loaded_files f left join raw_repairs r using (file_id)"
            " group by file_name, f.file_id order by f.file_id",
        )
        assert stored.rows() == list(read.items())
        failures = query(
            wh.con, "select file_name from quarantine where source_row is null order by file_name"
        )
        assert failures["file_name"].to_list() == [f"repairs_{days[i].isoformat()}.csv" for i in sorted(bad)]
