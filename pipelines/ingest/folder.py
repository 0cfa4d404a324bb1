"""Flow ``ingest-extracts`` and ``redflags ingest``: load whatever is new in a landlord's extracts folder.

``ingest_folder`` is the plain function other flows and the tests call; the flow wraps it in retrying I/O
tasks
(re-running a load is safe: files already loaded are skipped by their sha256).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pipelines.core.errors import ConfigError, UserError, retry_io
from pipelines.core.progress import Progress, get_progress
from pipelines.ingest import validation
from pipelines.ingest.loading import Classifier, IngestSummary, load_extract
from pipelines.ingest.mapping import CANONICAL, Mapping, load_mapping
from pipelines.ingest.readers import resolve_files
from pipelines.warehouse.connection import Warehouse, checkpoint_deferred, open_warehouse
from pipelines.warehouse.runs import start_run

log = logging.getLogger(__name__)


def ingest_folder(
    wh: Warehouse,
    extracts_dir: str | Path,
    mapping: Mapping,
    *,
    classify: Classifier,
    progress: Progress | None = None,
    out_dir: str | Path | None = None,
    today: dt.date | None = None,
) -> IngestSummary:
    """Load every new file of every mapped extract; one ``runs`` row records the run. Bad files never raise:
    they are in ``summary.failures`` (and the quarantine table) and the other files load."""
    progress = progress or get_progress()
    extracts_dir = Path(extracts_dir)
    if not extracts_dir.is_dir():
        raise ConfigError(f"the extracts folder {extracts_dir} does not exist")
    today = today or dt.date.today()
    started = time.perf_counter()
    run_id = start_run(wh.con, "ingest")
    summary = IngestSummary(run_id=run_id)
    status = "failed"
    # Per-file commits would checkpoint every 16 MB of WAL, writing data twice: checkpoint once at the end.
    try:
        with checkpoint_deferred(wh.con):
            try:
                names = [n for n in CANONICAL if n in mapping.extracts]
                parts = _load_extracts(wh, extracts_dir, mapping, names, classify, run_id, today, progress)
                # The summary lists extracts in contract order, whatever order they finished in.
                for name in names:
                    summary.merge(parts[name])
                status = "ok" if summary.ok else "files_failed"
            finally:
                summary.seconds = time.perf_counter() - started
                wh.con.execute(
                    "update runs set finished_at = current_timestamp, status = $s, files_loaded = $fl, "
                    "files_failed = $ff, rows_loaded = $rl, rows_quarantined = $rq, detail = $d where run_id = $r",
                    {
                        "s": status,
                        "fl": summary.files_loaded,
                        "ff": summary.files_failed,
                        "rl": summary.rows_loaded,
                        "rq": summary.rows_quarantined,
                        "d": f"{summary.files_skipped} files already loaded",
                        "r": run_id,
                    },
                )
    finally:
        if wh.path != ":memory:":
            with summary.timed("checkpoint"):
                wh.con.execute("checkpoint")
    if out_dir is not None:
        validation.write_quality_page(Path(out_dir), summary, mapping.landlord)
    progress.say(
        f"Ingest: {summary.files_loaded} file(s) loaded, {summary.files_skipped} already loaded, "
        f"{summary.files_failed} not loaded; {summary.rows_loaded:,} rows loaded, "
        f"{summary.rows_quarantined:,} quarantined ({summary.seconds:.1f} s)"
    )
    return summary


# Two extracts load side by side: one's Python work (Great Expectations, encryption) runs while the other's
# DuckDB work (reading, converting, inserting: the GIL released) runs. Raw tables are independent, and each
# worker has its own DuckDB cursor (its own temporary tables and transactions).
EXTRACT_WORKERS = 2


class _OneThreadEach:
    """DuckDB's threads while extracts load side by side: one each. Two loads already keep two cores busy, and a
    query split over threads costs more CPU in all (at 160,000 homes: 47 CPU-s for the load instead of 52, and
    25 s instead of 28). When one load is left, it gets the database's own setting back."""

    def __init__(self, con: Any) -> None:
        self._cursor = con.cursor()
        self._lock = threading.Lock()
        self._active = 0
        self._default = int(self._cursor.sql("select current_setting('threads')").fetchall()[0][0])

    @contextlib.contextmanager
    def loading(self) -> Iterator[None]:
        with self._lock:
            self._active += 1
            if self._active == 2:
                self._cursor.execute("set threads = 1")
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 1:
                    self._cursor.execute(f"set threads = {self._default}")

    def close(self) -> None:
        self._cursor.close()


