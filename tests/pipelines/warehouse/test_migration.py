"""`redflags migrate`: a database of an earlier release becomes a current one with everything it held, and
nothing it held in clear stays readable; a failure part-way leaves the old file as it was.

The old databases are written from hand-made rows by ``old_release.write_old_release`` with that release's DDL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import stat
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.cli.main import main
from pipelines.warehouse import migration
from pipelines.warehouse.audit import audit_events, record_event, record_list_published, verify_audit_chain
from pipelines.warehouse.connection import WarehouseError, next_id, open_warehouse, query
from pipelines.warehouse.migration import migrate_warehouse
from pipelines.warehouse.references import REFERENCE_COLUMNS, reveal
from tests.pipelines.warehouse.old_release import write_old_release

KEY = "old-release-key-not-secret"
AS_OF = dt.date(2025, 3, 9)
# What the old file held in clear (schema 1: all of it; schema 2: the last four) and the new one must not.
REFS = {"T-OLDREF-0001", "T-OLDREF-0002", "T-OLDREF-0003", "P-OLDREF-0001", "J-OLDREF-0001"}
CLEAR = {
    "reasons": "planted reason: three lock changes",
    "reviewer": "Planted Reviewer Adebayo",
    "login": "planted.login.pryce",
    "marker": "Planted Marker MARAC",
    "outcome": "new_concern_referred",
}
TEXT = {"description": "planted description: door forced", "rationale": "planted rationale: called TST"}


def _current_unencrypted(path: Path) -> dict[str, int]:
    """A small database of the current schema, unencrypted (every value readable), with a published list,
    households carried forward, an outcome, audit events and kept features; returns rows per table."""
    wh = open_warehouse(path, allow_unencrypted=True)
    con, c = wh.con, wh.cipher
    con.execute(
        "insert into loaded_files values (1, 'repairs', 'r.csv', '/x/r.csv', 'abc', 10, 2, 2, 0, ?, now(), 1)",
        [AS_OF],
    )
    assert next_id(con, "seq_file_id") == 1
    con.execute(
        "insert into raw_properties values ('P-OLDREF-0001', 'B1', 'North', 'flat', 2, 1, 2, ?)", [AS_OF]
    )
    for i, t in enumerate(("T-OLDREF-0001", "T-OLDREF-0002", "T-OLDREF-0003")):
        con.execute(
            "insert into raw_tenancies values (?, 'P-OLDREF-0001', date '2020-01-01', null, 1, ?, ?)",
            [t, i + 2, AS_OF],
        )
    con.execute(
        "insert into raw_repairs (job_ref, property_ref, tenancy_ref, reported_at, description_enc, categories,"
        " file_id, source_row, known_on) values ('J-OLDREF-0001', 'P-OLDREF-0001', 'T-OLDREF-0001',"
        " timestamp '2025-03-01 10:00', ?, ['lock_change'], 1, 2, ?)",
        [c.encrypt(TEXT["description"]), AS_OF],
    )
    con.execute(
        "insert into raw_known_cases values ('T-OLDREF-0002', ?, date '2024-01-01', null, 1, 3, ?)",
        [c.encrypt(CLEAR["marker"]), AS_OF],
    )
    record_list_published(
        con,
        list_id="L1",
        as_of=AS_OF,
        listed=pl.DataFrame(
            {
                "rank": [1],
                "tenancy_ref": ["T-OLDREF-0001"],
                "property_ref": ["P-OLDREF-0001"],
                "team": ["repairs_admin"],
                "score": [7.5],
                "reasons": [CLEAR["reasons"]],
            }
        ),
        carried=pl.DataFrame({"tenancy_ref": ["T-OLDREF-0003"], "team": ["repairs_admin"], "score": [4.0]}),
        config_version="v1",
        config_fingerprint="f",
        rules_version="r1",
        thresholds={},
        actor="redflags run",
        cipher=c,
    )
    con.execute(
        "insert into outcomes values (1, 'L1', ?, 'T-OLDREF-0001', ?, ?, ?, ?, now(), 'L1.csv', 2)",
        [
            AS_OF,
            c.encrypt(CLEAR["outcome"]),
            c.encrypt(CLEAR["reviewer"]),
            c.encrypt(TEXT["rationale"]),
            AS_OF,
        ],
    )
    con.execute(
        "insert into review_list_features values ('L1', ?, 'T-OLDREF-0001', true, true, false, '{\"points\": 7}')",
        [AS_OF],
    )
    record_event(
        con, cipher=c, actor=CLEAR["login"], action="history_viewed", detail={}, tenancy_ref="T-OLDREF-0001"
    )
    counts = {
        t: int(con.sql(f'select count(*) from "{t}"').fetchall()[0][0])
        for (t,) in con.sql("select table_name from duckdb_tables()").fetchall()
    }
    wh.close()
    return counts


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _keyless_text(db: Path) -> set[str]:
    """Every VARCHAR value of every table as a DuckDB connection without the key reads it."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        values: set[str] = set()
        for table, column, kind in con.sql(
            "select table_name, column_name, data_type from information_schema.columns"
            " where data_type in ('VARCHAR', 'VARCHAR[]')"
        ).fetchall():
            expr = f'unnest("{column}")' if kind == "VARCHAR[]" else f'"{column}"'
            values |= {str(v) for (v,) in con.sql(f'select distinct {expr} from "{table}"').fetchall() if v}
        return values
    finally:
        con.close()


