"""Typed conversion, row-level quarantine and the transactional load of one extract's new files.

The shape of a load (``load_extract``):

1. find the extract's files (natural order), fingerprint them, skip those already loaded (by sha256; a file
   loaded before and unchanged since is known by its file system's record, ``known_files``);
2. read each file's header and match the mapping (a missing required column fails that file only);
3. read the new files in chunks of whole files and convert them to canonical types, one ``<column>__problem``
   per column (``convert_sql``): CSV of one layout is read with dates, timestamps and amounts parsed by DuckDB's
   reader and converted in the same statement (``read_typed``: typed columns only get the blank and range
   checks); a column holding a value the reader cannot cast (a later file's '£1,250.00') is read as text in a
   second typed read; anything else rejected sends the chunk to be read as text (``readers.read_batch``) and
   converted from it, trying every accepted format;
4. the result is the table ``__conv_t`` and the view ``__conv`` (with each row's number, ``__row``);
5. file-level checks on the converted batch (a month-first date file without ``date_format``);
6. validate the batch's per-file profile with Great Expectations (``validation.validate_batch``);
7. classify and encrypt each distinct free text of a chunk once (labels kept across the load's chunks), and hash
   each distinct reference once, on a side thread beside the classification;
8. per chunk, one transaction: raw rows, quarantine rows, the ``loaded_files`` rows and validation results of its
   good files (each file is all or nothing; a transaction per file cost a WAL sync each).

Row numbers are the ones a person sees when opening the file; quarantine reasons name the column (the
landlord's header) and never hold a cell's value.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.core.progress import Progress
from pipelines.ingest import validation
from pipelines.ingest.conversion import (
    RAW_EXTRA,
    accepted_date_formats,
    convert_sql,
    param_name,
    used_params,
)
from pipelines.ingest.files import FileProblem, SourceFile, fingerprint, quote_identifier, resolve_files
from pipelines.ingest.knowledge import extract_date
from pipelines.ingest.known_files import StatKey, known_fingerprints, remember, stat_key
from pipelines.ingest.mapping import (
    CANONICAL,
    CanonicalColumn,
    CanonicalExtract,
    ExtractMapping,
)
from pipelines.ingest.quarantine import collect_quarantine, dayfirst_failures, formats_by_use
from pipelines.ingest.readers import (
    drop_stage,
    plan_typed_read,
    prepare_file,
    read_batch,
    rejected_columns,
    row_number_sql,
    row_offsets,
)
from pipelines.warehouse.connection import Warehouse, next_id, query, temp_folder, transaction
from pipelines.warehouse.references import (
    REFERENCE_COLUMNS,
    PseudonymMemo,
    distinct_references,
    map_joins,
    stage_reference_map,
    store_new_references,
    with_pseudonyms,
)

log = logging.getLogger(__name__)

Classifier = Callable[[pl.Series, pl.Series | None], pl.DataFrame]

# Chunks of whole files keep memory flat however long the history; each chunk has fixed costs (a Great
# Expectations run, a transaction), so chunks are as large as memory allows (measured: docs/scaling.md).
CHUNK_BYTES = 256 * 1024 * 1024
CHUNK_FILES = 500
HASH_THREADS = 3


@dataclass
class FileOutcome:
    extract: str
    file_name: str
    status: str  # loaded / skipped / failed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    known_on: dt.date | None = None
    message: str | None = None


@dataclass
class IngestSummary:
    run_id: int | None = None
    files: list[FileOutcome] = field(default_factory=list)
    # Up to a few hundred row-level messages ("file row N, column 'X' (job_ref): reason"), for the person
    # running it.
    row_messages: list[str] = field(default_factory=list)
    validation: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    # Seconds per step (read, convert, validate, classify_hash, insert, ...), summed over extracts: for the
    # benchmark.
    timings: dict[str, float] = field(default_factory=dict)
    # Data files in the extracts' folders that no extract of the mapping matched (names relative to the folder):
    # never loaded, so said (folder.ingest_folder).
    unmatched: list[str] = field(default_factory=list)

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - started

    def merge(self, other: IngestSummary) -> None:
        """Add another summary's files, messages, results and step times (one extract's, loaded on a worker)."""
        self.files += other.files
        self.row_messages += other.row_messages[: max(0, MAX_ROW_MESSAGES - len(self.row_messages))]
        self.validation += other.validation
        for step, seconds in other.timings.items():
            self.timings[step] = self.timings.get(step, 0.0) + seconds

    def _count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def files_loaded(self) -> int:
        return self._count("loaded")

    @property
    def files_skipped(self) -> int:
        return self._count("skipped")

    @property
    def files_failed(self) -> int:
        return self._count("failed")

    @property
    def failed_files(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def failures(self) -> list[str]:
        """One sentence per file not loaded, naming the file (and row and column where there is one)."""
        return [f.message or f.file_name for f in self.failed_files]

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def ok(self) -> bool:
        return self.files_failed == 0


MAX_ROW_MESSAGES = 200


# ------------------------------------------------------------------------------------------------------------
# Knowledge time


# ------------------------------------------------------------------------------------------------------------
# Conversion SQL


# ------------------------------------------------------------------------------------------------------------
# The load of one extract


@dataclass
class LabelsSeen:
    """The labels of every (text, code) one load of an extract has classified so far: later chunks reuse them."""

    frame: pl.DataFrame | None = None


def load_extract(
    wh: Warehouse,
    extracts_dir: Path,
    name: str,
    spec: ExtractMapping,
    *,
    classify: Classifier,
    run_id: int | None,
    today: dt.date,
    summary: IngestSummary,
    progress: Progress,
    paths: Sequence[Path] | None = None,
    memo: PseudonymMemo | None = None,
) -> None:
    """Load every new file of one extract; outcomes (and row messages) are appended to ``summary``.
    ``paths``: the extract's files when the caller has already resolved them (else the mapping's globs).
    ``memo``: household references already hashed by this load (shared by the extracts it loads)."""
    extract = CANONICAL[name]
    con = wh.con
    paths = resolve_files(extracts_dir, spec.files) if paths is None else list(paths)
    if not paths:
        progress.say(f"{name}: no files match {', '.join(spec.files)}")
        return
    loaded_hashes = {r[0] for r in con.sql("select sha256 from loaded_files").fetchall()}
    kept = known_fingerprints(con)
    hashed: list[tuple[StatKey, str]] = []
    with (
        # Re-encoded copies of files hold clear references: beside the database's own spill files, owner-only.
        tempfile.TemporaryDirectory(prefix="redflags-ingest-", dir=_spill_dir(wh)) as tmp,
        ThreadPoolExecutor(HASH_THREADS, thread_name_prefix="redflags-hash") as pool,
    ):
        new: list[SourceFile] = []
        seen_now: set[str] = set()

        def _fingerprint(path: Path) -> SourceFile | FileProblem | str:
            rel = str(path.relative_to(extracts_dir))
            key = stat_key(path)  # before reading: a file changed while it is read is hashed again next run
            if key is not None and kept.get(key) in loaded_hashes:
                return kept[key]  # loaded before and unchanged since: its bytes need not be read
            try:
                src = fingerprint(path, rel, spec.encoding, Path(tmp))
            except FileProblem as exc:
                return exc
            except Exception as exc:  # whatever bytes a file holds, it fails alone (see unreadable)
                return unreadable(rel, name, exc)
            if key is not None:
                hashed.append((key, src.sha256))
            return src

        # A file loaded before and unchanged since (known_files) is known by its file system's record; the rest
        # are hashed: hashlib releases the GIL, so a few threads hash side by side; results come back in the
        # files' order.
        prints = pool.map(_fingerprint, paths)
        for path in paths:
            rel = str(path.relative_to(extracts_dir))
            try:
                with summary.timed("hash"):
                    src = next(prints)
                if isinstance(src, FileProblem):
                    raise src
                if isinstance(src, str):
                    summary.files.append(FileOutcome(name, rel, "skipped"))
                    continue
                if src.sha256 in loaded_hashes or src.sha256 in seen_now:
                    summary.files.append(FileOutcome(name, rel, "skipped"))
                    continue
                seen_now.add(src.sha256)
                src.known_on = extract_date(path, rel, spec.known_on, today)
                prepare_file(src, extract, spec, con)
            except FileProblem as exc:
                _record_failure(wh, name, rel, exc, run_id, summary)
                continue
            except Exception as exc:
                _record_failure(wh, name, rel, unreadable(rel, name, exc), run_id, summary)
                continue
            new.append(src)
        remember(con, hashed)
        if not new:
            return
        progress.say(f"{name}: {len(new)} new file(s) of {len(paths)}")
        labels_seen = LabelsSeen()
        pending = _chunks(new)
        while pending:
            chunk = pending.pop(0)
            try:
                _load_chunk(
                    wh,
                    extract,
                    spec,
                    chunk,
                    classify=classify,
                    run_id=run_id,
                    today=today,
                    summary=summary,
                    labels_seen=labels_seen,
                    memo=memo,
                )
            except _WriteFailed as exc:
                raise exc.original from None
            except _NOT_A_FILE_PROBLEM:
                raise
            except Exception as exc:
                # Nothing of the chunk was written (its insert is one transaction). A file the readers could
                # not make sense of fails alone: load each half of the chunk in turn, halving the half that fails
                # again, to find it (one bad file among n costs about 2 log2(n) loads, not n; the files still load
                # in their order).
                _drop_chunk_tables(con)
                if len(chunk) > 1:
                    half = len(chunk) // 2
                    pending[:0] = [chunk[:half], chunk[half:]]
                    continue
                _record_failure(
                    wh, name, chunk[0].name, unreadable(chunk[0].name, name, exc), run_id, summary
                )


# Errors that say the machine, not a file, is in trouble: they end the load instead of failing one file.
_NOT_A_FILE_PROBLEM = (
    MemoryError,
    duckdb.OutOfMemoryException,
    duckdb.IOException,
    duckdb.InterruptException,
)


class _WriteFailed(Exception):
    """Writing a chunk's rows failed (a full disk, a lost connection): the machine's problem, not a file's."""

    def __init__(self, original: Exception) -> None:
        super().__init__(str(original))
        self.original = original