def _load_extracts(
    wh: Warehouse,
    extracts_dir: Path,
    mapping: Mapping,
    names: list[str],
    classify: Classifier,
    run_id: int,
    today: dt.date,
    progress: Progress,
) -> dict[str, IngestSummary]:
    """Load each extract with its own summary; the biggest extracts start first, two at a time."""
    paths = {n: resolve_files(extracts_dir, mapping.extracts[n].files) for n in names}
    order = sorted(names, key=lambda n: -_total_bytes(paths[n]))

    threads = _OneThreadEach(wh.con)

    def one(name: str) -> IngestSummary:
        part = IngestSummary(run_id=run_id)
        cursor = wh.con.cursor()
        try:
            with threads.loading():
                started = time.perf_counter()
                load_extract(
                    Warehouse(cursor, wh.cipher, wh.path),
                    extracts_dir,
                    name,
                    mapping.extracts[name],
                    classify=classify,
                    run_id=run_id,
                    today=today,
                    summary=part,
                    progress=progress,
                    paths=paths[name],
                )
                progress.say(f"  Loaded {name} ({time.perf_counter() - started:.1f} s)")
        finally:
            cursor.close()
        return part

    try:
        if len(order) <= 1 or EXTRACT_WORKERS <= 1:
            return {n: one(n) for n in order}
        with ThreadPoolExecutor(EXTRACT_WORKERS, thread_name_prefix="redflags-extract") as pool:
            futures = {n: pool.submit(one, n) for n in order}
            return {n: f.result() for n, f in futures.items()}
    finally:
        threads.close()


def _total_bytes(paths: Sequence[Path]) -> int:
    """Bytes on disk (a file vanishing meanwhile counts nothing here; its load reports it)."""
    total = 0
    for p in paths:
        with contextlib.suppress(OSError):
            total += p.stat().st_size
    return total


# ------------------------------------------------------------------------------------------------------------
# Prefect


_retry_io = retry_io  # one rule for every task that retries: pipelines.core.errors.retry_io


def _make_flow() -> Any:
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    @task(name="read-mapping", cache_policy=NO_CACHE)
    def read_mapping(path: str) -> Mapping:
        return load_mapping(path)

    @task(
        name="load-new-files",
        retries=2,
        retry_delay_seconds=10,
        retry_condition_fn=_retry_io,
        cache_policy=NO_CACHE,
    )
    def load_new_files(
        db: str, allow_unencrypted: bool, extracts: str, mapping: Mapping, out: str | None, config: str | None
    ) -> IngestSummary:
        from pipelines.core.settings import load_settings
        from pipelines.ingest.classifier import classifier_from_settings

        classify = classifier_from_settings(load_settings(config).classification)
        wh = open_warehouse(db, allow_unencrypted=allow_unencrypted)
        try:
            return ingest_folder(wh, extracts, mapping, classify=classify, out_dir=out)
        finally:
            wh.close()

    @flow(name="ingest-extracts")
    def ingest_extracts(
        extracts: str,
        mapping: str,
        db: str,
        out: str | None = None,
        allow_unencrypted: bool = False,
        config: str | None = None,
    ) -> IngestSummary:
        landlord_mapping = read_mapping(mapping)
        return load_new_files(db, allow_unencrypted, extracts, landlord_mapping, out, config)

    return ingest_extracts


_FLOW: Any = None


def ingest_extracts_flow() -> Any:
    """The Prefect flow (built on first use so importing this module stays light)."""
    global _FLOW
    if _FLOW is None:
        _FLOW = _make_flow()
    return _FLOW


def main(args: argparse.Namespace) -> int:
    """``redflags ingest``: exits non-zero, after loading the other files, if any file could not be loaded."""
    from pipelines.flows.weekly_review import preflight

    # a missing folder, a bad mapping or a database that will not open: one sentence before Prefect starts
    preflight(
        Path(args.extracts),
        Path(args.mapping),
        getattr(args, "config", None),
        Path(args.db),
        bool(getattr(args, "allow_unencrypted", False)),
    )
    summary: IngestSummary = ingest_extracts_flow()(
        extracts=args.extracts,
        mapping=args.mapping,
        db=args.db,
        out=getattr(args, "out", None),
        allow_unencrypted=bool(getattr(args, "allow_unencrypted", False)),
        config=getattr(args, "config", None),
    )
    progress = get_progress()
    for message in summary.row_messages[:20]:
        progress.say(f"  quarantined: {message}")
    if summary.failures:
        for message in summary.failures:
            progress.say(f"  not loaded: {message}")
        raise UserError(f"{summary.files_failed} file(s) not loaded; the first: {summary.failures[0]}")
    return 0
