"""Encryption at rest: free text never reaches the file in clear; a missing or wrong key is refused clearly
and changes nothing; whole-file encryption where DuckDB can write it; key rotation. References, reasons and
reviewers of a real run: tests/pipelines/warehouse/test_identities_at_rest.py."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.cli.main import main
from pipelines.warehouse.audit import verify_audit_chain
from pipelines.warehouse.connection import (
    Warehouse,
    WarehouseError,
    open_warehouse,
    quote_identifier_sql,
)
from pipelines.warehouse.crypto import attach_native, native_encryption_available, native_file_key
from pipelines.warehouse.rotation import rotate_key

KEY = "at-rest-test-key-1"
NEW_KEY = "at-rest-test-key-2-longer"
PLANTED = [b"PLANTEDREPAIRWORD", b"PLANTEDRECHARGEWORD", b"PLANTEDASBWORD", b"PLANTEDRATIONALEWORD"]
ROWS = 200  # enough to fill real storage blocks, not only the write-ahead log


def _insert_planted(wh: Warehouse) -> None:
    """Rows written the way ingest writes them: the text goes through FieldCipher.encrypt_many into *_enc."""
    con, cipher = wh.con, wh.cipher
    frame = pl.DataFrame(
        {
            "i": range(ROWS),
            "row": range(2, ROWS + 2),
            **{
                name: pl.Series(
                    cipher.encrypt_many([f"{w.decode()} {i} tnt reports FED kicked in" for i in range(ROWS)]),
                    dtype=pl.Binary,
                )
                for name, w in zip(("repair", "recharge", "asb", "rationale"), PLANTED, strict=True)
            },
        }
    )
    con.register("planted", frame)
    con.execute(
        "insert into raw_repairs (job_ref, property_ref, reported_at, description_enc, file_id, source_row,"
        " known_on) select 'J' || i, 'P1', timestamp '2025-01-06 09:00', repair, 1, row, date '2025-01-12'"
        " from planted"
    )
    con.execute(
        "insert into raw_recharges (recharge_ref, tenancy_ref, raised_at, amount_gbp, reason_enc, file_id,"
        " source_row, known_on) select 'R' || i, 'T1', date '2025-01-06', 50, recharge, 2, row,"
        " date '2025-01-12' from planted"
    )
    con.execute(
        "insert into raw_asb (case_ref, tenancy_ref, opened_at, category, description_enc, file_id,"
        " source_row, known_on) select 'A' || i, 'T1', date '2025-01-06', 'noise', asb, 3, row,"
        " date '2025-01-12' from planted"
    )
    con.execute(
        "insert into outcomes select i, 'L1', date '2025-01-12', 'T1', rationale, rationale, rationale,"
        " date '2025-01-13', timestamp '2025-01-13 10:00', 'list.csv', row from planted"
    )
    con.unregister("planted")


def _file_bytes(path: Path) -> bytes:
    """The database file and its write-ahead log, if any: what `strings` would read."""
    wal = Path(f"{path}.wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _found(data: bytes) -> list[bytes]:
    lowered = data.lower()
    return [w for w in PLANTED if w.lower() in lowered]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_planted_words_never_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    wh = open_warehouse(path, key=KEY)
    _insert_planted(wh)
    assert _found(_file_bytes(path)) == []  # while open: the write-ahead log holds the new rows
    wh.close()
    assert _found(_file_bytes(path)) == []  # closed and checkpointed
    wh = open_warehouse(path, key=KEY)  # and the text is all there for the right key
    token = wh.con.sql("select description_enc from raw_repairs where job_ref = 'J7'").fetchall()[0][0]
    assert wh.cipher.decrypt(token) == "PLANTEDREPAIRWORD 7 tnt reports FED kicked in"
    wh.close()


def test_the_check_would_see_unencrypted_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the same rows in a test-data-only unencrypted database are readable in the file.

    It repeats test_planted_words_never_reach_the_file step for step (same storage settings, same scans while
    open and after close) with the key as the only difference, so the absence there is due to the key alone.
    """
    # open_warehouse falls back to REDFLAGS_DB_KEY: with a key in the environment (a developer's shell, or a
    # test that left one behind) this database would be field-encrypted and the control would see nothing.
    monkeypatch.delenv("REDFLAGS_DB_KEY", raising=False)
    path = tmp_path / "plain.duckdb"
    wh = open_warehouse(path, allow_unencrypted=True)
    assert not wh.cipher.encrypts
    assert wh.con.sql("select value from meta where key = 'encryption'").fetchall() == [("none",)]
    _insert_planted(wh)
    assert _found(_file_bytes(path)) == PLANTED  # while open
    wh.close()
    assert _found(_file_bytes(path)) == PLANTED  # closed and checkpointed


