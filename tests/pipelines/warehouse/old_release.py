"""Databases as earlier releases wrote them, for the tests of `redflags migrate` (no binary file is committed).

:func:`write_old_release` rewrites a database of the current schema made with ``--allow-unencrypted`` (so every
value is readable) into the layout and encryption of an earlier release, using that release's DDL as it was in
git (``old_schemas/schema_v<N>.sql``):

- schema 1 (before keyed pseudonyms, main at 90b41f8): references, the list's reasons, reviewers' names,
  outcomes, markers and audit actors in clear; free text and rationales encrypted (AES-GCM, the same token
  format) under ``scrypt(passphrase, salt)`` itself; ``meta`` without a wrapped key.
- schema 2 (main at feef787): references as keyed pseudonyms (books of references), reasons and reviewers
  encrypted under a random data key wrapped by the passphrase; outcomes, markers and actors in clear.

The audit trail is re-chained as that release computed it (the actor's clear text in the hash).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import duckdb
import polars as pl

from pipelines.warehouse.audit import chain_hashes
from pipelines.warehouse.crypto import FieldCipher, derive_key, new_data_key, wrap_data_key
from pipelines.warehouse.references import pseudonymise_in_place

SCHEMAS = Path(__file__).parent / "old_schemas"
_PLAIN = b"\x00"


def _plain(value: object) -> str | None:
    """The text of an unencrypted database's stored value (``\\x00`` + UTF-8)."""
    if value is None:
        return None
    data = bytes(value)  # type: ignore[call-overload]
    assert data[:1] == _PLAIN, "the source database must be unencrypted"
    return data[1:].decode("utf-8")


def _columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[str]:
    return [
        str(c)
        for (c,) in con.sql(
            "select column_name from duckdb_columns() where database_name = $d and table_name = $t"
            " order by column_index",
            params={"d": database, "t": table},
        ).fetchall()
    ]


def write_old_release(source: Path, target: Path, *, version: int, passphrase: str) -> FieldCipher:
    """Write ``target`` as release ``version`` (1 or 2) would have, holding ``source``'s rows; returns the cipher
    its values were encrypted with. ``source``: a closed, unencrypted database of the current schema."""
    con = duckdb.connect(str(target))
    try:
        con.execute((SCHEMAS / f"schema_v{version}.sql").read_text(encoding="utf-8"))
        salt = secrets.token_bytes(16)
        if version == 1:
            cipher = FieldCipher(derive_key(passphrase, salt))
            con.execute(
                "insert into meta values ('encryption', 'aes-256-gcm/scrypt'), ('schema_version', '1'),"
                " ('kdf_salt', ?), ('key_check', ?)",
                [salt.hex(), cipher.check_token().hex()],
            )
        else:
            data_key = new_data_key()
            cipher = FieldCipher(data_key)
            con.execute(
                "insert into meta values ('encryption', 'aes-256-gcm/scrypt-wrapped'), ('schema_version', '2'),"
                " ('kdf_salt', ?), ('wrapped_key', ?), ('key_check', ?)",
                [salt.hex(), wrap_data_key(data_key, passphrase, salt).hex(), cipher.check_token().hex()],
            )
        con.execute("attach ? as src (read_only)", [str(source)])
        target_db = str(con.sql("select current_database()").fetchall()[0][0])
        tables = [
            str(t)
            for (t,) in con.sql(
                "select table_name from duckdb_tables() where database_name = $d", params={"d": target_db}
            ).fetchall()
        ]
        for table in tables:
            if table in ("meta", "ref_books", "ref_index"):
                continue
            _copy(
                con, cipher, table, _columns(con, target_db, table), set(_columns(con, "src", table)), version
            )
        if version == 2:
            pseudonymise_in_place(con, cipher, [t for t in tables if t != "audit_log"])
        for seq, start in con.sql(
            "select sequence_name, coalesce(last_value + 1, start_value) from duckdb_sequences()"
            " where database_name = 'src'"
        ).fetchall():
            if con.sql(
                "select count(*) from duckdb_sequences() where database_name = $d and sequence_name = $s",
                params={"d": target_db, "s": seq},
            ).fetchall()[0][0]:
                con.execute(f"drop sequence {seq}")
                con.execute(f"create sequence {seq} start {int(start)}")
        con.execute("detach src")
    finally:
        con.close()
    return cipher


def _copy(
    con: duckdb.DuckDBPyConnection,
    cipher: FieldCipher,
    table: str,
    columns: list[str],
    source_columns: set[str],
    version: int,
) -> None:
    frame = con.sql(f'select * from src."{table}"').pl()
    out: dict[str, pl.Series] = {}
    for c in columns:
        if c in source_columns and c.endswith("_enc"):  # encrypted then as now: under that release's key
            out[c] = pl.Series(
                c, cipher.encrypt_many([_plain(v) for v in frame[c].to_list()]), dtype=pl.Binary
            )
        elif c in source_columns:
            out[c] = frame[c]
        elif f"{c}_enc" in source_columns:  # in clear then
            out[c] = pl.Series(c, [_plain(v) for v in frame[f"{c}_enc"].to_list()], dtype=pl.String)
        else:
            raise AssertionError(f"{table}.{c} has no source")
    rows = pl.DataFrame(out) if out else frame
    if table == "audit_log" and rows.height:
        rows = rows.sort("audit_id")
        refs = rows["tenancy_ref"].to_list()
        if version == 2:
            refs = cipher.pseudonyms(refs)
        rows = rows.with_columns(pl.Series("tenancy_ref", refs, dtype=pl.String))
        hashes = chain_hashes(
            [
                (r["audit_id"], r["recorded_at"], r["actor"], r["action"], r["tenancy_ref"], r["detail"])
                for r in rows.iter_rows(named=True)
            ]
        )
        rows = rows.with_columns(
            pl.Series("prev_hash", [h[0] for h in hashes]), pl.Series("row_hash", [h[1] for h in hashes])
        )
    con.register("__old_rows", rows.to_arrow())
    try:
        names = ", ".join(f'"{c}"' for c in columns)
        con.execute(f'insert into "{table}" ({names}) select {names} from __old_rows')
    finally:
        con.unregister("__old_rows")
