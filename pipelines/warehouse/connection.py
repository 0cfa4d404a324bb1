"""Opening the DuckDB warehouse, checking its key, and running SQL models from ``sql/``.

Every command opens the database through :func:`open_warehouse`; nothing else calls ``duckdb.connect`` on it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.core.errors import UserError
from pipelines.core.paths import sql_text
from pipelines.warehouse.crypto import (
    KEY_ENV,
    FieldCipher,
    KeyError_,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)

log = logging.getLogger(__name__)

# 1: field-encrypted text; 2: references as keyed pseudonyms, a wrapped data key; 3: markers, outcomes and the
# audit trail's actors encrypted. `redflags migrate` converts an older database (pipelines/warehouse/migration.py).
SCHEMA_VERSION = "3"


class WarehouseError(UserError):
    """A problem opening the warehouse, phrased for the person running the command."""

    exit_code = 3  # the database could not be opened (docs/contract.md: exit codes)


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


def _lock_holder(message: str) -> str | None:
    """The process holding DuckDB's lock, named from the lock error (``... held in <program> (PID n)``):
    its command line when this machine can read it, else the program; None when the error is not a lock."""
    found = _LOCK_HOLDER.search(message)
    if found is None:
        return None
    pid = found["pid"]
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        # the program and its first two words, paths shortened to their names: "python3 redflags run"
        program = " ".join(Path(a.decode(errors="replace")).name for a in argv[:3] if a)
    except OSError:
        program = Path(found["exe"]).name
    return f"process {pid} ({program})"


@dataclass
class Warehouse:
    con: duckdb.DuckDBPyConnection
    cipher: FieldCipher
    path: str

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def query(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """Run one statement with bound values and return it as a polars frame (the one place results convert)."""
    return con.sql(sql, params=dict(params) if params else None).pl()


def model_sql(name: str) -> str:
    """The SELECT text of a SQL model file, without its trailing semicolon."""
    return sql_text(name).strip().rstrip(";")


def run_model(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> pl.DataFrame:
    """Run the SQL model ``sql/<name>.sql`` with bound parameters and return its rows."""
    return query(con, model_sql(name), params)


def materialise_model(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    table: str | None = None,
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


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql_text("warehouse/schema"))


def owner_only() -> None:
    """Make every file and folder this process creates from now on owner-only (umask 077; it only tightens).

    DuckDB creates the database, its write-ahead log (at the first write after each checkpoint) and its spill
    files itself, with the process's umask: only a umask makes them 0600 from their first byte. The product's
    other files (lists, reports) are owner-only already, so the process keeps it."""
    current = os.umask(0o077)
    os.umask(current | 0o077)


def temp_folder(db_path: str) -> Path:
    """DuckDB's spill folder for this database: ``<database>.tmp`` beside it, created 0700."""
    folder = Path(f"{db_path}.tmp")
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def remove_warehouse(db_path: str | os.PathLike[str]) -> None:
    """Delete a (closed) throw-away warehouse: the file, its write-ahead log and its spill folder."""
    import shutil

    path = Path(db_path)
    path.unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)
    shutil.rmtree(f"{path}.tmp", ignore_errors=True)