@pytest.fixture
def encrypted_db(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    wh = open_warehouse(path, key=KEY)
    _insert_planted(wh)
    wh.close()
    return path


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "redflags purge: this database is encrypted: set REDFLAGS_DB_KEY to its key"),
        (
            "wrong-key",
            "redflags purge: the key in REDFLAGS_DB_KEY is not the key this database was created with",
        ),
    ],
)
def test_missing_or_wrong_key_is_one_sentence_and_changes_nothing(
    encrypted_db: Path,
    key: str | None,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if key is None:
        monkeypatch.delenv("REDFLAGS_DB_KEY", raising=False)
    else:
        monkeypatch.setenv("REDFLAGS_DB_KEY", key)
    before = (_sha256(encrypted_db), sorted(p.name for p in encrypted_db.parent.iterdir()))
    # even --allow-unencrypted does not open an encrypted database without its key
    assert (
        main(["purge", "--db", str(encrypted_db), "--allow-unencrypted", "--today", "2025-06-30"]) == 3
    )  # the database could not be opened
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith(message)
    assert len(err.splitlines()) == 1
    assert "Traceback" not in captured.err + captured.out
    assert (_sha256(encrypted_db), sorted(p.name for p in encrypted_db.parent.iterdir())) == before


def test_a_missing_key_opens_only_a_test_database_and_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REDFLAGS_DB_KEY", raising=False)
    path = tmp_path / "plain.duckdb"
    open_warehouse(path, allow_unencrypted=True).close()
    before = _sha256(path)
    assert main(["purge", "--db", str(path), "--today", "2025-06-30"]) == 3
    err = capsys.readouterr().err
    assert "created unencrypted (test data only); pass --allow-unencrypted" in err
    assert _sha256(path) == before
    assert main(["purge", "--db", str(path), "--today", "2025-06-30", "--allow-unencrypted"]) == 0


def test_no_key_never_creates_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDFLAGS_DB_KEY", raising=False)
    with pytest.raises(WarehouseError, match="REDFLAGS_DB_KEY is not set"):
        open_warehouse(tmp_path / "new.duckdb")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_run_without_a_key_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REDFLAGS_DB_KEY", raising=False)
    extracts = tmp_path / "extracts"
    extracts.mkdir()
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("landlord: Test\nextracts: {}\n", encoding="utf-8")
    db = tmp_path / "w.duckdb"
    code = main(
        [
            "run",
            "--extracts",
            str(extracts),
            "--mapping",
            str(mapping),
            "--as-of",
            "2025-01-12",
            "--db",
            str(db),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 3
    assert "REDFLAGS_DB_KEY is not set" in capsys.readouterr().err
    assert not db.exists()
    assert not (tmp_path / "out").exists()


# --- whole-file (native) encryption -----------------------------------------------------------------------


def _httpfs_loadable() -> bool:
    con = duckdb.connect()
    try:
        con.execute("load httpfs")
        return True
    except duckdb.Error:
        return False
    finally:
        con.close()


def test_native_encryption_is_detected_at_runtime() -> None:
    # DuckDB 2.0 can write encrypted files only with httpfs's crypto; without it the module is read-only.
    assert native_encryption_available() is _httpfs_loadable()
    assert native_encryption_available() is native_encryption_available()  # probed once, then cached


def _unsafe_crypto_connection() -> duckdb.DuckDBPyConnection:
    """Lets this DuckDB write encrypted files with its built-in (not secure) crypto, to test the wiring."""
    con = duckdb.connect()
    con.execute("set force_mbedtls_unsafe = 'true'")
    return con


def test_attach_native_encrypts_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "native.duckdb"
    con = _unsafe_crypto_connection()
    attach_native(con, str(path), KEY)
    con.execute("create table t as select 'PLANTEDCLEARWORD T' || range as tenancy_ref from range(500)")
    con.close()
    assert b"PLANTEDCLEARWORD" not in _file_bytes(path)  # even columns stored in clear are encrypted
    with pytest.raises(duckdb.Error, match="encrypted"):
        duckdb.connect(str(path))
    con = _unsafe_crypto_connection()
    with pytest.raises(duckdb.Error):
        attach_native(con, str(path), "wrong passphrase")
    con.close()
    con = duckdb.connect()
    attach_native(con, str(path), KEY, read_only=True)
    assert con.sql("select count(*) from t").fetchall() == [(500,)]  # the default catalog is the database
    con.close()


def test_native_file_key_is_derived_not_the_passphrase() -> None:
    key = native_file_key(KEY)
    assert len(key) == 64 and KEY not in key
    assert native_file_key(KEY) == key
    assert native_file_key(NEW_KEY) != key


def test_attach_native_rejects_an_odd_alias(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="alias"):
        attach_native(duckdb.connect(), str(tmp_path / "x.duckdb"), KEY, alias='wh"; drop table t; --')


# --- key rotation -------------------------------------------------------------------------------------------


def test_quote_identifier_sql() -> None:
    assert quote_identifier_sql("raw_repairs") == '"raw_repairs"'
    for bad in ('a"b', "Raw", "a b", "", "t;drop", "é"):
        with pytest.raises(ValueError):
            quote_identifier_sql(bad)


def _values(wh: Warehouse) -> list[str | None]:
    tokens = wh.con.sql(
        "select description_enc from raw_repairs union all select reason_enc from raw_recharges"
        " union all select description_enc from raw_asb union all select rationale_enc from outcomes"
    ).fetchall()
    return sorted(wh.cipher.decrypt_many([t[0] for t in tokens]), key=str)


def _wrapped_key(wh: Warehouse) -> str:
    return str(wh.con.sql("select value from meta where key = 'wrapped_key'").fetchall()[0][0])


def test_rotate_key_rewraps_the_data_key(encrypted_db: Path) -> None:
    wh = open_warehouse(encrypted_db, key=KEY)
    wh.con.execute(
        "insert into raw_repairs (job_ref, property_ref, reported_at, file_id, source_row, known_on)"
        " values ('JNULL', 'P1', timestamp '2025-01-06 09:00', 1, 999, date '2025-01-12')"
    )
    before = _values(wh)
    old_wrapping = _wrapped_key(wh)
    old_pseudonym = wh.cipher.pseudonyms(["T1"])[0]
    wh.close()

    rotate_key(encrypted_db, KEY, NEW_KEY)

    with pytest.raises(WarehouseError, match="not the key"):
        open_warehouse(encrypted_db, key=KEY)
    wh = open_warehouse(encrypted_db, key=NEW_KEY)
    assert _values(wh) == before  # every value reads as before under the new passphrase
    assert len(before) == 801 and before.count(None) == 1
    assert wh.cipher.pseudonyms(["T1"])[0] == old_pseudonym  # joins with what is stored still work
    assert _wrapped_key(wh) != old_wrapping
    events = wh.con.sql("select action, detail from audit_log").fetchall()
    assert [e[0] for e in events] == ["key_rotated"]
    assert json.loads(events[0][1]) == {"data_key": "rewrapped"}
    assert verify_audit_chain(wh.con).ok
    wh.close()
    data = _file_bytes(encrypted_db)
    assert old_wrapping.encode() not in data  # the old wrapping left the file (the file was rewritten)
    assert _found(data) == []


def test_rotate_key_is_all_or_nothing(encrypted_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> int:
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr("pipelines.warehouse.rotation.record_event", refuse)
    with pytest.raises(RuntimeError):
        rotate_key(encrypted_db, KEY, NEW_KEY)
    wh = open_warehouse(encrypted_db, key=KEY)  # still the old key, every value still readable with it
    assert len(_values(wh)) == 800
    wh.close()


@pytest.mark.parametrize(
    ("new_key", "message"),
    [
        (KEY, "must be set and differ"),
        ("short", "too short"),
    ],
)
def test_rotate_key_refuses_a_poor_new_key(encrypted_db: Path, new_key: str, message: str) -> None:
    before = _sha256(encrypted_db)
    with pytest.raises(WarehouseError, match=message):
        rotate_key(encrypted_db, KEY, new_key)
    assert _sha256(encrypted_db) == before


def test_cli_rekey(
    encrypted_db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REDFLAGS_DB_KEY", KEY)
    monkeypatch.delenv("REDFLAGS_NEW_DB_KEY", raising=False)
    assert main(["rekey", "--db", str(encrypted_db)]) == 1
    assert "REDFLAGS_NEW_DB_KEY is not set" in capsys.readouterr().err
    monkeypatch.setenv("REDFLAGS_NEW_DB_KEY", NEW_KEY)
    monkeypatch.setenv("REDFLAGS_DB_KEY", "not-the-key")
    assert main(["rekey", "--db", str(encrypted_db)]) == 3
    assert "not the key this database was created with" in capsys.readouterr().err
    monkeypatch.setenv("REDFLAGS_DB_KEY", KEY)
    monkeypatch.setenv("REDFLAGS_NEW_DB_KEY", NEW_KEY)
    assert main(["rekey", "--db", str(encrypted_db)]) == 0
    assert "now locked by the new key" in capsys.readouterr().out
    open_warehouse(encrypted_db, key=NEW_KEY).close()
