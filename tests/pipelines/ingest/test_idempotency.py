"""Re-ingesting changes nothing: whatever runs see whichever files in whatever order, once every file has been
loaded the warehouse holds the same rows (file ids aside: they count loads, so compare by file name)."""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pipelines.ingest.ingest_helpers import (
    REPAIRS_MAPPING,
    ingest,
    new_warehouse,
    repairs_csv,
    table,
    write_mapping,
)

FILES = {
    "repairs_2025-04-06.csv": ["J1,P1,T1,03/04/2025,renew lock,E,open,", "J2,P2,T2,04/04/2025,door,U,open,5"],
    "repairs_2025-04-13.csv": [
        "J1,P1,T1,03/04/2025,renew lock,E,completed,95",
        "J3,P3,,31/02/2025,bad date,U,open,",
    ],
    "repairs_2025-04-20.csv": [
        "J2,P2,T2,04/04/2025,door,U,cancelled,",
        "J4,P4,T4,19/04/2025,window,E,open,1",
    ],
    "repairs_2025-04-27.csv": [],
}

CONTENTS = {
    "raw": "select r.* exclude (file_id, description_enc), f.file_name from raw_repairs r join loaded_files "
    "f "
    "using (file_id) order by all",
    "loaded": "select extract, file_name, sha256, rows_read, rows_loaded, rows_quarantined, known_on from "
    "loaded_files "
    "order by all",
    "quarantine": "select file_name, source_row, column_name, reason from quarantine order by all",
    "validation": "select file_name, expectation, column_name, success, unexpected_count, element_count "
    "from validation_results order by all",
}


def _contents(wh) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    return {name: table(wh, sql) for name, sql in CONTENTS.items()}


def _make_sources(root: Path) -> Path:
    sources = root / "sources"
    for name, rows in FILES.items():
        repairs_csv(sources / name, rows)
    return sources


def _reference(root: Path, sources: Path, mapping: Path) -> dict[str, list[tuple]]:
    folder = root / "reference"
    shutil.copytree(sources, folder)
    wh = new_warehouse()
    ingest(wh, folder, mapping)
    return _contents(wh)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    runs=st.lists(st.sets(st.sampled_from(sorted(FILES))), min_size=1, max_size=4),
    copies=st.integers(min_value=1, max_value=2),
)
def test_any_sequence_of_runs_gives_the_same_warehouse(
    tmp_path_factory, runs: list[set[str]], copies: int
) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("idem")
    sources = _make_sources(root)
    mapping = write_mapping(root / "m.yaml", REPAIRS_MAPPING)
    expected = _reference(root, sources, mapping)
    folder = root / "extracts"
    folder.mkdir()
    wh = new_warehouse()
    for run in [*runs, set(FILES)] * copies:  # every run sees only some files; a last run sees them all
        for f in folder.iterdir():
            f.unlink()
        for name in run:
            shutil.copy(sources / name, folder / name)
        assert ingest(wh, folder, mapping).ok
    assert _contents(wh) == expected


def test_a_second_run_is_a_no_op(tmp_path: Path) -> None:
    sources = _make_sources(tmp_path)
    mapping = write_mapping(tmp_path / "m.yaml", REPAIRS_MAPPING)
    wh = new_warehouse()
    first = ingest(wh, sources, mapping)
    before = _contents(wh)
    second = ingest(wh, sources, mapping)
    assert (first.files_loaded, second.files_loaded, second.files_skipped) == (4, 0, 4)
    assert _contents(wh) == before
    # The same content under another name is the same file: skipped.
    shutil.copy(sources / "repairs_2025-04-06.csv", sources / "repairs_copy.csv")
    assert ingest(wh, sources, mapping).files_loaded == 0