def connect_file(path: str, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` with owner-only files and the spill folder beside the database (never /tmp)."""
    if path == ":memory:":
        return duckdb.connect(path)
    owner_only()
    parent = Path(path).parent
    if not parent.exists():
        parent.mkdir(mode=0o700, parents=True)
    config: dict[str, str | bool | int | float | list[str]] = {"temp_directory": str(temp_folder(path))}
    con = duckdb.connect(path, read_only=read_only, config=config)
    with contextlib.suppress(OSError):  # a file made by an older version, or by another owner
        os.chmod(path, 0o600)
    return con


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
        con = connect_file(path, read_only=read_only and exists)
    except duckdb.IOException as exc:
        holder = _lock_holder(str(exc))
        if holder is not None:
            raise WarehouseError(
                f"the database {path} is in use by another {holder}; try again when it finishes"
            ) from None
        raise WarehouseError(f"cannot open the database {path}: {exc}") from None
    except duckdb.Error as exc:
        raise WarehouseError(
            f"{path} is not a database this program can open ({type(exc).__name__})"
        ) from None
    try:
        cipher = _check_key(
            con, passphrase, allow_unencrypted, creating=not exists, read_only=read_only, path=path
        )
    except BaseException:
        con.close()
        raise
    register_functions(con, cipher)
    return Warehouse(con=con, cipher=cipher, path=path)


def write_new_meta(
    con: duckdb.DuckDBPyConnection, passphrase: str | None, data_key: bytes | None
) -> FieldCipher:
    """Record a new database's encryption in ``meta``: none (``data_key`` None: test data only), or
    ``data_key`` wrapped by the passphrase under a fresh salt, with a token that proves a key right or wrong."""
    if data_key is None or passphrase is None:
        con.execute("insert into meta values ('encryption', 'none'), ('schema_version', ?)", [SCHEMA_VERSION])
        return FieldCipher(None)
    salt = secrets.token_bytes(16)
    cipher = FieldCipher(data_key)
    con.execute(
        "insert into meta values ('encryption', 'aes-256-gcm/scrypt-wrapped'), ('schema_version', ?),"
        " ('kdf_salt', ?), ('wrapped_key', ?), ('key_check', ?)",
        [
            SCHEMA_VERSION,
            salt.hex(),
            wrap_data_key(data_key, passphrase, salt).hex(),
            cipher.check_token().hex(),
        ],
    )
    return cipher


def schema_version_number(version: str | None) -> int | None:
    """The schema version recorded in ``meta`` as a number (a database without one is version 1); None when it
    is not a version any release wrote."""
    if version is None:
        return 1
    return int(version) if version.isdigit() and version != "0" else None


def check_schema_version(version: str | None, path: str = "<database>") -> None:
    """Refuse, in one sentence, a database made by another release: an older one can be migrated, a newer or
    unknown one cannot be opened by this program."""
    number = schema_version_number(version)
    if number == int(SCHEMA_VERSION):
        return
    if number is None:
        raise WarehouseError(
            f"this database records schema version {version!r}, which no release of this program wrote; it was "
            "left as it was"
        )
    if number > int(SCHEMA_VERSION):
        raise WarehouseError(
            f"this database was made by a newer release (schema {number}; this program reads {SCHEMA_VERSION}): "
            "install that release to open it; the file was left as it was"
        )
    raise WarehouseError(
        f"this database was made by an earlier release (schema {number}): convert it with `redflags migrate "
        f"--db {path}` and its key, which keeps its outcomes, audit trail and lists"
    )


def register_functions(con: duckdb.DuckDBPyConnection, cipher: FieldCipher) -> None:
    """Give the connection (and its cursors) ``decrypt_text(blob) -> varchar``: how the SQL models read the
    values stored encrypted that they compare or group by (known-case markers, outcomes), in memory only.
    A connection opened without the key has no such function, so those models cannot run on it."""
    import functools

    from duckdb.func import FunctionNullHandling

    # Ingest encrypts each distinct value of a chunk once: the same few tokens repeat, so remember them.
    @functools.lru_cache(maxsize=4096)
    def decrypt(token: bytes) -> str | None:
        return cipher.decrypt(token)

    con.create_function(
        "decrypt_text",
        lambda token: None if token is None else decrypt(bytes(token)),
        [duckdb.sqltype("BLOB")],
        duckdb.sqltype("VARCHAR"),
        null_handling=FunctionNullHandling.SPECIAL,
        side_effects=False,
    )


def _check_key(
    con: duckdb.DuckDBPyConnection,
    passphrase: str | None,
    allow_unencrypted: bool,
    *,
    creating: bool,
    read_only: bool,
    path: str,
) -> FieldCipher:
    has_meta = bool(
        con.sql("select count(*) from information_schema.tables where table_name = 'meta'").fetchall()[0][0]
    )
    if not has_meta:
        if read_only:
            raise WarehouseError(
                "this database has no Repairs Red Flags tables yet; run `redflags run` first"
            )
        if not creating and con.sql("select count(*) from information_schema.tables").fetchall()[0][0]:
            raise WarehouseError("this file is a DuckDB database but not a Repairs Red Flags warehouse")
        if passphrase is None and not allow_unencrypted:
            raise WarehouseError(f"{KEY_ENV} is not set: refusing to create an unencrypted database")
        create_schema(con)
        return write_new_meta(con, passphrase, None if passphrase is None else new_data_key())
    meta = dict(con.sql("select key, value from meta").fetchall())
    check_schema_version(meta.get("schema_version"), path)
    if meta.get("encryption") == "none":
        if not allow_unencrypted:
            raise WarehouseError(
                "this database was created unencrypted (test data only); pass --allow-unencrypted to open it"
            )
        return FieldCipher(None)
    if passphrase is None:
        raise WarehouseError(f"this database is encrypted: set {KEY_ENV} to its key")
    try:
        cipher = FieldCipher(
            unwrap_data_key(bytes.fromhex(meta["wrapped_key"]), passphrase, bytes.fromhex(meta["kdf_salt"]))
        )
        cipher.verify_check_token(bytes.fromhex(meta["key_check"]))
    except KeyError_ as exc:
        raise WarehouseError(str(exc)) from None
    if not read_only:
        create_schema(con)  # idempotent: adds tables introduced by newer versions
    return cipher


