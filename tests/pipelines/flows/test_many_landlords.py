"""Flow ``many-landlords``: two landlords side by side on a thread pool, each with its own database and key."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from pipelines.synth.standard import write_landlord
from pipelines.warehouse.connection import WarehouseError, open_warehouse, query
from pipelines.warehouse.references import reveal

AS_OF = dt.date(2025, 6, 29)
pytestmark = pytest.mark.slow


def _refs(path: Path, column: str) -> set[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row[column] for row in csv.DictReader(handle)}


def test_two_landlords_run_concurrently_and_stay_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from pipelines.flows.many_landlords import LandlordFailed, LandlordJob, many_landlords

    monkeypatch.delenv("REDFLAGS_DB_KEY", raising=False)
    monkeypatch.setenv("LANDLORD_A_KEY", "key-of-landlord-a-not-secret")
    monkeypatch.setenv("LANDLORD_B_KEY", "key-of-landlord-b-not-secret")
    jobs = []
    written = {}
    for name, homes, seed in (("a", 200, 3), ("b", 260, 4)):
        extracts = tmp_path / name / "extracts"
        written[name] = write_landlord(extracts, homes=homes, years=1, seed=seed, as_of=AS_OF)
        jobs.append(
            LandlordJob(
                name=name,
                extracts=extracts,
                mapping=extracts / "mapping.yaml",
                db=tmp_path / name / "rf.duckdb",
                out=tmp_path / name / "out",
                key_env=f"LANDLORD_{name.upper()}_KEY",
            )
        )

    # A third landlord whose extracts folder is missing fails alone, in one sentence; a and b still publish.
    missing = LandlordJob(
        name="c",
        extracts=tmp_path / "c" / "extracts",
        mapping=tmp_path / "c" / "mapping.yaml",
        db=tmp_path / "c.duckdb",
        out=tmp_path / "c" / "out",
        key_env="LANDLORD_A_KEY",
    )
    with (
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        results = many_landlords([*jobs, missing], AS_OF)

    assert set(results) == {"a", "b", "c"}
    assert results["c"] == LandlordFailed("c", f"the extracts folder {missing.extracts} does not exist")
    assert not missing.db.exists()  # checked before a database was made for it
    for job in jobs:
        result = results[job.name]
        assert result.files_failed == 0 and result.files_loaded > 0
        review_list = job.out / AS_OF.isoformat() / "review_list.csv"
        assert review_list.exists()
        key = f"key-of-landlord-{job.name}-not-secret"
        with open_warehouse(job.db, must_exist=True, key=key) as wh:
            repairs = wh.con.sql("select count(*) from raw_repairs").fetchall()[0][0]
            paths = {r[0] for r in wh.con.sql("select file_path from loaded_files").fetchall()}
            stored = query(wh.con, "select tenancy_ref from raw_tenancies")
            tenancies = set(reveal(wh.con, wh.cipher, stored, ("tenancy_ref",))["tenancy_ref"])
        # Exactly this landlord's repairs (the two landlords differ in size), only its own files...
        assert repairs == written[job.name].rows["repairs"]
        assert paths and all(Path(p).is_relative_to(job.extracts) for p in paths)
        # ...and its list names only its own households.
        assert _refs(review_list, "tenancy_ref") <= tenancies

    # Each database opens only with its own landlord's key.
    with pytest.raises(WarehouseError):
        open_warehouse(jobs[0].db, must_exist=True, key="key-of-landlord-b-not-secret")
