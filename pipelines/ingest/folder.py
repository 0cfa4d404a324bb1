"""Load whatever is new in a landlord's extracts folder (flow ``ingest-extracts``, ``redflags ingest``).

``ingest_folder`` is the plain function other flows and the tests call; the flow wraps it in retrying I/O
tasks
(re-running a load is safe: files already loaded are skipped by their sha256).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pipelines.core.errors import ConfigError
from pipelines.core.progress import Progress, get_progress
from pipelines.core.settings import load_settings
from pipelines.ingest import validation
from pipelines.ingest.classifier import classifier_from_settings
from pipelines.ingest.files import resolve_files, unmatched_files
from pipelines.ingest.loading import Classifier, IngestSummary, load_extract
from pipelines.ingest.mapping import CANONICAL, Mapping
from pipelines.warehouse.connection import Warehouse, checkpoint_deferred, open_warehouse
from pipelines.warehouse.references import PseudonymMemo
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
                summary.unmatched = _unmatched(extracts_dir, mapping)
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
    if summary.unmatched:
        shown = ", ".join(summary.unmatched[:3]) + (" ..." if len(summary.unmatched) > 3 else "")
        progress.say(
            f"Not loaded: {len(summary.unmatched)} file(s) in the extracts folder match no extract of the mapping "
            f"({shown}); if they are exports, add their names to the mapping's `files` patterns."
        )
    if out_dir is not None:
        validation.write_quality_page(Path(out_dir), summary, mapping.landlord)
    progress.say(
        f"Ingest: {summary.files_loaded} file(s) loaded, {summary.files_skipped} already loaded, "
        f"{summary.files_failed} not loaded; {summary.rows_loaded:,} rows loaded, "
        f"{summary.rows_quarantined:,} quarantined ({summary.seconds:.1f} s)"
    )
    return summary


def _unmatched(extracts_dir: Path, mapping: Mapping) -> list[str]:
    """Data files beside the extracts that no extract of the mapping claims (``files.unmatched_files``)."""
    patterns = [pattern for spec in mapping.extracts.values() for pattern in spec.files]
    matched = [path for spec in mapping.extracts.values() for path in resolve_files(extracts_dir, spec.files)]
    return unmatched_files(extracts_dir, patterns, matched)


# Two extracts load side by side: one's Python work (Great Expectations, encryption) runs while the other's
# DuckDB work (reading, converting, inserting: the GIL released) runs. Raw tables are independent, and each
# worker has its own DuckDB cursor (its own temporary tables and transactions).
EXTRACT_WORKERS = 2


class _OneThreadEach:
    """DuckDB's threads while extracts load side by side: one each. Two loads already keep two cores busy, and a
    query split over threads costs more CPU in all (docs/scaling.md). When one load is left, it gets the
    database's own setting back."""

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
    memo = PseudonymMemo()  # a tenancy's reference is hashed once, not in every extract that names it

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
                    memo=memo,
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


def load_new_files(
    db: str, allow_unencrypted: bool, extracts: str, mapping: Mapping, out: str | None, config: str | None
) -> IngestSummary:
    """Open the warehouse at ``db``, load the files of ``extracts`` not loaded before (classified with the
    settings of ``config``), and close it again: the ingest flow's one step."""
    classify = classifier_from_settings(load_settings(config).classification)
    wh = open_warehouse(db, allow_unencrypted=allow_unencrypted)
    try:
        return ingest_folder(wh, extracts, mapping, classify=classify, out_dir=out)
    finally:
        wh.close()
