"""`redflags migrate`: convert a database made by an earlier release into the current schema, keeping everything.

Earlier releases' databases are refused by :func:`pipelines.warehouse.connection.open_warehouse` (one sentence
that names this command). What changed, by schema version:

- 1 (before keyed pseudonyms): references in clear; the list's reasons, reviewers' names, outcomes, markers and
  the audit trail's actors in clear; free text encrypted under a key derived directly from the passphrase.
- 2: references as keyed pseudonyms, a data key wrapped by the passphrase, reasons and reviewers encrypted;
  outcomes, markers and actors still in clear.
- 3 (now): outcomes, markers and actors encrypted too.

The conversion writes a **new file** in an owner-only folder beside the database (0700; the file 0600 from its
first byte), in one transaction: every table the current schema has is copied from the old file, references
pseudonymised (each clear reference sealed once in a book), values that are now encrypted encrypted, the audit
trail re-chained over what it now stores (the old chain is checked first and the result recorded), sequences
continued. Then the row count of every table is compared with the old file's, the file is closed, and only then
renamed over the old one (an atomic rename on one file system). Anything that fails before the rename leaves the
old database exactly as it was and removes the half-built file.

The data key stays the one the old file's text was encrypted under (for schema 1 the passphrase's scrypt key,
for schema 2 the wrapped data key): free text, the bulk of the file, is copied as it is, not re-encrypted. The
weekly run's kept feature rows (``cache_*``, ``feature_caches``) are not carried over: the next run recomputes
them in full.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipelines.warehouse.audit import chain_hashes, check_chain, record_event
from pipelines.warehouse.connection import (
    SCHEMA_VERSION,
    WarehouseError,
    connect_file,
    create_schema,
    quote_identifier_sql,
    schema_version_number,
    write_new_meta,
)
from pipelines.warehouse.crypto import KEY_ENV, FieldCipher, KeyError_, derive_key, unwrap_data_key
from pipelines.warehouse.references import (
    NEW_TABLE,
    REFERENCE_COLUMNS,
    distinct_references,
    store_new_references,
    with_pseudonyms,
)

log = logging.getLogger(__name__)

OLD = "redflags_old"  # the old file, attached read-only to the new one
_SEQUENCES = ("seq_file_id", "seq_run_id", "seq_audit_id", "seq_ref_book")
# Rebuilt by the next weekly run rather than copied (pipelines/scoring/incremental.py).
_NOT_CARRIED = ("feature_caches", "feature_cache_files")
_NOT_CARRIED_PREFIX = "cache_"


@dataclass
class MigrationSummary:
    """What :func:`migrate_warehouse` did: the versions, rows per table copied, references sealed."""

    from_version: int
    to_version: int
    rows: dict[str, int] = field(default_factory=dict)
    references: int = 0
    old_chain_ok: bool = True
    not_carried: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.from_version != self.to_version

    def sentence(self, path: str) -> str:
        if not self.changed:
            return f"{path} is already at schema {self.to_version}; nothing was changed"
        kept = ", ".join(
            f"{self.rows.get(t, 0):,} {label}"
            for t, label in (
                ("outcomes", "outcomes"),
                ("audit_log", "audit events"),
                ("review_list_rows", "list rows"),
                ("carried_forward", "households carried forward"),
            )
        )
        chain = "" if self.old_chain_ok else " (its audit trail did not verify before: recorded in the trail)"
        refs = f"{self.references:,} references pseudonymised, " if self.from_version < 2 else ""
        return (
            f"{path} converted from schema {self.from_version} to {self.to_version}{chain}: "
            f"{sum(self.rows.values()):,} rows in {len(self.rows)} tables kept ({kept}), "
            f"{refs}markers, outcomes, reasons, reviewers and audit actors encrypted"
        )


def migrate_warehouse(
    db_path: str | os.PathLike[str], *, passphrase: str | None, allow_unencrypted: bool = False
) -> MigrationSummary:
    """Convert the database at ``db_path`` to the current schema (see the module's docstring), with its key.

    Call with no other process holding the file. Raises :class:`WarehouseError` (one sentence) when the file is
    missing, in use, of a newer or unknown schema, or the key is missing or wrong; the file is then unchanged.
    """
    path = Path(db_path)
    if not path.exists():
        raise WarehouseError(f"there is no database at {path}; pass the old database with --db")
    meta, tables = _settle(path)
    number = schema_version_number(meta.get("schema_version"))
    current = int(SCHEMA_VERSION)
    if number is None or number > current:
        raise WarehouseError(
            f"{path} records schema version {meta.get('schema_version')!r}, which this program cannot convert "
            "(made by a newer or unknown release); it was left as it was"
        )
    if number == current:
        return MigrationSummary(number, current)
    cipher, data_key = _old_key(meta, passphrase, allow_unencrypted)
    folder = Path(tempfile.mkdtemp(prefix=".redflags-migrate-", dir=path.parent))  # created 0700
    fresh = folder / path.name
    try:
        summary = _build(path, fresh, number, cipher, data_key, passphrase, tables)
        if Path(f"{fresh}.wal").exists():
            raise WarehouseError(
                f"the converted copy of {path} was not closed cleanly; {path} was left as it was"
            )
        os.chmod(fresh, 0o600)
        os.replace(fresh, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    log.info("database converted from schema %d to %d", number, current)
    return summary


def _settle(path: Path) -> tuple[dict[str, str], list[str]]:
    """The old file's ``meta`` and table names, after replaying its write-ahead log into it (what any release
    does on opening it), so the copy sees everything and no old log is left beside the new file."""
    try:
        con = connect_file(str(path), read_only=False)
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            raise WarehouseError(
                f"the database {path} is in use by another process; try again when it finishes"
            ) from None
        raise WarehouseError(
            f"{path} is not a database this program can open ({type(exc).__name__})"
        ) from None
    try:
        tables = [
            str(t)
            for (t,) in con.sql("select table_name from duckdb_tables() where not temporary").fetchall()
        ]
        if "meta" not in tables:
            raise WarehouseError(f"{path} is not a Repairs Red Flags database; it was left as it was")
        meta = {str(k): str(v) for k, v in con.sql("select key, value from meta").fetchall()}
        con.execute("checkpoint")
    finally:
        con.close()
    return meta, tables


def _old_key(
    meta: dict[str, str], passphrase: str | None, allow_unencrypted: bool
) -> tuple[FieldCipher, bytes | None]:
    """The cipher the old file's values were written with, and its data key (None: an unencrypted test file)."""
    if meta.get("encryption") == "none":
        if not allow_unencrypted:
            raise WarehouseError(
                "this database was created unencrypted (test data only); pass --allow-unencrypted to convert it"
            )
        return FieldCipher(None), None
    if passphrase is None:
        raise WarehouseError(f"this database is encrypted: set {KEY_ENV} to its key to convert it")
    salt = bytes.fromhex(meta["kdf_salt"])
    try:
        if "wrapped_key" in meta:
            data_key = unwrap_data_key(bytes.fromhex(meta["wrapped_key"]), passphrase, salt)
        else:  # schema 1: the passphrase's key encrypted the values itself
            data_key = derive_key(passphrase, salt)
        cipher = FieldCipher(data_key)
        cipher.verify_check_token(bytes.fromhex(meta["key_check"]))
    except KeyError_:
        raise WarehouseError(
            f"the key in {KEY_ENV} is not the key this database was created with; nothing was read or written"
        ) from None
    return cipher, data_key