@pytest.fixture
def old_db(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, dict[str, int], int]:
    version = getattr(request, "param", 1)
    counts = _current_unencrypted(tmp_path / "source.duckdb")
    folder = tmp_path / "private"
    folder.mkdir(mode=0o700)
    db = folder / "rf.duckdb"
    write_old_release(tmp_path / "source.duckdb", db, version=version, passphrase=KEY)
    return db, counts, version


@pytest.mark.parametrize("old_db", [1, 2], indirect=True)
def test_an_old_database_is_converted_with_everything_it_held(
    old_db: tuple[Path, dict[str, int], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, counts, version = old_db
    before = db.read_bytes()
    clear_then = CLEAR if version == 1 else {k: CLEAR[k] for k in ("login", "marker", "outcome")}
    # the control: the old file holds them in clear (and schema 1 the references too)
    assert all(v.encode() in before for v in clear_then.values())
    assert all(r.encode() in before for r in REFS) == (version == 1)

    monkeypatch.setenv("REDFLAGS_DB_KEY", KEY)
    with pytest.raises(WarehouseError, match=r"earlier release.*redflags migrate --db .*rf.duckdb"):
        open_warehouse(db, must_exist=True)

    summary = migrate_warehouse(db, passphrase=KEY)
    assert (summary.from_version, summary.to_version) == (version, 3)
    expected = {t: n for t, n in counts.items() if t not in ("meta", "ref_books", "ref_index") and n}
    kept = {t: n for t, n in summary.rows.items() if n}
    assert {t: n for t, n in kept.items() if t not in ("ref_books", "ref_index")} == expected
    assert ("ref_index" in kept) == (version == 2)  # schema 2's books are copied; schema 1's made anew
    assert summary.references == (5 if version == 1 else 0) and summary.old_chain_ok
    sentence = summary.sentence(str(db))
    assert "converted from schema" in sentence and "1 outcomes" in sentence and "\n" not in sentence

    after = db.read_bytes()
    assert not Path(f"{db}.wal").exists()
    assert _mode(db) == 0o600 and _mode(db.parent) == 0o700
    assert [p.name for p in db.parent.iterdir() if p.name.startswith(".redflags-migrate")] == []
    assert {k: v for k, v in {**CLEAR, **TEXT}.items() if v.encode() in after} == {}
    assert {r for r in REFS if r.encode() in after} == set()
    text = _keyless_text(db)
    assert {v for v in [*CLEAR.values(), *TEXT.values(), *REFS] if any(v in t for t in text)} == set()

    # With the key, everything reads back as it was.
    wh = open_warehouse(db, must_exist=True)
    try:
        con, c = wh.con, wh.cipher
        outcomes = reveal(con, c, query(con, "select * from outcomes"), REFERENCE_COLUMNS)
        assert outcomes["tenancy_ref"].to_list() == ["T-OLDREF-0001"]
        assert c.decrypt_many(outcomes["outcome_enc"].to_list()) == [CLEAR["outcome"]]
        assert c.decrypt_many(outcomes["reviewer_enc"].to_list()) == [CLEAR["reviewer"]]
        assert c.decrypt_many(outcomes["rationale_enc"].to_list()) == [TEXT["rationale"]]
        listed = reveal(con, c, query(con, "select * from review_list_rows"), REFERENCE_COLUMNS)
        assert listed.select("tenancy_ref", "property_ref").row(0) == ("T-OLDREF-0001", "P-OLDREF-0001")
        assert c.decrypt_many(listed["reasons_enc"].to_list()) == [CLEAR["reasons"]]
        carried = reveal(con, c, query(con, "select tenancy_ref from carried_forward"), REFERENCE_COLUMNS)
        assert carried["tenancy_ref"].to_list() == ["T-OLDREF-0003"]
        features = reveal(
            con, c, query(con, "select tenancy_ref from review_list_features"), REFERENCE_COLUMNS
        )
        assert features["tenancy_ref"].to_list() == ["T-OLDREF-0001"]
        repairs = reveal(con, c, query(con, "select * from raw_repairs"), REFERENCE_COLUMNS)
        assert repairs.select("job_ref", "tenancy_ref").row(0) == ("J-OLDREF-0001", "T-OLDREF-0001")
        assert c.decrypt_many(repairs["description_enc"].to_list()) == [TEXT["description"]]
        # SQL reads markers and outcomes through the connection's decrypt_text
        assert con.sql("select decrypt_text(marker_enc) from raw_known_cases").fetchall() == [
            (CLEAR["marker"],)
        ]
        # the audit trail: the old chain verified, re-chained, the conversion recorded with counts
        assert verify_audit_chain(con).ok
        events = audit_events(con, cipher=c)
        assert events["action"].to_list() == ["list_published", "history_viewed", "database_migrated"]
        assert events["actor"].to_list()[1] == CLEAR["login"]
        detail = json.loads(events["detail"][2])
        assert detail["from_schema"] == version and detail["previous_chain_verified"] is True
        viewed = reveal(con, c, events.slice(1, 1).select("tenancy_ref"), REFERENCE_COLUMNS)
        assert viewed["tenancy_ref"].to_list() == ["T-OLDREF-0001"]
        if version == 1:
            # household references (tenancy, property) sealed apart from record references (job, case, ...),
            # as ingest stores them: the weekly turning back of every household opens the small book only
            books = {
                column: set(
                    query(
                        con,
                        f"select distinct i.book_id from {table} t join ref_index i on i.pseudonym = t.{column}",
                    )["book_id"].to_list()
                )
                for table, column in (("raw_repairs", "tenancy_ref"), ("raw_repairs", "job_ref"))
            }
            assert books["tenancy_ref"] and books["job_ref"] and not books["tenancy_ref"] & books["job_ref"]
        # sequences go on from the old file's
        assert next_id(con, "seq_file_id") == 2
        assert next_id(con, "seq_audit_id") == int(events["audit_id"].max()) + 1  # type: ignore[arg-type]
    finally:
        wh.close()
    # a second conversion has nothing to do
    settled = _digest(db)
    again = migrate_warehouse(db, passphrase=KEY)
    assert not again.changed and _digest(db) == settled


def test_a_failure_part_way_leaves_the_old_database_untouched(
    old_db: tuple[Path, dict[str, int], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _, _ = old_db
    digest = _digest(db)
    seen: list[tuple[int, int]] = []
    real = migration.copy_table

    def failing(con: duckdb.DuckDBPyConnection, cipher: object, table: str, refs_clear: bool) -> None:
        if table == "outcomes":
            fresh = Path(
                str(
                    con.sql(
                        "select path from duckdb_databases() where database_name = current_database()"
                    ).fetchall()[0][0]
                )
            )
            seen.append((_mode(fresh), _mode(fresh.parent)))  # the half-built copy: 0600 in a 0700 folder
            raise OSError("disk full (injected)")
        real(con, cipher, table, refs_clear)  # type: ignore[arg-type]

    monkeypatch.setattr(migration, "copy_table", failing)
    with pytest.raises(OSError, match="injected"):
        migrate_warehouse(db, passphrase=KEY)
    assert seen == [(0o600, 0o700)]
    assert _digest(db) == digest and not Path(f"{db}.wal").exists()
    assert sorted(p.name for p in db.parent.iterdir()) == ["rf.duckdb", "rf.duckdb.tmp"]
    monkeypatch.setattr(migration, "copy_table", real)
    assert migrate_warehouse(db, passphrase=KEY).changed  # and it can be converted afterwards


def test_a_wrong_or_missing_key_is_refused_before_anything_changes(
    old_db: tuple[Path, dict[str, int], int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db, _, _ = old_db
    digest = _digest(db)
    with pytest.raises(WarehouseError, match="not the key this database was created with"):
        migrate_warehouse(db, passphrase="another key entirely")
    monkeypatch.delenv("REDFLAGS_DB_KEY", raising=False)
    assert main(["migrate", "--db", str(db)]) == 3
    assert "set REDFLAGS_DB_KEY" in capsys.readouterr().err
    assert _digest(db) == digest
    monkeypatch.setenv("REDFLAGS_DB_KEY", KEY)
    assert main(["migrate", "--db", str(db)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0 and "converted from schema 1 to 3" in out


@pytest.mark.parametrize(("version", "says"), [("4", "newer release"), ("x", "no release of this program")])
def test_a_newer_or_unknown_version_is_refused(tmp_path: Path, db_key: str, version: str, says: str) -> None:
    db = tmp_path / "rf.duckdb"
    open_warehouse(db).close()
    con = duckdb.connect(str(db))
    con.execute("update meta set value = ? where key = 'schema_version'", [version])
    con.close()
    digest = _digest(db)
    with pytest.raises(WarehouseError, match=says) as refused:
        open_warehouse(db, must_exist=True)
    assert "\n" not in str(refused.value)
    with pytest.raises(WarehouseError, match="cannot convert"):
        migrate_warehouse(db, passphrase=db_key)
    assert _digest(db) == digest
    shutil.rmtree(f"{db}.tmp", ignore_errors=True)


def test_pseudonyms_of_a_list_with_gaps_line_up_with_their_references() -> None:
    """A None among the references (an audit row without a household) keeps every later pseudonym in place."""
    from pipelines.warehouse.crypto import FieldCipher

    cipher = FieldCipher(b"k" * 32)
    alone = [cipher.pseudonyms([r])[0] for r in ("T1", "T2")]
    assert cipher.pseudonyms([None, "T1", None, "T2"]) == [None, alone[0], None, alone[1]]
    assert all(p is not None and len(p) == 12 for p in alone) and alone[0] != alone[1]
