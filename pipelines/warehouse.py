"""Opening the DuckDB warehouse, checking its key, and running SQL models from ``sql/``.

Every command opens the database through :func:`open_warehouse`; nothing else calls ``duckdb.connect`` on it.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.crypto import KEY_ENV, FieldCipher, KeyError_, derive_key
from pipelines.errors import UserError
from pipelines.paths import sql_text

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"


class WarehouseError(UserError):
    """A problem opening the warehouse, phrased for the person running the command."""


@dataclass
class Warehouse:
    con: duckdb.DuckDBPyConnection
    cipher: FieldCipher
    path: str

    def close(self) -> None:
        self.con.close()


def query(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """Run one statement with bound values and return it as a polars frame (the one place results convert)."""
    return con.sql(sql, params=dict(params) if params else None).pl()


def model_sql(name: str) -> str:
    """The SELECT text of a SQL model file, without its trailing semicolon."""
    return sql_text(name).strip().rstrip(";")


def run_model(con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """Run the SQL model ``sql/<name>.sql`` with bound parameters and return its rows."""
    return query(con, model_sql(name), params)


def materialise_model(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None, *, table: str | None = None
) -> str:
    """Create (or replace) a temporary table holding the model's rows; returns the table's name.

    Later models refer to earlier ones by their file name (``stg_repairs``), as dbt does.
    """
    table = table or name.rsplit("/", 1)[-1]
    if not table.replace("_", "").isalnum():
        raise ValueError(f"not a valid model table name: {table!r}")
    sql = f'create or replace temp table "{table}" as {model_sql(name)}'
    # Only the parameters the model uses may be bound: DuckDB rejects unused named parameters.
    text = model_sql(name)
    used = {k: v for k, v in (params or {}).items() if f"${k}" in text}
    con.execute(sql, used or None)
    return table


def _create_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql_text("warehouse/schema"))


def open_warehouse(
    db_path: str | os.PathLike[str],
    *,
    allow_unencrypted: bool = False,
    must_exist: bool = False,
    read_only: bool = False,
    key: str | None = None,
) -> Warehouse:
    """Open (or create) the warehouse and check its key.

    The key is the passphrase in ``REDFLAGS_DB_KEY`` unless given. A new database records whether it is encrypted;
    an encrypted database refuses a missing or wrong key before anything is read or written.
    """
    path = str(db_path)
    passphrase = key if key is not None else os.environ.get(KEY_ENV) or None
    exists = path != ":memory:" and Path(path).exists()
    if must_exist and not exists:
        raise WarehouseError(f"there is no database at {path}; run `redflags run` first or pass --db")
    if not exists and passphrase is None and not allow_unencrypted:
        raise WarehouseError(
            f"{KEY_ENV} is not set: the database holds sensitive case data and must be encrypted "
            "(set the key, or pass --allow-unencrypted for test data only)"
        )
    try:
        con = duckdb.connect(path, read_only=read_only and exists)
    except duckdb.IOException as exc:
        raise WarehouseError(f"cannot open the database {path}: {exc}") from None
    except duckdb.Error as exc:
        raise WarehouseError(f"{path} is not a database this program can open ({type(exc).__name__})") from None
    try:
        cipher = _check_key(con, passphrase, allow_unencrypted, creating=not exists, read_only=read_only)
    except BaseException:
        con.close()
        raise
    return Warehouse(con=con, cipher=cipher, path=path)


def _check_key(
    con: duckdb.DuckDBPyConnection,
    passphrase: str | None,
    allow_unencrypted: bool,
    *,
    creating: bool,
    read_only: bool,
) -> FieldCipher:
    has_meta = bool(
        con.sql("select count(*) from information_schema.tables where table_name = 'meta'").fetchall()[0][0]
    )
    if not has_meta:
        if read_only:
            raise WarehouseError("this database has no Repairs Red Flags tables yet; run `redflags run` first")
        if not creating and con.sql("select count(*) from information_schema.tables").fetchall()[0][0]:
            raise WarehouseError("this file is a DuckDB database but not a Repairs Red Flags warehouse")
        if passphrase is None and not allow_unencrypted:
            raise WarehouseError(f"{KEY_ENV} is not set: refusing to create an unencrypted database")
        _create_schema(con)
        if passphrase is None:
            con.execute("insert into meta values ('encryption', 'none'), ('schema_version', ?)", [SCHEMA_VERSION])
            return FieldCipher(None)
        salt = secrets.token_bytes(16)
        cipher = FieldCipher(derive_key(passphrase, salt))
        con.execute(
            "insert into meta values ('encryption', 'aes-256-gcm/scrypt'), ('schema_version', ?),"
            " ('kdf_salt', ?), ('key_check', ?)",
            [SCHEMA_VERSION, salt.hex(), cipher.check_token().hex()],
        )
        return cipher
    meta = dict(con.sql("select key, value from meta").fetchall())
    if meta.get("encryption") == "none":
        if not allow_unencrypted:
            raise WarehouseError(
                "this database was created unencrypted (test data only); pass --allow-unencrypted to open it"
            )
        return FieldCipher(None)
    if passphrase is None:
        raise WarehouseError(f"this database is encrypted: set {KEY_ENV} to its key")
    cipher = FieldCipher(derive_key(passphrase, bytes.fromhex(meta["kdf_salt"])))
    try:
        cipher.verify_check_token(bytes.fromhex(meta["key_check"]))
    except KeyError_ as exc:
        raise WarehouseError(str(exc)) from None
    if not read_only:
        _create_schema(con)  # idempotent: adds tables introduced by newer versions
    return cipher


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: commit when the block ends normally, roll back on any error."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def next_id(con: duckdb.DuckDBPyConnection, sequence: str) -> int:
    if sequence not in {"seq_file_id", "seq_run_id", "seq_audit_id"}:
        raise ValueError(sequence)
    return int(con.sql(f"select nextval('{sequence}')").fetchall()[0][0])