def _build(
    old_path: Path,
    fresh: Path,
    version: int,
    cipher: FieldCipher,
    data_key: bytes | None,
    passphrase: str | None,
    old_tables: Sequence[str],
) -> MigrationSummary:
    summary = MigrationSummary(version, int(SCHEMA_VERSION))
    con = connect_file(str(fresh), read_only=False)
    try:
        con.execute(f"attach ? as {OLD} (read_only)", [str(old_path)])
        con.execute("begin transaction")
        create_schema(con)
        write_new_meta(con, passphrase if data_key is not None else None, data_key)
        refs_clear = version < 2 and cipher.encrypts
        if refs_clear:
            summary.references = _reference_map(con, cipher)
        new_tables = [
            str(t)
            for (t,) in con.sql(
                "select table_name from duckdb_tables() where database_name = current_database() and not temporary"
                " order by table_name"
            ).fetchall()
        ]
        summary.not_carried = sorted(
            t
            for t in old_tables
            if t not in new_tables or t in _NOT_CARRIED or t.startswith(_NOT_CARRIED_PREFIX)
        )
        for table in new_tables:
            if table == "meta" or table not in old_tables or table in summary.not_carried:
                continue
            if refs_clear and table in ("ref_books", "ref_index"):
                continue
            if table == "audit_log":
                summary.old_chain_ok = _copy_audit(con, cipher, refs_clear)
            else:
                copy_table(con, cipher, table, refs_clear)
            summary.rows[table] = _count(con, table, OLD)
        _continue_sequences(con)
        _verify_counts(con, summary)
        _record(con, cipher, summary)
        con.execute("commit")
        con.execute(f"detach {OLD}")
    finally:
        con.close()
    return summary


