"""The append-only audit trail, and the record of every published list.

The product only ever INSERTs into ``audit_log``, ``review_list_rows``, ``carried_forward`` and ``outcomes``
(tests scan the sources and exercise every public function to hold that line). DuckDB has no triggers, so the
trail also carries a hash chain: each row stores the sha256 of its own content and of the previous row's hash,
and :func:`verify_audit_chain` finds a row edited, inserted or removed behind the product's back.

Details are JSON. They hold counts, dates, versions and thresholds, never free text; a household's reference
goes in the ``tenancy_ref`` column (as its pseudonym), never in ``detail``. The actor (a service account, or the
signed-in name of a page's user) is stored encrypted (``actor_enc``); the hash chain covers the stored
ciphertext, so the chain can be verified without the key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from pipelines.core.errors import UserError
from pipelines.warehouse.connection import next_id, query
from pipelines.warehouse.crypto import FieldCipher
from pipelines.warehouse.references import pseudonymise_frame

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64

_LISTED_COLUMNS: dict[str, pl.DataType] = {
    "rank": pl.Int64(),
    "tenancy_ref": pl.String(),
    "property_ref": pl.String(),
    "team": pl.String(),
    "score": pl.Float64(),
    "points_score": pl.Float64(),
    "surprise_score": pl.Float64(),
    "anomaly_score": pl.Float64(),
    "is_complex_case": pl.Boolean(),
    "reasons": pl.String(),
}
_LISTED_REQUIRED = ("rank", "tenancy_ref", "team", "score", "reasons")
_CARRIED_REQUIRED = ("tenancy_ref", "team", "score")


class AuditError(UserError):
    """A request the audit trail refuses (e.g. publishing the same list twice)."""


@dataclass(frozen=True)
class ChainReport:
    """The result of :func:`verify_audit_chain`: ``ok`` or where the chain first breaks."""

    ok: bool
    rows_checked: int
    first_bad_audit_id: int | None = None
    problem: str | None = None


def utc_now() -> dt.datetime:
    """Naive UTC timestamp (DuckDB TIMESTAMP), to the microsecond."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), sort_keys=True, default=str, separators=(",", ":"))