def unreadable(file_name: str, extract: str, exc: BaseException) -> FileProblem:
    """A file that broke a reader in a way no check foresaw (binary or mangled content): one sentence for the
    person running the load; the exception goes to the debug log, never the terminal."""
    log.debug("%s: unreadable as %s", file_name, extract, exc_info=exc)
    return FileProblem(
        file_name,
        f"cannot be read as a {extract} extract ({type(exc).__name__}): is it complete, and in the format its "
        "name says?",
    )


def _spill_dir(wh: Warehouse) -> str | None:
    """The warehouse's owner-only spill folder (``<database>.tmp``); None (the system's) for an in-memory one."""
    return None if wh.path == ":memory:" else str(temp_folder(wh.path))


def _drop_chunk_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Remove what a failed chunk load left behind (the stage, conversion and staging tables)."""
    drop_stage(con, "__stage")
    con.execute(
        "drop view if exists __conv; drop table if exists __conv_t; drop table if exists __repeated; "
        "drop table if exists __quar; drop table if exists __free; drop table if exists __vres; "
        "drop table if exists __files; drop table if exists __refmap; drop table if exists __refnew"
    )


def _chunks(files: Sequence[SourceFile]) -> list[list[SourceFile]]:
    out: list[list[SourceFile]] = [[]]
    size = 0
    for f in files:
        if out[-1] and (size + f.size_bytes > CHUNK_BYTES or len(out[-1]) >= CHUNK_FILES):
            out.append([])
            size = 0
        out[-1].append(f)
        size += f.size_bytes
    return out


def _record_failure(
    wh: Warehouse, extract: str, file_name: str, exc: FileProblem, run_id: int | None, summary: IngestSummary
) -> None:
    """A file-level failure: nothing of the file is loaded; one quarantine row (no row number) says why."""
    log.warning("%s: not loaded (%s)", file_name, exc.detail)
    file_id = next_id(wh.con, "seq_file_id")
    wh.con.execute(
        "insert into quarantine values ($f, $e, $n, NULL, NULL, $r, current_timestamp)",
        {"f": file_id, "e": extract, "n": file_name, "r": f"file not loaded: {exc.detail}"},
    )
    summary.files.append(FileOutcome(extract, file_name, "failed", message=str(exc)))


def _load_chunk(
    wh: Warehouse,
    extract: CanonicalExtract,
    spec: ExtractMapping,
    files: list[SourceFile],
    *,
    classify: Classifier,
    run_id: int | None,
    today: dt.date,
    summary: IngestSummary,
    labels_seen: LabelsSeen,
    memo: PseudonymMemo | None = None,
) -> None:

    con = wh.con
    timed = summary.timed
    known_on = [f.known_on or today for f in files]
    with timed("read"):
        # The fast path reads and converts in one statement (timed here); the careful path converts below.
        typed = read_typed(con, extract, spec, files, known_on)
        if typed is None:
            rejects, failed = read_batch(con, "__stage", files, extract, spec)
        else:
            rejects, failed = [], {}
    with timed("convert"):
        if typed is None:
            sql, params = convert_sql(extract, spec, "__stage", "__conv_t")
            params["known_on"] = known_on
            for c in extract.columns:
                if c.kind in ("date", "timestamp"):
                    key = f"date_formats_{param_name(c.name)}"
                    params[key] = formats_by_use(con, "__stage", c.name, params[key])
            con.execute(sql, used_params(sql, params))
            drop_stage(con, "__stage")
            con.execute("create or replace temp view __conv as select *, rowid as __rid from __conv_t")
        failed.update(dayfirst_failures(con, extract, spec, files, failed, typed or {}))
        header_params = {
            f"hdr_{param_name(c)}": [f.headers[f.positions[c]] if c in f.positions else c for f in files]
            for c in extract.column_names
        }
        collect_quarantine(con, extract, files, rejects, header_params)
        stats = {
            int(i): (int(n), int(bad))
            for i, n, bad in con.sql(
                "select __file_idx, count(*), count(*) filter (where __bad) from __conv group by 1"
            ).fetchall()
        }
    counts = {i: n for i, (n, _) in stats.items()}
    with timed("validate"):
        vresults = validation.validate_batch(
            con, "__conv", extract, [f.name for f in files], counts, known_on, repeated="__repeated"
        )
        _stage_validation_results(con, vresults)
    ref_cols = [c for c in extract.column_names if c in REFERENCE_COLUMNS]
    with timed("classify_hash"):
        free_cols, mapped = _prepare_texts_and_references(wh, extract, classify, labels_seen, ref_cols, memo)
    with timed("pseudonymise"):
        new_refs = stage_reference_map(con, mapped) if mapped is not None else None
    reject_rows: dict[int, set[int]] = {}
    for r in rejects:
        reject_rows.setdefault(r.file_idx, set()).add(r.row)
    # One sequence call for the chunk's file ids (a call per file costs as much as the file's insert).
    file_ids = sorted(
        int(r[0])
        for r in con.sql("select nextval('seq_file_id') from range($n)", params={"n": len(files)}).fetchall()
    )
    loaded: list[tuple[int, FileOutcome]] = []
    for i, src in enumerate(files):
        if i in failed:
            _record_failure(wh, extract.name, src.name, failed[i], run_id, summary)
            continue
        n, bad = stats.get(i, (0, 0))
        n_rejects = len(reject_rows.get(i, ()))
        loaded.append(
            (
                i,
                FileOutcome(
                    extract.name, src.name, "loaded", n + n_rejects, n - bad, bad + n_rejects, known_on[i]
                ),
            )
        )
    with timed("insert"):
        try:
            _load_files(wh, extract, files, loaded, free_cols, run_id, summary, file_ids, ref_cols, new_refs)
        except Exception as exc:
            raise _WriteFailed(exc) from exc
    for i, outcome in loaded:
        summary.validation += [
            {"extract": extract.name, "file_name": outcome.file_name, **v} for v in vresults.get(i, [])
        ]
    _drop_chunk_tables(con)


def _stage_validation_results(
    con: duckdb.DuckDBPyConnection, vresults: dict[int, list[dict[str, Any]]]
) -> None:
    frame = pl.DataFrame(
        [{"__file_idx": i, **v} for i, rows in vresults.items() for v in rows],
        schema={
            "__file_idx": pl.Int32,
            "expectation": pl.String,
            "column": pl.String,
            "success": pl.Boolean,
            "unexpected_count": pl.Int64,
            "element_count": pl.Int64,
        },
    )
    con.register("__vres_view", frame.to_arrow())
    try:
        con.execute("create or replace temp table __vres as select * from __vres_view")
    finally:
        con.unregister("__vres_view")


def read_typed(
    con: duckdb.DuckDBPyConnection,
    extract: CanonicalExtract,
    spec: ExtractMapping,
    files: Sequence[SourceFile],
    known_on: list[dt.date],
) -> dict[str, str] | None:
    """The fast path: the typed read of ``readers.plan_typed_read`` and the conversion in one statement into
    ``__conv_t``, numbered by the view ``__conv``. Returns the typed columns and their formats, or None (nothing
    left behind) when the path cannot be taken or the read rejects anything: the chunk then goes the careful
    way, which names each bad row and column.

    A value the typed read cannot cast (a later file's amounts written '£1,250.00' where the first file's sample
    showed plain numbers) sends its column back to text once: the chunk is read again on the fast path with that
    column converted from text in the same statement, as the careful path would convert it, instead of the whole
    chunk going the careful way.

    Rows are numbered from the table's rowid: DuckDB keeps the files' order and the rows' order within each
    file, so ``rowid - (rows of earlier files) + 2`` is the row as a spreadsheet shows it (header = row 1).
    """
    kinds = {c.name: c.kind for c in extract.columns}
    as_text: set[str] = set()  # columns read as text after the reader could not cast one of their values
    while True:
        plan = plan_typed_read(con, files, extract, spec, accepted_date_formats(spec), as_text)
        if plan is None:
            return None
        sql, params = convert_sql(extract, spec, "", "__conv_t", plan.typed, source_sql=plan.sql)
        params.update(plan.params)
        params["known_on"] = known_on
        con.execute("drop table if exists __rej_err; drop table if exists __rej_scan")
        try:
            con.execute(sql, used_params(sql, params))
        except duckdb.Error:
            con.execute("drop table if exists __conv_t")
            return None
        # A typed date the reader parsed but whose year is outside 1000-9999 is unreadable to the careful path.
        unreadable = " or ".join(
            f"not {quote_identifier(c + '__readable')}"
            for c in plan.typed
            if kinds[c] in ("date", "timestamp")
        )
        per_file = con.sql(
            f"select __file_idx, count(*), count(*) filter (where {unreadable or 'false'}) from __conv_t "
            "group by 1"
        ).fetchall()
        rejected = con.sql("select count(*) from __rej_err").fetchall()[0][0]
        if not rejected and not sum(bad for _, _, bad in per_file):
            break
        con.execute("drop table __conv_t")
        # one second read at most: its columns are the first read's, less those it could not cast
        retry = rejected_columns(con, files) if rejected and not as_text else None
        if not retry or not retry <= set(plan.typed):
            return None
        as_text |= retry
    offsets = row_offsets({int(i): int(n) for i, n, _ in per_file}, range(len(files)))
    con.execute(
        f"create or replace temp view __conv as select __file_idx, {row_number_sql(offsets)} as __row, "
        "* exclude (__file_idx), rowid as __rid from __conv_t"
    )
    return plan.typed


def _free_text_key(extract: CanonicalExtract) -> tuple[str, bool] | None:
    """The free-text column of the extract and whether its labels also depend on the SOR code (repairs)."""
    free = [c for c in extract.columns if c.is_free_text]
    if not free:
        return None
    return free[0].name, extract.name == "repairs"


def _prepare_texts_and_references(
    wh: Warehouse,
    extract: CanonicalExtract,
    classify: Classifier,
    labels_seen: LabelsSeen,
    ref_cols: Sequence[str],
    memo: PseudonymMemo | None = None,
) -> tuple[list[str], pl.DataFrame | None]:
    """The chunk's values that Python works on, each distinct one once:

    - each distinct free text of the good rows classified and encrypted into ``__free``; the value columns the
      insert takes from it are returned (joined back to the rows on the text, see ``_free_join``);
    - each distinct reference with its pseudonym (``ref, household, pseudonym``; None when the database is
      unencrypted), for ``stage_reference_map``.

    A chunk's repeated texts (a weekly file says "Lock change" many times) are classified and encrypted once
    (a twentieth of the encryptions at scale, docs/scaling.md), with no row-by-row round trip to Python.
    Equal texts within one chunk therefore share one ciphertext (each distinct text still gets a fresh random
    nonce); see docs/security.md.

    Encryption and hashing (Python, holding the GIL) run on a side thread while classification (polars, which
    releases it) runs here: the two overlap on two cores. DuckDB is only queried on this thread, before and after.
    """
    con = wh.con
    cipher = wh.cipher
    refs = (
        distinct_references(con, [("__conv", c) for c in ref_cols], "not __bad") if cipher.encrypts else None
    )
    key = _free_text_key(extract)
    if key is None:
        return [], None if refs is None else with_pseudonyms(cipher, refs, memo)
    name, has_code = key
    text_col = quote_identifier(name)
    code_sql = quote_identifier("sor_code") if has_code else "NULL::VARCHAR"
    unique = query(
        con,
        f"select distinct {text_col} as text, {code_sql} as code from __conv "
        f"where not __bad and {text_col} is not null",
    )
    texts = unique["text"].to_list()

    def seal_and_hash() -> tuple[list[bytes | None], pl.DataFrame | None]:
        return cipher.encrypt_many(texts), None if refs is None else with_pseudonyms(cipher, refs, memo)

    enc = f"{name}_enc"
    out_cols: list[str] = [enc]
    with ThreadPoolExecutor(1, thread_name_prefix="redflags-encrypt") as pool:
        side = pool.submit(seal_and_hash)
        labels_frame = _labels(unique, extract, classify, labels_seen, has_code)
        sealed, mapped = side.result()
    frame = unique.with_columns(pl.Series(enc, sealed, dtype=pl.Binary))
    if labels_frame is not None:
        frame = pl.concat([frame, labels_frame], how="horizontal")
        out_cols += list(RAW_EXTRA[extract.name])
    con.register("__free_view", frame.to_arrow())
    try:
        con.execute("create or replace temp table __free as select * from __free_view")
    finally:
        con.unregister("__free_view")
    return out_cols, mapped


def _free_join(extract: CanonicalExtract) -> str:
    """How ``__conv c`` finds its row of ``__free f``: by the text (and the SOR code, for repairs)."""
    key = _free_text_key(extract)
    assert key is not None
    name, has_code = key
    on = f"f.text = c.{quote_identifier(name)}"
    if has_code:
        on += f" and f.code is not distinct from c.{quote_identifier('sor_code')}"
    return f"__conv c left join __free f on {on}"


def _labels(
    unique: pl.DataFrame,
    extract: CanonicalExtract,
    classify: Classifier,
    labels_seen: LabelsSeen,
    has_code: bool,
) -> pl.DataFrame | None:
    """The classification columns (``RAW_EXTRA``) for each (text, code) of ``unique`` (distinct, no null text),
    in its order; None for extracts that store none."""
    wanted = RAW_EXTRA.get(extract.name, ())
    if not wanted:
        return None
    new = unique.select("text", "code")
    # Texts seen in an earlier chunk of this load keep their labels: only new ones are classified.
    seen = labels_seen.frame
    if seen is not None:
        new = new.join(seen.select("text", "code"), on=["text", "code"], how="anti", nulls_equal=True)
    labels = classify(new["text"], new["code"] if has_code else None)
    if labels.height != new.height:
        raise RuntimeError(f"the classifier returned {labels.height} rows for {new.height} texts")
    labels = pl.concat([new, labels.select(list(wanted))], how="horizontal")
    if seen is not None:
        labels = pl.concat([seen, labels])
    labels_seen.frame = labels
    joined = unique.select("text", "code").join(
        labels, on=["text", "code"], how="left", nulls_equal=True, maintain_order="left"
    )
    return joined.select(list(wanted))


def _load_files(
    wh: Warehouse,
    extract: CanonicalExtract,
    files: Sequence[SourceFile],
    loaded: list[tuple[int, FileOutcome]],
    free_cols: list[str],
    run_id: int | None,
    summary: IngestSummary,
    file_ids: list[int],
    ref_cols: list[str],
    new_refs: pl.DataFrame | None,
) -> None:
    """The chunk's good files in one transaction: raw rows (references as pseudonyms, new references sealed in a
    book), quarantine rows, validation results, loaded_files.

    Each file is still all or nothing (its rows and its ``loaded_files`` row commit together); a transaction per
    file cost a WAL sync and four statements each, which at weekly files over five years was most of the load.
    """
    if not loaded:
        return
    con = wh.con
    manifest = pl.DataFrame(
        {
            "__file_idx": [i for i, _ in loaded],
            "file_id": [file_ids[i] for i, _ in loaded],
            "file_name": [o.file_name for _, o in loaded],
            "file_path": [str(files[i].path) for i, _ in loaded],
            "sha256": [files[i].sha256 for i, _ in loaded],
            "size_bytes": [files[i].size_bytes for i, _ in loaded],
            "rows_read": [o.rows_read for _, o in loaded],
            "rows_loaded": [o.rows_loaded for _, o in loaded],
            "rows_quarantined": [o.rows_quarantined for _, o in loaded],
            "known_on": [o.known_on for _, o in loaded],
        },
        schema_overrides={"__file_idx": pl.Int32, "file_id": pl.Int32, "known_on": pl.Date},
    )
    con.register("__files_view", manifest.to_arrow())
    try:
        con.execute("create or replace temp table __files as select * from __files_view")
    finally:
        con.unregister("__files_view")
    free_names = {c.name for c in extract.columns if c.is_free_text}
    target_cols = [quote_identifier(c) for c in extract.column_names if c not in free_names]
    # References go in as their pseudonyms (joined from the chunk's map) when the database is encrypted.
    aliases, ref_joins = map_joins(ref_cols) if new_refs is not None else ({}, "")
    select_cols = [
        f"{aliases[name]}.pseudonym" if name in aliases else f"c.{col}"
        for name, col in zip(
            [c for c in extract.column_names if c not in free_names], target_cols, strict=True
        )
    ] + [f"f.{quote_identifier(c)}" for c in free_cols]
    target_cols += [quote_identifier(c) for c in free_cols]
    _insert_chunk(wh, extract, loaded, target_cols, select_cols, free_cols, run_id, ref_joins, new_refs)
    _report_loaded(con, loaded, summary)


def _insert_chunk(
    wh: Warehouse,
    extract: CanonicalExtract,
    loaded: list[tuple[int, FileOutcome]],
    target_cols: list[str],
    select_cols: list[str],
    free_cols: list[str],
    run_id: int | None,
    ref_joins: str,
    new_refs: pl.DataFrame | None,
) -> None:
    # Each row finds its text's ciphertext and labels by the text itself, and its references' pseudonyms by the
    # references (parallel hash joins on the chunk's distinct values).
    con = wh.con
    source = (_free_join(extract) if free_cols else "__conv c") + (f" {ref_joins}" if ref_joins else "")
    with transaction(con):
        store_new_references(con, wh.cipher, new_refs)
        if any(o.rows_loaded for _, o in loaded):
            con.execute(
                f"insert into {quote_identifier(extract.table)} ({', '.join(target_cols)}, file_id, "
                f"source_row, known_on) "
                f"select {', '.join(select_cols)}, m.file_id, c.__row, m.known_on "
                f"from {source} join __files m using (__file_idx) where not c.__bad"
            )
        if any(o.rows_quarantined for _, o in loaded):
            con.execute(
                "insert into quarantine select m.file_id, $e, m.file_name, q.__row, q.column_name, q.reason, "
                "current_timestamp from __quar q join __files m using (__file_idx) "
                "order by m.file_id, q.__row, q.column_name",
                {"e": extract.name},
            )
        con.execute(
            'insert into validation_results select $run, $e, m.file_name, v.expectation, v."column", v.success, '
            "v.unexpected_count, v.element_count, current_timestamp from __vres v join __files m using (__file_idx) "
            "order by m.file_id",
            {"run": run_id, "e": extract.name},
        )
        con.execute(
            "insert into loaded_files select file_id, $e, file_name, file_path, sha256, size_bytes, rows_read, "
            "rows_loaded, rows_quarantined, known_on, current_timestamp, $run from __files order by file_id",
            {"e": extract.name, "run": run_id},
        )


def _report_loaded(
    con: duckdb.DuckDBPyConnection, loaded: list[tuple[int, FileOutcome]], summary: IngestSummary
) -> None:
    for i, outcome in loaded:
        if outcome.rows_quarantined and len(summary.row_messages) < MAX_ROW_MESSAGES:
            for row, column, reason in con.sql(
                "select __row, column_name, reason from __quar where __file_idx = $i order by __row, "
                "column_name limit $n",
                params={"i": i, "n": MAX_ROW_MESSAGES - len(summary.row_messages)},
            ).fetchall():
                where = f", column '{column}'" if column else ""
                summary.row_messages.append(f"{outcome.file_name} row {row}{where}: {reason}")
        summary.files.append(outcome)
        log.info(
            "%s: %d rows loaded, %d quarantined",
            outcome.file_name,
            outcome.rows_loaded,
            outcome.rows_quarantined,
        )


__all__ = [
    "CanonicalColumn",
    "Classifier",
    "FileOutcome",
    "IngestSummary",
    "load_extract",
]