def _columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[str]:
    return [
        str(c)
        for (c,) in con.sql(
            "select column_name from duckdb_columns() where database_name = $db and table_name = $t"
            " order by column_index",
            params={"db": database, "t": table},
        ).fetchall()
    ]


def _count(con: duckdb.DuckDBPyConnection, table: str, database: str | None = None) -> int:
    name = quote_identifier_sql(table) if database is None else f"{database}.{quote_identifier_sql(table)}"
    return int(con.sql(f"select count(*) from {name}").fetchall()[0][0])


def _reference_map(con: duckdb.DuckDBPyConnection, cipher: FieldCipher) -> int:
    """Every clear reference of the old file with its pseudonym, as the temporary table ``__migrate_map``, each
    sealed once in a book of the new file. Returns how many."""
    found = con.sql(
        "select table_name, column_name from duckdb_columns() where database_name = $db"
        " and list_contains($cols, column_name) order by table_name, column_index",
        params={"db": OLD, "cols": list(REFERENCE_COLUMNS)},
    ).fetchall()
    refs = distinct_references(
        con,
        [
            (f"{OLD}.{quote_identifier_sql(str(t))}", str(c))
            for t, c in found
            if not str(t).startswith(_NOT_CARRIED_PREFIX)
        ],
    )
    if refs is None:
        refs = pl.DataFrame({"ref": [], "household": []}, schema={"ref": pl.String, "household": pl.Boolean})
    frame = with_pseudonyms(cipher, refs).select("pseudonym", "ref", "household")
    con.register("__migrate_map_view", frame.to_arrow())
    try:
        con.execute("create or replace temp table __migrate_map as select * from __migrate_map_view")
        # As a load chunk stores them: household and record references in a book each, so that turning back
        # every household each week opens the small book, not the whole map (references.store_new_references).
        con.execute(f"create or replace temp table {NEW_TABLE} as select * from __migrate_map_view")
    finally:
        con.unregister("__migrate_map_view")
    store_new_references(con, cipher, frame)
    con.execute(f"drop table {NEW_TABLE}")
    return frame.height


def copy_table(con: duckdb.DuckDBPyConnection, cipher: FieldCipher, table: str, refs_clear: bool) -> None:
    """Copy ``table`` from the old file: columns of the same name as they are (references through their
    pseudonyms when the old file held them in clear), ``<name>_enc`` encrypted from an old clear ``<name>``
    (in Python: only small tables have such columns), columns the old file lacks NULL."""
    new_cols = _columns(con, _current(con), table)
    old_cols = set(_columns(con, OLD, table))
    select: list[str] = []
    joins: list[str] = []
    to_encrypt: list[str] = []
    for i, c in enumerate(new_cols):
        q = quote_identifier_sql(c)
        if c in old_cols and refs_clear and c in REFERENCE_COLUMNS:
            alias = f"__m{i}"
            joins.append(f"left join __migrate_map {alias} on {alias}.ref = o.{q}")
            select.append(f"{alias}.pseudonym as {q}")
        elif c in old_cols:
            select.append(f"o.{q}")
        elif c.endswith("_enc") and c.removesuffix("_enc") in old_cols:
            select.append(f"o.{quote_identifier_sql(c.removesuffix('_enc'))} as {q}")
            to_encrypt.append(c)
        else:
            select.append(f"null as {q}")
    source = f"select {', '.join(select)} from {OLD}.{quote_identifier_sql(table)} o {' '.join(joins)}"
    columns = ", ".join(quote_identifier_sql(c) for c in new_cols)
    if not to_encrypt:
        con.execute(f"insert into {quote_identifier_sql(table)} ({columns}) {source}")
        return
    frame = con.sql(source).pl()
    frame = frame.with_columns(
        pl.Series(
            c,
            cipher.encrypt_many([None if v is None else str(v) for v in frame[c].to_list()]),
            dtype=pl.Binary,
        )
        for c in to_encrypt
    )
    con.register("__migrate_rows", frame.to_arrow())
    try:
        con.execute(
            f"insert into {quote_identifier_sql(table)} ({columns}) select {columns} from __migrate_rows"
        )
    finally:
        con.unregister("__migrate_rows")


def _current(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.sql("select current_database()").fetchall()[0][0])


