"""Without the key, the database of an ordinary run says nothing of who is flagged, known or reviewed.

A small synthetic landlord goes through `redflags run`, then reviewers' outcomes are imported. The needles are
what the issue names: the references of every listed household (tenancy, property, and the job, recharge and
case references of its evidence), of every household with a live domestic-abuse marker (the answer key's known
cases, which the list suppresses), the list's reasons, the reviewers' names and rationales, the outcome values,
every marker (as delivered and as the mapping's value map makes it) and the importer's login. None may be in
the bytes of the database or its write-ahead log (read while a connection still holds the outcomes in the WAL),
and a keyless DuckDB connection reading every text column of every table must find none. File modes are
checked after create, after the run and after purge. Slow: whole flows.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import stat
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.cli.main import main
from pipelines.outcomes.records import import_outcomes
from pipelines.synth.standard import write_landlord
from pipelines.warehouse.audit import audit_events
from pipelines.warehouse.connection import open_warehouse, query
from pipelines.warehouse.references import REFERENCE_COLUMNS, reveal

AS_OF = dt.date(2025, 6, 29)
REVIEWERS = ("Planted Reviewer Okonkwo", "Planted Reviewer Szymanska")
LOGIN = "planted.login.wojcik"  # who imported the outcomes: the audit trail's actor
OUTCOMES = ("no_concern", "new_concern_referred")
RATIONALE = "planted rationale: spoke to the tenant about the door"
pytestmark = pytest.mark.slow


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def landlord(tmp_path_factory: pytest.TempPathFactory) -> Path:
    extracts = tmp_path_factory.mktemp("landlord") / "extracts"
    write_landlord(extracts, homes=400, years=2, seed=19, as_of=AS_OF)
    return extracts


def _run(landlord: Path, db: Path, out: Path) -> None:
    code = main(
        [
            "run",
            "--extracts",
            str(landlord),
            "--mapping",
            str(landlord / "mapping.yaml"),
            "--as-of",
            AS_OF.isoformat(),
            "--db",
            str(db),
            "--out",
            str(out),
        ]
    )
    assert code == 0


def _needles(landlord: Path, out: Path) -> dict[str, set[str]]:
    folder = out / AS_OF.isoformat()
    listed = _rows(folder / "review_list.csv")
    evidence = [r for team in folder.iterdir() if team.is_dir() for r in _rows(team / "evidence.csv")]
    key = _rows(landlord.parent / "extracts_answer_key.csv")
    needles = {
        "listed tenancy": {r["tenancy_ref"] for r in listed},
        "listed property": {r["property_ref"] for r in listed if r["property_ref"]},
        "evidence record": {r["record_ref"] for r in evidence if r["record_ref"]},
        "known tenancy": {k["tenancy_ref"] for k in key if k["kind"] == "known_case"},
        "reasons": {r["reasons"] for r in listed},
        "reviewer": set(REVIEWERS),
        "rationale": {RATIONALE},
        "login": {LOGIN},
        "outcome": set(OUTCOMES),
        # every marker as delivered and as the mapping's value map makes it (what ingest stores)
        "marker": _markers(landlord),
    }
    assert all(needles.values()), {k: len(v) for k, v in needles.items()}  # the run listed and explained
    assert any(ref.startswith(("RC", "WO")) for ref in needles["evidence record"])  # jobs and recharges too
    return needles


def _markers(landlord: Path) -> set[str]:
    delivered = {r["marker"] for f in (landlord / "known_cases").glob("*.csv") for r in _rows(f)}
    mapping = yaml.safe_load((landlord / "mapping.yaml").read_text(encoding="utf-8"))
    mapped = mapping["extracts"]["known_cases"]["values"]["marker"]
    return delivered | {mapped.get(m, m) for m in delivered}


def _found_in_bytes(data: bytes, needles: dict[str, set[str]]) -> dict[str, set[str]]:
    found = {k: {v for v in vs if v.encode() in data} for k, vs in needles.items()}
    return {k: v for k, v in found.items() if v}


def _text_values(db: Path) -> set[str]:
    """Every value of every VARCHAR and VARCHAR[] column of every table, as a keyless DuckDB connection reads it
    (a copy of the files is opened, so the write-ahead log is replayed as any reader would)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.sql(
            "select table_name, column_name, data_type from information_schema.columns"
            " where table_schema = 'main' and data_type in ('VARCHAR', 'VARCHAR[]')"
        ).fetchall()
        assert len(columns) > 40  # every raw table, the list, outcomes, audit, ...
        values: set[str] = set()
        for table, column, kind in columns:
            expr = f'unnest("{column}")' if kind == "VARCHAR[]" else f'"{column}"'
            values |= {
                str(v)
                for (v,) in con.sql(f'select distinct {expr} from "{table}"').fetchall()
                if v is not None
            }
        return values
    finally:
        con.close()