def _row_hash(
    *,
    audit_id: int,
    recorded_at: dt.datetime,
    actor: str,
    action: str,
    tenancy_ref: str | None,
    detail: str,
    prev_hash: str,
) -> str:
    """sha256 over the row's content and the previous row's hash; ``actor`` as hashed: the hex of the stored
    ciphertext (schema 3), the clear actor in earlier releases' trails (read by ``redflags migrate``)."""
    content = json.dumps(
        [
            audit_id,
            recorded_at.isoformat(timespec="microseconds"),
            actor,
            action,
            tenancy_ref,
            detail,
            prev_hash,
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


AuditRow = tuple[
    int, dt.datetime, str, str, str | None, str
]  # audit_id, recorded_at, actor, action, ref, detail


def chain_hashes(rows: Sequence[AuditRow]) -> list[tuple[str, str]]:
    """(prev_hash, row_hash) of each row, in the order given, starting from the genesis hash: for writing a whole
    trail into a new file (``redflags migrate``). ``actor`` as :func:`_row_hash` hashes it."""
    out: list[tuple[str, str]] = []
    prev = GENESIS_HASH
    for audit_id, recorded_at, actor, action, tenancy_ref, detail in rows:
        row_hash = _row_hash(
            audit_id=audit_id,
            recorded_at=recorded_at,
            actor=actor,
            action=action,
            tenancy_ref=tenancy_ref,
            detail=detail,
            prev_hash=prev,
        )
        out.append((prev, row_hash))
        prev = row_hash
    return out


def check_chain(rows: Sequence[tuple[Any, ...]]) -> ChainReport:
    """Check rows of (audit_id, recorded_at, actor as hashed, action, tenancy_ref, detail, prev_hash, row_hash)
    in ``audit_id`` order (see :func:`verify_audit_chain`)."""
    expected_prev = GENESIS_HASH
    for i, (audit_id, recorded_at, actor, action, tenancy_ref, detail, prev_hash, row_hash) in enumerate(
        rows
    ):
        if prev_hash != expected_prev:
            return ChainReport(
                False, i, int(audit_id), "does not follow the row before it (removed or inserted)"
            )
        recomputed = _row_hash(
            audit_id=int(audit_id),
            recorded_at=recorded_at,
            actor=actor,
            action=action,
            tenancy_ref=tenancy_ref,
            detail=detail,
            prev_hash=prev_hash,
        )
        if recomputed != row_hash:
            return ChainReport(False, i, int(audit_id), "its content no longer matches its hash (altered)")
        expected_prev = row_hash
    return ChainReport(True, len(rows))


def in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    """True inside an explicit transaction: there, two statements share one transaction id.

    (Probing with a second BEGIN would abort the caller's transaction in DuckDB.)
    """
    first = con.sql("select txid_current()").fetchall()[0][0]
    return bool(first == con.sql("select txid_current()").fetchall()[0][0])


@contextmanager
def atomic(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A transaction, or a part of the caller's when it already holds one (all or nothing either way)."""
    if in_transaction(con):
        yield con  # the caller's transaction commits or rolls back everything
        return
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def record_event(
    con: duckdb.DuckDBPyConnection,
    *,
    cipher: FieldCipher,
    actor: str,
    action: str,
    detail: Mapping[str, Any],
    tenancy_ref: str | None = None,
) -> int:
    """Append one event to the audit trail and return its ``audit_id``.

    ``detail`` is stored as JSON (counts, dates, versions; never free text or references); ``actor`` encrypted
    with ``cipher`` (the warehouse's); ``tenancy_ref`` as given (the caller passes its pseudonym).
    """
    if not actor or not action:
        raise ValueError("an audit event needs an actor and an action")
    detail_json = _json(detail)
    actor_enc = cipher.encrypt(actor)
    assert actor_enc is not None
    with atomic(con):
        audit_id = next_id(con, "seq_audit_id")
        last = con.sql("select row_hash from audit_log order by audit_id desc limit 1").fetchall()
        prev_hash = (last[0][0] if last else None) or GENESIS_HASH
        recorded_at = utc_now()
        row_hash = _row_hash(
            audit_id=audit_id,
            recorded_at=recorded_at,
            actor=actor_enc.hex(),
            action=action,
            tenancy_ref=tenancy_ref,
            detail=detail_json,
            prev_hash=prev_hash,
        )
        con.execute(
            "insert into audit_log (audit_id, recorded_at, actor_enc, action, tenancy_ref, detail, prev_hash,"
            " row_hash) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [audit_id, recorded_at, actor_enc, action, tenancy_ref, detail_json, prev_hash, row_hash],
        )
    log.debug("audit event %s recorded (%s)", audit_id, action)
    return audit_id


def verify_audit_chain(con: duckdb.DuckDBPyConnection) -> ChainReport:
    """Recompute the hash chain over the whole trail, in ``audit_id`` order.

    Finds a row whose content was changed (its hash no longer matches), a row removed or inserted out of band
    (the next row's ``prev_hash`` no longer matches). Removing the most recent rows cannot be told from the
    chain alone: compare the row count with an earlier export of the trail for that.
    """
    rows = con.sql(
        "select audit_id, recorded_at, hex(actor_enc), action, tenancy_ref, detail, prev_hash, row_hash"
        " from audit_log order by audit_id"
    ).fetchall()
    return check_chain([(*r[:2], str(r[2]).lower(), *r[3:]) for r in rows])


def _reasons_as_text(frame: pl.DataFrame) -> pl.DataFrame:
    if "reasons" in frame.columns and isinstance(frame.schema["reasons"], pl.List):
        return frame.with_columns(pl.col("reasons").list.join("; "))
    return frame


def _conform(
    frame: pl.DataFrame, columns: Mapping[str, pl.DataType], required: tuple[str, ...], what: str
) -> pl.DataFrame:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"the {what} frame lacks column(s) {', '.join(missing)}")
    frame = _reasons_as_text(frame)
    return frame.select(
        [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in columns.items()
        ]
    )


def record_list_published(
    con: duckdb.DuckDBPyConnection,
    *,
    list_id: str,
    as_of: dt.date,
    listed: pl.DataFrame,
    carried: pl.DataFrame,
    config_version: str,
    config_fingerprint: str,
    rules_version: str,
    thresholds: Mapping[str, Any],
    actor: str,
    cipher: FieldCipher,
) -> None:
    """Record one published list: its rows, the households carried forward and an audit event, all or nothing.

    ``cipher``: the warehouse's; references are stored as their pseudonyms and reasons encrypted.

    ``listed``: one row per listed household (rank, tenancy_ref, property_ref, team, score, points_score,
    surprise_score, anomaly_score, is_complex_case, reasons as text or list of text).
    ``carried``: tenancy_ref, team, score.
    A ``list_id`` is recorded once; publishing it again is refused (the record is append-only).
    """
    rows = _conform(listed, _LISTED_COLUMNS, _LISTED_REQUIRED, "listed")
    carried_rows = _conform(
        carried,
        {"tenancy_ref": pl.String(), "team": pl.String(), "score": pl.Float64()},
        _CARRIED_REQUIRED,
        "carried",
    )
    # Counted before the references become pseudonyms and the reasons ciphertext.
    per_team = rows.group_by("team").len().sort("team")
    reasons = pl.Series("reasons", cipher.encrypt_many(rows["reasons"].to_list()), dtype=pl.Binary)
    published_at = utc_now()
    detail = {
        "list_id": list_id,
        "as_of": as_of.isoformat(),
        "households_listed": rows.height,
        "households_carried_forward": carried_rows.height,
        "listed_per_team": dict(zip(per_team["team"].to_list(), per_team["len"].to_list(), strict=True)),
        "config_version": config_version,
        "config_fingerprint": config_fingerprint,
        "rules_version": rules_version,
        "thresholds": dict(thresholds),
    }
    params = {
        "list_id": list_id,
        "as_of": as_of,
        "published_at": published_at,
        "config_version": config_version,
        "rules_version": rules_version,
    }
    try:
        with atomic(con):
            rows = pseudonymise_frame(con, cipher, rows, ("tenancy_ref", "property_ref"))
            carried_rows = pseudonymise_frame(con, cipher, carried_rows, ("tenancy_ref",))
            con.register("_audit_listed", rows.with_columns(reasons))
            con.register("_audit_carried", carried_rows)
            already = con.sql(
                "select count(*) from review_list_rows where list_id = $list_id", params={"list_id": list_id}
            ).fetchall()[0][0]
            if already:
                raise AuditError(f"list {list_id} was already published; a published list is never replaced")
            con.execute(
                "insert into review_list_rows (list_id, as_of, published_at, tenancy_ref, property_ref, team,"
                " rank, score, points_score, surprise_score, anomaly_score, reasons_enc, is_complex_case,"
                " config_version, rules_version)"
                " select $list_id, $as_of, $published_at, tenancy_ref, property_ref, team, rank, score,"
                " points_score, surprise_score, anomaly_score, reasons, is_complex_case, $config_version,"
                " $rules_version from _audit_listed order by rank",
                params,
            )
            con.execute(
                "insert into carried_forward (list_id, as_of, tenancy_ref, team, score)"
                " select $list_id, $as_of, tenancy_ref, team, score from _audit_carried",
                {"list_id": list_id, "as_of": as_of},
            )
            record_event(con, cipher=cipher, actor=actor, action="list_published", detail=detail)
    finally:
        # when the caller's transaction is aborted, the views go with the connection's next rollback
        for view in ("_audit_listed", "_audit_carried"):
            with contextlib.suppress(duckdb.Error):
                con.unregister(view)


def audit_events(
    con: duckdb.DuckDBPyConnection, action: str | None = None, cipher: FieldCipher | None = None
) -> pl.DataFrame:
    """The trail in audit_id order, optionally only one action (``detail`` is JSON text); ``actor`` decrypted
    when ``cipher`` is given, else left out."""
    where = "where action = $action" if action else ""
    frame = query(
        con,
        "select audit_id, recorded_at, actor_enc, action, tenancy_ref, detail from audit_log"
        f" {where} order by audit_id",
        {"action": action} if action else None,
    )
    if cipher is None:
        return frame.drop("actor_enc")
    return frame.with_columns(
        pl.Series("actor_enc", cipher.decrypt_many(frame["actor_enc"].to_list()), dtype=pl.String)
    ).rename({"actor_enc": "actor"})