def _copy_audit(con: duckdb.DuckDBPyConnection, cipher: FieldCipher, refs_clear: bool) -> bool:
    """Copy the audit trail: its old chain checked as it stood (the result is returned and recorded), then the
    rows written with the actor encrypted, references pseudonymised and the chain recomputed over what is stored
    now, in ``audit_id`` order."""
    old_cols = set(_columns(con, OLD, "audit_log"))
    actor = "actor" if "actor" in old_cols else "actor_enc"
    old = con.sql(
        f"select audit_id, recorded_at, {actor} as actor, action, tenancy_ref, detail, prev_hash, row_hash"
        f" from {OLD}.audit_log order by audit_id"
    ).fetchall()
    as_hashed = [(*r[:2], r[2] if actor == "actor" else bytes(r[2]).hex(), *r[3:]) for r in old]
    ok = check_chain(as_hashed).ok
    actors = cipher.encrypt_many([str(r[2]) for r in old]) if actor == "actor" else [bytes(r[2]) for r in old]
    refs = [r[4] for r in old]
    if refs_clear:
        refs = _pseudonyms_of(con, refs)
    rows = [
        (int(r[0]), r[1], a.hex() if a is not None else "", str(r[3]), ref, str(r[5]))
        for r, a, ref in zip(old, actors, refs, strict=True)
    ]
    hashes = chain_hashes(rows)
    frame = pl.DataFrame(
        {
            "audit_id": [r[0] for r in rows],
            "recorded_at": [r[1] for r in rows],
            "actor_enc": actors,
            "action": [r[3] for r in rows],
            "tenancy_ref": refs,
            "detail": [r[5] for r in rows],
            "prev_hash": [h[0] for h in hashes],
            "row_hash": [h[1] for h in hashes],
        },
        schema={
            "audit_id": pl.Int64,
            "recorded_at": pl.Datetime("us"),
            "actor_enc": pl.Binary,
            "action": pl.String,
            "tenancy_ref": pl.String,
            "detail": pl.String,
            "prev_hash": pl.String,
            "row_hash": pl.String,
        },
    )
    con.register("__migrate_audit", frame.to_arrow())
    try:
        con.execute(
            "insert into audit_log (audit_id, recorded_at, actor_enc, action, tenancy_ref, detail, prev_hash,"
            " row_hash) select * from __migrate_audit"
        )
    finally:
        con.unregister("__migrate_audit")
    return ok


def _pseudonyms_of(con: duckdb.DuckDBPyConnection, refs: list[str | None]) -> list[str | None]:
    """The pseudonyms ``__migrate_map`` gives ``refs`` (in order; None stays None): only these are read from the
    map, which holds every reference of the file (millions of job references at scale)."""
    wanted = pl.DataFrame({"ref": refs}, schema={"ref": pl.String}).drop_nulls().unique()
    con.register("__migrate_wanted", wanted.to_arrow())
    try:
        known = dict(
            con.sql(
                "select ref, pseudonym from __migrate_map semi join __migrate_wanted using (ref)"
            ).fetchall()
        )
    finally:
        con.unregister("__migrate_wanted")
    return [None if r is None else known[r] for r in refs]


def _continue_sequences(con: duckdb.DuckDBPyConnection) -> None:
    """Each sequence of the new file goes on from where the old file's (or its own, for new books) stood."""
    for seq in _SEQUENCES:
        found = con.sql(
            "select max(coalesce(last_value + 1, start_value)) from duckdb_sequences()"
            " where sequence_name = $s and database_name in ($old, current_database())",
            params={"s": seq, "old": OLD},
        ).fetchall()[0][0]
        start = max(int(found or 1), 1)
        con.execute(f"drop sequence {seq}")
        con.execute(f"create sequence {seq} start {start}")


def _verify_counts(con: duckdb.DuckDBPyConnection, summary: MigrationSummary) -> None:
    """The new file holds as many rows of each copied table as the old one: else nothing is replaced."""
    for table, expected in summary.rows.items():
        got = _count(con, table)
        if got != expected:
            raise WarehouseError(
                f"the converted copy's table {table} holds {got} rows where the database holds {expected}; "
                "the database was left as it was"
            )


def _record(con: duckdb.DuckDBPyConnection, cipher: FieldCipher, summary: MigrationSummary) -> None:
    """The conversion, on the new file's audit trail (counts and versions only)."""
    try:
        actor = getpass.getuser()
    except (OSError, KeyError):  # no login name in some service accounts
        actor = "unknown"
    record_event(
        con,
        cipher=cipher,
        actor=actor,
        action="database_migrated",
        detail={
            "from_schema": summary.from_version,
            "to_schema": summary.to_version,
            "rows": dict(sorted(summary.rows.items())),
            "references_pseudonymised": summary.references,
            "previous_chain_verified": summary.old_chain_ok,
            "not_carried": summary.not_carried,
            "on": dt.date.today().isoformat(),
        },
    )