def _found_in_values(values: set[str], needles: dict[str, set[str]]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for kind, wanted in needles.items():
        hits = {w for w in wanted if any(w in v for v in values)}
        if hits:
            found[kind] = hits
    return found


def _copy_open_files(db: Path, to: Path) -> Path:
    """The database and its write-ahead log as they are on disk now (a backup taken mid-run would see this)."""
    to.mkdir()
    copy = to / db.name
    shutil.copyfile(db, copy)
    wal = Path(f"{db}.wal")
    assert wal.exists(), "the outcomes should still be in the write-ahead log"
    shutil.copyfile(wal, Path(f"{copy}.wal"))
    return copy


def test_a_run_leaves_no_household_reviewer_or_reason_in_clear(
    landlord: Path, tmp_path: Path, db_key: str
) -> None:
    db, out = tmp_path / "private" / "rf.duckdb", tmp_path / "out"
    _run(landlord, db, out)
    needles = _needles(landlord, out)

    # After the run: owner-only database, spill folder and the folder made for them.
    assert _mode(db) == 0o600 and _mode(db.parent) == 0o700 and _mode(Path(f"{db}.tmp")) == 0o700

    # Reviewers fill the list; the import's rows stay in the write-ahead log while the connection is open.
    listed = _rows(out / AS_OF.isoformat() / "review_list.csv")
    sheet = tmp_path / "filled.csv"
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*listed[0].keys()])
        writer.writeheader()
        for i, row in enumerate(listed):
            writer.writerow(
                {**row, "outcome": OUTCOMES[i % 2], "reviewer": REVIEWERS[i % 2], "rationale": RATIONALE}
            )
    wh = open_warehouse(db, must_exist=True)
    try:
        result = import_outcomes(wh, sheet, values=OUTCOMES, actor=LOGIN)
        assert result.applied_total == len(listed)
        assert _mode(Path(f"{db}.wal")) == 0o600
        data = db.read_bytes() + Path(f"{db}.wal").read_bytes()
        copy = _copy_open_files(db, tmp_path / "copy")
        # the control: with the key the same rows read back as the landlord's references and the names typed
        stored = reveal(
            wh.con, wh.cipher, query(wh.con, "select tenancy_ref from outcomes"), REFERENCE_COLUMNS
        )
        assert set(stored["tenancy_ref"]) == needles["listed tenancy"]
        names = wh.cipher.decrypt_many(
            [r[0] for r in wh.con.sql("select reviewer_enc from outcomes").fetchall()]
        )
        assert set(names) == set(REVIEWERS)
        assert set(
            wh.cipher.decrypt_many([r[0] for r in wh.con.sql("select outcome_enc from outcomes").fetchall()])
        ) == set(OUTCOMES)
        assert LOGIN in set(audit_events(wh.con, cipher=wh.cipher)["actor"])
        markers = wh.con.sql("select distinct decrypt_text(marker_enc) from raw_known_cases").fetchall()
        assert {m for (m,) in markers} <= needles["marker"] and len(markers) >= 3
    finally:
        wh.close()

    assert _found_in_bytes(data, needles) == {}
    assert _found_in_bytes(db.read_bytes(), needles) == {}  # and after the checkpoint at close
    values = _text_values(copy)
    assert _found_in_values(values, needles) == {}

    # The checks can fail: one clear reference written into the copy is seen by both.
    planted = sorted(needles["known tenancy"])[0]
    con = duckdb.connect(str(copy))
    con.execute("insert into meta values ('planted', ?)", [planted])
    con.close()
    assert _found_in_values(_text_values(copy), needles) == {"known tenancy": {planted}}
    assert "known tenancy" in _found_in_bytes(copy.read_bytes(), needles)

    # After purge (everything expired years later): the rewritten file is owner-only too.
    today = dt.date.today()
    assert main(["purge", "--db", str(db), "--today", today.isoformat()]) == 0
    assert _mode(db) == 0o600 and not Path(f"{db}.wal").exists()
    assert _found_in_bytes(db.read_bytes(), needles) == {}


def test_files_are_owner_only_from_creation(tmp_path: Path, db_key: str) -> None:
    before = os.umask(0o022)  # a permissive default, as on many servers
    try:
        db = tmp_path / "new" / "deeper" / "rf.duckdb"
        wh = open_warehouse(db)
        wh.con.execute("create table t as select range as x from range(10)")  # a write: the WAL appears
        wal = Path(f"{db}.wal")
        assert wal.exists() and _mode(wal) == 0o600
        assert _mode(db) == 0o600
        assert _mode(db.parent) == 0o700 and _mode(db.parent.parent) == 0o700
        assert _mode(Path(f"{db}.tmp")) == 0o700
        wh.close()
        assert _mode(db) == 0o600
    finally:
        os.umask(before)


def test_spill_files_go_to_the_private_folder(tmp_path: Path, db_key: str) -> None:
    db = tmp_path / "rf.duckdb"
    wh = open_warehouse(db)
    try:
        folder = Path(wh.con.sql("select current_setting('temp_directory')").fetchall()[0][0])
        assert folder == Path(f"{db}.tmp") and _mode(folder) == 0o700
        # a temporary table larger than the memory allowed is kept in spill files
        wh.con.execute("set memory_limit = '64MB'; set threads = 1")
        wh.con.execute(
            "create temp table big as select md5(range::varchar) || md5((range * 7)::varchar) as v"
            " from range(1500000)"
        )
        spilled = [Path(p) for (p,) in wh.con.sql("select path from duckdb_temporary_files()").fetchall()]
        assert spilled and all(p.parent == folder for p in spilled)
        assert all(_mode(p) == 0o600 for p in spilled if p.exists())
    finally:
        wh.close()
