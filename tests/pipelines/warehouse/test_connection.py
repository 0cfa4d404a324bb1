from pathlib import Path

import pytest

from pipelines.warehouse.connection import WarehouseError, materialise_model, open_warehouse, query


def test_new_database_needs_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDFLAGS_DB_KEY", raising=False)
    with pytest.raises(WarehouseError, match="REDFLAGS_DB_KEY is not set"):
        open_warehouse(tmp_path / "w.duckdb")
    assert not (tmp_path / "w.duckdb").exists()


def test_wrong_key_is_a_clear_error_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    wh = open_warehouse(path, key="right")
    wh.con.execute("insert into meta values ('probe', 'x')")
    wh.close()
    before = path.read_bytes()
    with pytest.raises(WarehouseError, match="not the key this database was created with"):
        open_warehouse(path, key="wrong")
    assert path.read_bytes() == before
    wh = open_warehouse(path, key="right")
    assert query(wh.con, "select value from meta where key = 'probe'").item() == "x"
    wh.close()


def test_encrypted_database_refuses_missing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDFLAGS_DB_KEY", raising=False)
    open_warehouse(tmp_path / "w.duckdb", key="k").close()
    with pytest.raises(WarehouseError, match="is encrypted: set REDFLAGS_DB_KEY"):
        open_warehouse(tmp_path / "w.duckdb")


def test_unencrypted_database_must_be_opened_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDFLAGS_DB_KEY", raising=False)
    wh = open_warehouse(tmp_path / "w.duckdb", allow_unencrypted=True)
    assert not wh.cipher.encrypts
    wh.close()
    with pytest.raises(WarehouseError, match="created unencrypted"):
        open_warehouse(tmp_path / "w.duckdb")


def test_missing_database_is_not_silently_created(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="there is no database"):
        open_warehouse(tmp_path / "none.duckdb", key="k", must_exist=True)
    assert not (tmp_path / "none.duckdb").exists()


def test_a_foreign_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database")
    with pytest.raises(WarehouseError):
        open_warehouse(path, key="k")


def test_encrypted_text_round_trips_and_is_not_stored_in_clear(tmp_path: Path) -> None:
    wh = open_warehouse(":memory:", key="k")
    token = wh.cipher.encrypt("tnt reports FED kicked in")
    assert token is not None and b"kicked" not in token
    assert wh.cipher.decrypt(token) == "tnt reports FED kicked in"
    wh.close()


def test_materialise_model_refuses_odd_table_names() -> None:
    wh = open_warehouse(":memory:", allow_unencrypted=True)
    with pytest.raises(ValueError, match="not a valid model table name"):
        materialise_model(wh.con, "staging/x", table='x"; drop table meta; --')
    wh.close()
