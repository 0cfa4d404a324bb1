"""A landlord upgrading from the release before keyed pseudonyms keeps its reviewed weeks.

A synthetic landlord runs a week and its reviewers record outcomes (in a readable test database); the database is
then written as the schema-1 release would have held it (``old_release``), converted with `redflags migrate`,
and the next week runs on it. The re-ranker's training examples and the monitoring report's tables are the same
before and after the conversion, the next week runs, and the outcomes still count in both afterwards.
Slow: whole flows.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from pipelines.cli.main import main
from pipelines.outcomes.records import import_outcomes
from pipelines.scoring.learning import warehouse_examples
from pipelines.synth.standard import write_landlord
from pipelines.warehouse.connection import Warehouse, open_warehouse
from pipelines.warehouse.references import reveal
from tests.pipelines.warehouse.old_release import write_old_release

pytestmark = pytest.mark.slow
AS_OF = dt.date(2025, 6, 29)
NEXT = AS_OF + dt.timedelta(days=7)
KEY = "migrating-landlord-key"
OUTCOMES = ("no_concern", "new_concern_referred")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _run(extracts: Path, db: Path, out: Path, as_of: dt.date, *extra: str) -> None:
    args = ["run", "--extracts", str(extracts), "--mapping", str(extracts / "mapping.yaml")]
    args += ["--as-of", as_of.isoformat(), "--db", str(db), "--out", str(out), *extra]
    assert main(args) == 0


def _examples(wh: Warehouse) -> pl.DataFrame:
    """The re-ranker's training examples, with the households' references as a person reads them."""
    found = reveal(wh.con, wh.cipher, warehouse_examples(wh.con), ("tenancy_ref",))
    return found.sort("listed_on", "tenancy_ref")


def _report(db: Path, out: Path, *extra: str) -> dict[str, str]:
    args = ["report", "--db", str(db), "--out", str(out), "--as-of", NEXT.isoformat(), "--weeks", "2", *extra]
    assert main(args) == 0
    return {p.name: p.read_text(encoding="utf-8-sig") for p in sorted(out.glob("*.csv"))}


def test_outcomes_survive_migration_and_count_in_the_next_week(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extracts = tmp_path / "landlord" / "extracts"
    write_landlord(extracts, homes=300, years=2, seed=31, as_of=AS_OF)
    source, out = tmp_path / "source.duckdb", tmp_path / "out"
    _run(extracts, source, out, AS_OF, "--allow-unencrypted")

    listed = _rows(out / AS_OF.isoformat() / "review_list.csv")
    sheet = tmp_path / "filled.csv"
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*listed[0].keys()])
        writer.writeheader()
        for i, row in enumerate(listed):
            writer.writerow(
                {**row, "outcome": OUTCOMES[i % 2], "reviewer": f"Reviewer {i % 3}", "rationale": "ok"}
            )
    wh = open_warehouse(source, allow_unencrypted=True, must_exist=True)
    try:
        assert import_outcomes(wh, sheet, values=OUTCOMES, actor="coordinator").applied_total == len(listed)
        examples_before = _examples(wh)
    finally:
        wh.close()
    assert examples_before.height == len(listed)  # every reviewed household is a training example
    report_before = _report(source, tmp_path / "report-before", "--allow-unencrypted")

    folder = tmp_path / "private"
    folder.mkdir(mode=0o700)
    db = folder / "redflags.duckdb"
    write_old_release(source, db, version=1, passphrase=KEY)
    monkeypatch.setenv("REDFLAGS_DB_KEY", KEY)
    assert main(["migrate", "--db", str(db)]) == 0

    # The same training examples and the same report, from the converted file.
    wh = open_warehouse(db, must_exist=True)
    try:
        assert _examples(wh).equals(examples_before)
    finally:
        wh.close()
    report_after = _report(db, tmp_path / "report-after")
    assert report_after == report_before

    # The next week runs on it, and the outcomes still count.
    _run(extracts, db, tmp_path / "out-next", NEXT)
    assert (tmp_path / "out-next" / NEXT.isoformat() / "review_list.csv").exists()
    wh = open_warehouse(db, must_exist=True)
    try:
        after = _examples(wh)
        assert after.filter(pl.col("listed_on") == AS_OF).equals(examples_before)
        assert wh.con.sql("select count(*) from outcomes").fetchall() == [(len(listed),)]
    finally:
        wh.close()
    report_next = _report(db, tmp_path / "report-next")
    outcomes_csv = "outcomes_weekly.csv"
    first_week = [line for line in report_next[outcomes_csv].splitlines() if AS_OF.isoformat() in line]
    # the reviewed week's outcomes, counted as before the conversion (referred and no concern both recorded)
    table = list(csv.DictReader(report_next[outcomes_csv].splitlines()))
    reviewed = [r for r in table if AS_OF.isoformat() in ",".join(r.values())]
    assert reviewed and all(r["new_concern_referred"] not in ("", "0") for r in reviewed)
    assert all(r["no_concern"] not in ("", "0") for r in reviewed)
    assert first_week == [
        line for line in report_before[outcomes_csv].splitlines() if AS_OF.isoformat() in line
    ]