class WarehouseBusy(WarehouseError):
    """Another process (the weekly run) holds the database's write lock: try again in a minute."""


def open_for_request(db_path: str | os.PathLike[str], cipher: FieldCipher, *, read_only: bool) -> Warehouse:
    """Open an existing warehouse for one short piece of work, with a key already derived and checked.

    For the web page, which opens the file only for the moment of each request so that the weekly run can take
    its write lock: deriving the key (scrypt) once per process, not per request, keeps a page fast. The key
    check is read again each time, so a key rotated while the page runs is refused, not used to decrypt.
    Raises :class:`WarehouseBusy` while another process holds the lock.
    """
    path = str(db_path)
    if not Path(path).exists():
        raise WarehouseError(f"there is no database at {path}; run `redflags run` first or pass --db")
    try:
        con = connect_file(path, read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy("the database is being updated; try again in a minute") from None
        raise WarehouseError(f"cannot open the database {path} ({type(exc).__name__})") from None
    try:
        meta = dict(con.sql("select key, value from meta").fetchall())
        check_schema_version(meta.get("schema_version"), path)
        if cipher.encrypts != (meta.get("encryption") != "none"):
            raise WarehouseError("the database's encryption is not what it was when the page started")
        if cipher.encrypts:
            cipher.verify_check_token(bytes.fromhex(meta["key_check"]))
    except KeyError_:
        con.close()
        raise WarehouseError("the database key has changed since the page started; restart it") from None
    except BaseException:
        con.close()
        raise
    register_functions(con, cipher)
    return Warehouse(con=con, cipher=cipher, path=path)


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


@contextmanager
def checkpoint_deferred(con: duckdb.DuckDBPyConnection, threshold: str = "1GB") -> Iterator[None]:
    """Raise DuckDB's automatic-checkpoint threshold for the block, then restore it.

    Temporary tables count towards the threshold (16 MB by default): building the feature models crossed it
    every week, and the checkpoint it set off compressed every temporary table (a fifth of the models' time;
    docs/scaling.md). A load's per-file commits would likewise checkpoint every 16 MB of WAL, writing data twice. The
    setting is the database's, so it is put back whatever happens.
    """
    before = con.sql("select current_setting('checkpoint_threshold')").fetchall()[0][0]
    con.execute("set checkpoint_threshold = $t", {"t": threshold})
    try:
        yield
    finally:
        con.execute("set checkpoint_threshold = $t", {"t": str(before)})


def next_id(con: duckdb.DuckDBPyConnection, sequence: str) -> int:
    if sequence not in {"seq_file_id", "seq_run_id", "seq_audit_id", "seq_ref_book"}:
        raise ValueError(sequence)
    return int(con.sql(f"select nextval('{sequence}')").fetchall()[0][0])


# --- Compaction and key rotation (docs/security.md) ---------------------------------------------------------


def quote_identifier_sql(name: str) -> str:
    """``name`` as a quoted SQL identifier; only plain lower-case names (as in schema.sql) are accepted."""
    if not name or not name.replace("_", "a").isalnum() or not name.isascii() or name != name.lower():
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


def compact_warehouse(db_path: str | os.PathLike[str]) -> None:
    """Rewrite the database file so deleted or replaced values leave it.

    DuckDB keeps the bytes of deleted rows and overwritten values in free blocks, even after CHECKPOINT and
    VACUUM; ``COPY FROM DATABASE`` into a fresh file (in an owner-only folder beside it, then renamed over it)
    does not carry them. Call with no connection open on the file.
    """
    import shutil
    import tempfile

    path = Path(db_path)
    folder = Path(tempfile.mkdtemp(prefix=".redflags-compact-", dir=path.parent))  # created 0o700
    fresh = folder / path.name
    try:
        con = connect_file(str(path), read_only=False)
        try:
            source = str(con.sql("select current_database()").fetchall()[0][0]).replace('"', '""')
            con.execute("attach ? as redflags_fresh", [str(fresh)])
            con.execute(f'copy from database "{source}" to redflags_fresh')
            con.execute("detach redflags_fresh")
        finally:
            con.close()
        if Path(f"{path}.wal").exists() or Path(f"{fresh}.wal").exists():
            raise WarehouseError(f"the database {path} was not closed cleanly; it was left as it was")
        os.chmod(fresh, 0o600)
        os.replace(fresh, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    log.info("database rewritten without free blocks")
