"""The `runs` table: one row per pipeline run, for run health in the monitoring report."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb

from pipelines.warehouse.connection import next_id


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def mark_interrupted(con: duckdb.DuckDBPyConnection) -> int:
    """Mark runs left ``running`` by a process that is gone as ``interrupted`` (``noticed_at`` now); returns
    how many.

    Whoever opens the warehouse for writing holds DuckDB's lock, so no other process can be running a run:
    a ``running`` row of another process id (or of none, from before ids were kept) was killed. Rows of this
    process are runs still going (a flow records its ingest inside its own run).
    """
    found = con.execute(
        "update runs set status = 'interrupted', noticed_at = ? "
        "where status = 'running' and (pid is null or pid <> ?) returning run_id",
        [_now(), os.getpid()],
    ).fetchall()
    return len(found)


def start_run(con: duckdb.DuckDBPyConnection, kind: str, as_of: dt.date | None = None) -> int:
    mark_interrupted(con)
    run_id = next_id(con, "seq_run_id")
    con.execute(
        "insert into runs (run_id, kind, as_of, started_at, status, pid) values (?, ?, ?, ?, 'running', ?)",
        [run_id, kind, as_of, _now(), os.getpid()],
    )
    return run_id


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    status: str,
    *,
    files_loaded: int | None = None,
    files_failed: int | None = None,
    rows_loaded: int | None = None,
    rows_quarantined: int | None = None,
    detail: str | None = None,
    warnings: list[str] | None = None,
) -> None:
    con.execute(
        "update runs set finished_at = ?, status = ?, files_loaded = ?, files_failed = ?, rows_loaded = ?,"
        " rows_quarantined = ?, detail = ?, warnings = ? where run_id = ?",
        [_now(), status, files_loaded, files_failed, rows_loaded, rows_quarantined, detail, warnings, run_id],
    )


@dataclass
class RunRecord:
    run_id: int
    status: str = "ok"
    counts: dict[str, Any] = field(default_factory=dict)


@contextmanager
def recorded_run(
    con: duckdb.DuckDBPyConnection, kind: str, as_of: dt.date | None = None
) -> Iterator[RunRecord]:
    """Record a run in `runs`: its counts and status when it ends, ``failed`` if it raises."""
    record = RunRecord(start_run(con, kind, as_of))
    try:
        yield record
    except BaseException as exc:
        finish_run(con, record.run_id, "failed", detail=type(exc).__name__)
        raise
    finish_run(con, record.run_id, record.status, **record.counts)
