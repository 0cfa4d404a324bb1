"""A file loaded before and unchanged since is known by its file system's record, not re-read; any change to it
(restated in place with its old modification time put back, touched, replaced) and it is hashed again, and a
restated file loads (EXTRACTS.md v1.1: the later file restates a key)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import pipelines.ingest.loading as loading
from pipelines.ingest import known_files
from pipelines.ingest.files import SourceFile
from pipelines.warehouse.connection import Warehouse
from tests.pipelines.ingest.ingest_helpers import (
    REPAIRS_MAPPING,
    ingest,
    new_warehouse,
    repairs_csv,
    table,
    write_mapping,
)

ROW_A = "J1,P1,T1,01/03/2025,Renew lock cylinder,E,completed,95.00"
ROW_B = "J2,P2,T2,02/03/2025,Ease door,U,completed,40.00"
ROW_A_RESTATED = "J1,P1,T1,01/03/2025,Renew lock cylinder,E,completed,99.00"  # same size as ROW_A


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files whose bytes ingest reads to fingerprint them, in each run."""
    names: list[str] = []
    real = loading.fingerprint

    def counting(path: Path, name: str, *args: Any) -> SourceFile:
        names.append(name)
        return real(path, name, *args)

    monkeypatch.setattr(loading, "fingerprint", counting)
    return names


def _setup(tmp_path: Path) -> tuple[Warehouse, Path, Path]:
    folder = tmp_path / "extracts"
    repairs_csv(folder / "repairs_2025-03-02.csv", [ROW_A])
    repairs_csv(folder / "repairs_2025-03-09.csv", [ROW_B])
    mapping = write_mapping(folder / "mapping.yaml", REPAIRS_MAPPING)
    return new_warehouse(tmp_path), folder, mapping


def test_an_unchanged_file_is_not_read_again(tmp_path: Path, hashed: list[str]) -> None:
    wh, folder, mapping = _setup(tmp_path)
    first = ingest(wh, folder, mapping)
    assert first.files_loaded == 2
    assert sorted(hashed) == ["repairs_2025-03-02.csv", "repairs_2025-03-09.csv"]
    hashed.clear()
    second = ingest(wh, folder, mapping)
    assert (second.files_loaded, second.files_skipped) == (0, 2)
    assert hashed == []  # known by path, inode, size and times: no byte read
    # a new week's file is read (and only it)
    repairs_csv(folder / "repairs_2025-03-16.csv", ["J3,P3,T3,10/03/2025,Ease door,U,completed,40.00"])
    third = ingest(wh, folder, mapping)
    assert (third.files_loaded, third.files_skipped) == (1, 2)
    assert hashed == ["repairs_2025-03-16.csv"]
    assert table(wh, "select count(*) from file_fingerprints") == [(3,)]


def test_a_file_restated_in_place_with_its_old_times_is_read_and_loaded(
    tmp_path: Path, hashed: list[str]
) -> None:
    wh, folder, mapping = _setup(tmp_path)
    assert ingest(wh, folder, mapping).files_loaded == 2
    path = folder / "repairs_2025-03-02.csv"
    before = path.stat()
    repairs_csv(path, [ROW_A_RESTATED])  # same path, same size, new bytes
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # a copy tool keeping the old time
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    hashed.clear()
    again = ingest(wh, folder, mapping)
    # the kernel's change time moved: the file is read, found new, and its restated row loads
    assert hashed == ["repairs_2025-03-02.csv"]
    assert (again.files_loaded, again.files_skipped) == (1, 1)
    assert table(wh, "select cost_gbp from raw_repairs order by file_id") == [(95.0,), (40.0,), (99.0,)]


def test_a_touched_file_is_read_again_and_still_skipped(tmp_path: Path, hashed: list[str]) -> None:
    wh, folder, mapping = _setup(tmp_path)
    assert ingest(wh, folder, mapping).files_loaded == 2
    path = folder / "repairs_2025-03-09.csv"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    hashed.clear()
    again = ingest(wh, folder, mapping)
    assert hashed == ["repairs_2025-03-09.csv"]  # its record changed, so its bytes are read
    assert (again.files_loaded, again.files_skipped) == (0, 2)  # same bytes: already loaded
    hashed.clear()
    assert ingest(wh, folder, mapping).files_skipped == 2
    assert hashed == []  # its new record was kept


def test_a_file_whose_load_failed_is_read_again(tmp_path: Path, hashed: list[str]) -> None:
    wh, folder, mapping = _setup(tmp_path)
    broken = folder / "repairs_2025-03-16.csv"
    broken.write_text("job_ref,tenancy_ref\nJ9,T9\n", encoding="utf-8")  # required columns missing
    first = ingest(wh, folder, mapping)
    assert (first.files_loaded, first.files_failed) == (2, 1)
    hashed.clear()
    again = ingest(wh, folder, mapping)
    assert hashed == ["repairs_2025-03-16.csv"]  # not in loaded_files: fingerprinted (and failed) again
    assert again.files_failed == 1


def test_without_a_trusted_change_time_every_file_is_read(
    tmp_path: Path, hashed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(known_files, "TRUSTED", False)
    wh, folder, mapping = _setup(tmp_path)
    assert ingest(wh, folder, mapping).files_loaded == 2
    hashed.clear()
    assert ingest(wh, folder, mapping).files_skipped == 2
    assert sorted(hashed) == ["repairs_2025-03-02.csv", "repairs_2025-03-09.csv"]
    assert table(wh, "select count(*) from file_fingerprints") == [(0,)]


def test_a_conflicting_write_of_the_same_rows_only_skips_the_shortcut(tmp_path: Path) -> None:
    wh = new_warehouse(tmp_path)
    key = ("/landlord/exports/repairs_2025-03-02.csv", 1, 2, 3, 4, 5)
    known_files.remember(wh.con, [(key, "first")])
    other = wh.con.cursor()  # another extract's load, mid-transaction on the same file's row
    other.execute("begin transaction")
    other.execute("delete from file_fingerprints where real_path = $p", {"p": key[0]})
    known_files.remember(wh.con, [(key, "second")])  # refused by DuckDB: logged, not raised
    other.execute("rollback")
    assert known_files.known_fingerprints(wh.con) == {key: "first"}
    known_files.remember(wh.con, [(key, "second")])
    assert known_files.known_fingerprints(wh.con) == {key: "second"}
