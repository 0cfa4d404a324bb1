"""Reading a landlord's export files (CSV, xlsx, Parquet) into a DuckDB table of text, with row numbers.

Every reader fills the same shape, a temporary table of ``__file_idx`` (position in the batch), ``__row`` (the row
a person sees when opening the file: the CSV header is row 1; an xlsx row is the sheet's own row number; a
Parquet row counts as if it had a header row, so the first record is row 2) and one VARCHAR column per canonical
column.

CSV files of one layout are read in a single DuckDB ``read_csv`` over a list of files (``all_varchar``,
``store_rejects`` for lines with too few or too many fields). The landlord's headers never reach SQL: the header
is parsed in Python and DuckDB reads positional columns ``c0, c1, ...``.

Encodings (pipelines.ingest.files): a mapping without ``encoding`` is detected per file (UTF-8 with or without
BOM; otherwise Windows-1252, logged); a declared encoding is honoured strictly, and bytes that do not decode are a
file-level problem naming the row and column. Windows-1252 and Latin-1 files are transcoded to a temporary UTF-8
copy, which DuckDB then reads.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.ingest.files import (
    FileProblem,
    RowReject,
    SourceFile,
    parse_header_line,
    quote_identifier,
    sniff_delimiter,
)
from pipelines.ingest.mapping import CanonicalExtract, ExtractMapping

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------------------
# Fingerprint, encoding, transcoding


# ------------------------------------------------------------------------------------------------------------
# Headers


# Characters no header of a text export holds (tabs and line breaks aside): a binary or mangled file.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
# A header record (quoted names may hold line breaks) is read up to this many characters.
_HEADER_LIMIT = 256 * 1024


def read_csv_header(src: SourceFile, delimiter: str | None) -> None:
    """The file's delimiter (the mapping's, or sniffed from the first line) and header names. Reads the header
    record's lines only: a file is opened once more per load for this, so reading more is a cost per file."""
    assert src.read_path is not None
    with src.read_path.open("r", encoding="utf-8-sig", newline="") as fh:
        first = fh.readline(_HEADER_LIMIT)
        if not first.strip():
            raise FileProblem(src.name, "row 1 (the header) is blank")
        src.delimiter = delimiter or sniff_delimiter(first.split("\n", 1)[0])
        text = first
        # An odd number of quotes: a quoted name runs over a line break, so the record goes on.
        while text.count('"') % 2 and len(text) < _HEADER_LIMIT:
            more = fh.readline(_HEADER_LIMIT - len(text))
            if not more:
                break
            text += more
    headers = parse_header_line(text, src.delimiter)
    if any(_CONTROL.search(h) for h in headers):
        raise FileProblem(src.name, "row 1 (the header) is not text: it holds control characters")
    src.headers = tuple(headers)


def match_columns(
    src: SourceFile, extract: CanonicalExtract, spec: ExtractMapping, header_row: int = 1
) -> None:
    """Find each canonical column in the file's header; a missing required column is a file-level problem."""
    exact = {h: i for i, h in reversed(list(enumerate(src.headers)))}
    folded: dict[str, list[int]] = {}
    for i, h in enumerate(src.headers):
        folded.setdefault(h.lower(), []).append(i)
    positions: dict[str, int] = {}
    missing: list[str] = []
    for column in extract.columns:
        wanted = spec.columns.get(column.name, column.name).strip()
        if wanted in exact:
            idx: int | None = exact[wanted]
        else:
            hits = folded.get(wanted.lower(), [])
            idx = hits[0] if len(hits) == 1 else None
        if idx is not None and len(folded.get(wanted.lower(), [])) > 1 and src.headers.count(wanted) != 1:
            raise FileProblem(
                src.name, f"row {header_row}: the header '{wanted}' ({column.name}) appears more than once"
            )
        if idx is None:
            if column.required:
                missing.append(f"'{wanted}' ({column.name})" if wanted != column.name else f"'{wanted}'")
            continue
        positions[column.name] = idx
    if missing:
        raise FileProblem(
            src.name,
            f"row {header_row} (the header) lacks the required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}",
        )
    src.positions = positions


def prepare_file(
    src: SourceFile, extract: CanonicalExtract, spec: ExtractMapping, con: duckdb.DuckDBPyConnection
) -> None:
    """Read the header (and for xlsx check the sheet) and match columns; raises FileProblem."""
    if src.fmt == "csv":
        read_csv_header(src, spec.delimiter)
        match_columns(src, extract, spec)
    elif src.fmt == "parquet":
        try:
            names = [
                r[0]
                for r in con.sql(
                    "describe select * from read_parquet($p)", params={"p": str(src.path)}
                ).fetchall()
            ]
        except duckdb.Error:
            raise FileProblem(src.name, "is not a readable Parquet file") from None
        src.headers = tuple(names)
        match_columns(src, extract, spec)
    else:
        src.headers = tuple(_xlsx_header(src, spec))
        match_columns(src, extract, spec, header_row=spec.header_row)


# ------------------------------------------------------------------------------------------------------------
# Reading into the stage table


def stage_columns_sql(extract: CanonicalExtract) -> str:
    return ", ".join(f"{quote_identifier(c)} VARCHAR" for c in extract.column_names)


def drop_stage(con: duckdb.DuckDBPyConnection, stage: str) -> None:
    """Drop the stage, a table or a view over the CSV read (``read_batch``), and that read."""
    _drop_temp(con, stage)
    con.execute("drop table if exists __csv_read")


def _drop_temp(con: duckdb.DuckDBPyConnection, stage: str) -> None:
    kind = con.sql(
        "select 'view' from duckdb_views() where view_name = $n and temporary "
        "union all select 'table' from duckdb_tables() where table_name = $n and temporary",
        params={"n": stage},
    ).fetchall()
    for (what,) in kind:
        con.execute(f"drop {what} {quote_identifier(stage)}")


def create_stage(con: duckdb.DuckDBPyConnection, stage: str, extract: CanonicalExtract) -> None:
    con.execute(
        f"create or replace temp table {quote_identifier(stage)} "
        f"(__file_idx INTEGER, __row BIGINT, {stage_columns_sql(extract)})"
    )


def read_batch(
    con: duckdb.DuckDBPyConnection,
    stage: str,
    files: Sequence[SourceFile],
    extract: CanonicalExtract,
    spec: ExtractMapping,
) -> tuple[list[RowReject], dict[int, FileProblem]]:
    """Append every file to ``stage`` (positions in ``files`` are ``__file_idx``); returns row rejects and
    failed files.

    A file that fails as a whole is reported in the returned dict and has no rows in ``stage``.
    """
    create_stage(con, stage, extract)
    rejects: list[RowReject] = []
    failed: dict[int, FileProblem] = {}
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, src in enumerate(files):
        if src.fmt == "csv" and not src.has_blank_lines:
            key: tuple[Any, ...] = (
                "csv",
                src.delimiter,
                len(src.headers),
                tuple(sorted(src.positions.items())),
            )
        elif src.fmt == "parquet":
            key = ("parquet", src.headers, tuple(sorted(src.positions.items())))
        else:
            key = ("single", i)
        groups.setdefault(key, []).append(i)
    if len(groups) == 1 and next(iter(groups))[0] == "csv":
        # The usual chunk: files of one layout. Read straight into the stage (no copy of every value).
        idxs = next(iter(groups.values()))
        try:
            return _read_csv_group(con, stage, files, idxs, extract, become_stage=True), failed
        except (FileProblem, duckdb.Error):
            drop_stage(con, stage)
            create_stage(con, stage, extract)  # the careful path below finds the file at fault
    for key, idxs in groups.items():
        try:
            if key[0] == "csv":
                rejects += _read_csv_group(con, stage, files, idxs, extract)
            elif key[0] == "parquet":
                _read_parquet_group(con, stage, files, idxs, extract)
            else:
                rejects += _read_single(con, stage, files, idxs[0], extract, spec)
        except FileProblem as exc:
            failed[idxs[0]] = exc
        except duckdb.Error:
            if len(idxs) == 1:
                failed[idxs[0]] = FileProblem(files[idxs[0]].name, "could not be read as a table")
                con.execute(f"delete from {quote_identifier(stage)} where __file_idx = $i", {"i": idxs[0]})
                continue
            # One file spoilt the group: read them one by one to find it.
            con.execute(
                f"delete from {quote_identifier(stage)} where list_contains($i, __file_idx)", {"i": idxs}
            )
            for i in idxs:
                try:
                    if key[0] == "csv":
                        rejects += _read_csv_group(con, stage, files, [i], extract)
                    else:
                        _read_parquet_group(con, stage, files, [i], extract)
                except duckdb.Error:
                    con.execute(f"delete from {quote_identifier(stage)} where __file_idx = $i", {"i": i})
                    failed[i] = FileProblem(files[i].name, "could not be read as a table")
    rejects = [r for r in rejects if r.file_idx not in failed]
    return rejects, failed


def row_offsets(counts: Mapping[int, int], idxs: Sequence[int]) -> list[int]:
    """For each file index (a dense list: position = ``__file_idx``), the rows of a read before the file's
    first row, the files taken in the order ``idxs`` (DuckDB keeps the files' order and each file's rows' order
    when it writes a table from ``read_csv``)."""
    offsets = [0] * (max(idxs, default=0) + 1)
    running = 0
    for i in idxs:
        offsets[i] = running
        running += int(counts.get(i, 0))
    return offsets


def row_number_sql(offsets: Sequence[int]) -> str:
    """Each row's number as a person sees it in its file (header = row 1), from its table's rowid and
    ``row_offsets`` (whole numbers only: written into the SQL, never a value from a file)."""
    return f"rowid - [{', '.join(str(int(o)) for o in offsets)}][__file_idx + 1] + 2"


def _file_counts(con: duckdb.DuckDBPyConnection, table: str) -> dict[int, int]:
    return {
        int(i): int(n)
        for i, n in con.sql(
            f"select __file_idx, count(*) from {quote_identifier(table)} group by 1"
        ).fetchall()
    }


def _number_rows_as_stage(con: duckdb.DuckDBPyConnection, stage: str, idxs: Sequence[int]) -> None:
    """Make ``stage`` a view of ``__csv_read`` with each row's number as seen in its file (header = row 1)."""
    offsets = row_offsets(_file_counts(con, "__csv_read"), idxs)
    _drop_temp(con, stage)  # the empty table read_batch made, or an earlier view
    con.execute(
        f"create or replace temp view {quote_identifier(stage)} as select __file_idx, "
        f"{row_number_sql(offsets)} as __row, * exclude (__file_idx) from __csv_read"
    )


# DuckDB's CSV reader types for contract kinds it can parse as the loader would (checked in the tests).
def _read_csv_sql(paths: str, delim: str, columns: str, options: str = "") -> str:
    """DuckDB's CSV reader as the loader reads an export: a header row, the file's delimiter, fields quoted with
    double quotes (doubled inside), the given columns by position, nothing sniffed. The arguments are SQL
    (bound parameters such as ``$paths``); ``options`` adds more, e.g. ``", all_varchar = true"``. The fast
    path's sample, its typed read and the careful text read all read a file this one way."""
    return (
        f"read_csv({paths}, header = true, delim = {delim}, quote = '\"', escape = '\"', columns = {columns}, "
        f"auto_detect = false{options})"
    )


_TYPED_KINDS = {"date": "DATE", "timestamp": "TIMESTAMP", "amount": "DECIMAL(14, 2)"}


@dataclass
class TypedRead:
    """The fast path's read of a chunk: a SELECT over DuckDB's CSV reader with dates and amounts typed.

    ``sql`` yields ``__file_idx`` (the position in the chunk's file list) and the canonical columns, in file
    order (no row numbers: the caller numbers rows from its table's rowid); ``params`` are its bound values
    (names starting ``read_``). ``typed``: column -> the format it is parsed with ('' for amounts). Rejected
    lines land in ``__rej_err``/``__rej_scan``: the caller refuses the read if there are any.
    """

    typed: dict[str, str]
    sql: str
    params: dict[str, Any]


def plan_typed_read(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[SourceFile],
    extract: CanonicalExtract,
    spec: ExtractMapping,
    date_formats: Sequence[str],
    as_text: Collection[str] = (),
) -> TypedRead | None:
    """The fast path, if it can be taken: every file CSV of one layout, and a sample showing one format for
    each date column. Reads nothing but the samples. Columns in ``as_text`` are read as text and converted in
    the same statement (the careful conversion), whatever the sample shows.

    None sends the chunk down the careful path (``read_batch``, then conversion from text), which finds and
    names each bad row and column. The caller also goes the careful way when the typed read itself rejects
    anything (a bad line, an unreadable value, a year outside 1000-9999).
    """
    if not files or any(f.fmt != "csv" or f.has_blank_lines for f in files):
        return None
    first = files[0]
    layout = (first.delimiter, first.headers, tuple(sorted(first.positions.items())))
    if any((f.delimiter, f.headers, tuple(sorted(f.positions.items()))) != layout for f in files):
        return None
    names = [f"c{i}" for i in range(len(first.headers))]
    types = dict.fromkeys(names, "VARCHAR")
    kinds = {c.name: c for c in extract.columns}
    candidates = {  # a value-mapped column is text before its map
        column: pos
        for column, pos in first.positions.items()
        if kinds[column].kind in _TYPED_KINDS and column not in spec.value_map and column not in as_text
    }
    dates = {c: pos for c, pos in candidates.items() if kinds[c].kind != "amount"}
    amounts = {c: pos for c, pos in candidates.items() if kinds[c].kind == "amount"}
    sampled, plain = _sample_first_file(con, first, names, dates, amounts, date_formats)
    if any(chosen is None for chosen in sampled.values()):
        return None  # a date column read by no one format: the careful path tries them row by row
    # A date column blank in the sample, or an amount written '£1,250.00' or '(12.50)', stays text for the
    # careful conversion (in the same statement).
    typed = {c: chosen for c, chosen in sampled.items() if chosen} | dict.fromkeys(plain, "")
    for column in typed:
        types[names[candidates[column]]] = _TYPED_KINDS[kinds[column].kind]
    date_fmts = {typed[c] for c in typed if kinds[c].kind == "date"}
    ts_fmts = {typed[c] for c in typed if kinds[c].kind == "timestamp"}
    if len(date_fmts) > 1 or len(ts_fmts) > 1:
        return None
    options = ""
    params: dict[str, Any] = {
        "read_paths": [str(f.read_path) for f in files],
        "read_delim": first.delimiter,
        "read_columns": types,
    }
    if date_fmts:
        options += ", dateformat = $read_datefmt"
        params["read_datefmt"] = date_fmts.pop()
    if ts_fmts:
        options += ", timestampformat = $read_tsfmt"
        params["read_tsfmt"] = ts_fmts.pop()
    sql = (
        "select file_index::INTEGER as __file_idx, "
        f"{_select_positions(extract, first.positions, names, aliased=True, keep_types=True)} "
        "from "
        + _read_csv_sql(
            "$read_paths",
            "$read_delim",
            "$read_columns",
            ", store_rejects = true, rejects_table = '__rej_err', rejects_scan = '__rej_scan'" + options,
        )
    )
    return TypedRead(typed, sql, params)


def rejected_columns(con: duckdb.DuckDBPyConnection, files: Sequence[SourceFile]) -> set[str] | None:
    """After a typed read (``plan_typed_read``) that rejected lines: the canonical columns holding the values it
    could not cast (a later file's amounts written '£1,250.00', dates in another format), to be read as text
    instead; None when any line was rejected for anything else (a broken line: the careful path names it)."""
    found = con.sql("select distinct error_type::VARCHAR, column_name from __rej_err order by all").fetchall()
    names = {f"c{pos}": column for column, pos in files[0].positions.items()}
    if not found or any(kind != "CAST" or name not in names for kind, name in found):
        return None
    return {names[name] for _, name in found}


def format_hits(
    con: duckdb.DuckDBPyConnection,
    values_sql: str,
    params: dict[str, Any],
    columns: int,
    formats: Sequence[str],
    extra: Sequence[str] = (),
) -> tuple[list[tuple[int, list[int]]], list[Any]]:
    """For each column ``x0``, ``x1``, ... of ``values_sql``, over its first 2,000 rows: how many values are not
    blank, and how many of them each date format reads (one read of the sample for all the columns); and the
    value of each ``extra`` aggregate over the same rows."""
    counts = [
        f"count(x{i})" + "".join(f", count(try_strptime(x{i}, $__f{j}))" for j in range(len(formats)))
        for i in range(columns)
    ]
    trimmed = ", ".join(f"nullif(trim(x{i}), '') as x{i}" for i in range(columns))
    sample = f"select * replace ({trimmed}) from ({values_sql})" if columns else values_sql
    row = con.sql(
        f"select {', '.join([*counts, *extra])} from ({sample} limit 2000)",
        params={**params, **{f"__f{j}": f for j, f in enumerate(formats)}},
    ).fetchall()[0]
    width = len(formats) + 1
    hits = [
        (int(row[i * width]), [int(n) for n in row[i * width + 1 : (i + 1) * width]]) for i in range(columns)
    ]
    return hits, list(row[columns * width :])


def _sample_first_file(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    names: list[str],
    dates: Mapping[str, int],
    amounts: Mapping[str, int],
    formats: Sequence[str],
) -> tuple[dict[str, str | None], set[str]]:
    """One read of the first 2,000 rows of the file, for the fast path's types (columns by position).

    Dates: the one format that reads every value of the column; "" when the sample has no value; None when no
    one format reads them all. Amounts: the columns whose values are all plain numbers (or blank), which the CSV
    reader can type; '£12.50' or '1,250' would make the typed read reject the chunk after reading it whole, so
    such a column is read as text and converted like the careful path converts it.
    """
    if not dates and not amounts:
        return {}, set()
    date_columns, amount_columns = list(dates), list(amounts)
    values = [f"{quote_identifier(names[dates[c]])} as x{i}" for i, c in enumerate(date_columns)]
    values += [
        f"nullif(trim({quote_identifier(names[amounts[c]])}), '') as a{i}"
        for i, c in enumerate(amount_columns)
    ]
    casts = [
        f"count(a{i}) = count(try_cast(a{i} as {_TYPED_KINDS['amount']}))" for i in range(len(amount_columns))
    ]
    hits, plain = format_hits(
        con,
        f"select {', '.join(values)} from {_read_csv_sql('$p', '$d', '$c', ', ignore_errors = true')}",
        {"p": str(src.read_path), "d": src.delimiter, "c": dict.fromkeys(names, "VARCHAR")},
        len(date_columns),
        formats,
        casts,
    )
    chosen = {
        c: "" if not total else next((f for f, n in zip(formats, by_format, strict=True) if n == total), None)
        for c, (total, by_format) in zip(date_columns, hits, strict=True)
    }
    return chosen, {c for c, ok in zip(amount_columns, plain, strict=True) if ok}


def _select_positions(
    extract: CanonicalExtract,
    positions: dict[str, int],
    source_names: Sequence[str],
    *,
    aliased: bool = False,
    keep_types: bool = False,
) -> str:
    parts = []
    for column in extract.column_names:
        if column in positions:
            part = quote_identifier(source_names[positions[column]]) + ("" if keep_types else "::VARCHAR")
        else:
            part = "NULL::VARCHAR"
        parts.append(f"{part} as {quote_identifier(column)}" if aliased else part)
    return ", ".join(parts)


def _read_csv_group(
    con: duckdb.DuckDBPyConnection,
    stage: str,
    files: Sequence[SourceFile],
    idxs: list[int],
    extract: CanonicalExtract,
    *,
    become_stage: bool = False,
) -> list[RowReject]:
    """Append the files (one layout) to ``stage``; with ``become_stage`` the read itself becomes the stage."""
    first = files[idxs[0]]
    n = len(first.headers)
    names = [f"c{i}" for i in range(n)]
    paths = [str(files[i].read_path) for i in idxs]
    con.execute("drop table if exists __rej_err; drop table if exists __rej_scan")
    # A fresh table per read: DuckDB keeps the files' order, so rowid numbers the rows (``row_number_sql``).
    con.execute(
        "create or replace temp table __csv_read as "
        f"select $idx[file_index::BIGINT + 1]::INTEGER as __file_idx, "
        f"{_select_positions(extract, first.positions, names, aliased=True)} "
        "from "
        + _read_csv_sql(
            "$paths",
            "$delim",
            "$columns",
            ", all_varchar = true, store_rejects = true, rejects_table = '__rej_err', rejects_scan = '__rej_scan'",
        ),
        {"idx": idxs, "paths": paths, "delim": first.delimiter, "columns": dict.fromkeys(names, "VARCHAR")},
    )
    if become_stage:
        _number_rows_as_stage(con, stage, idxs)
    else:
        offsets = row_offsets(_file_counts(con, "__csv_read"), idxs)
        con.execute(
            f"insert into {quote_identifier(stage)} select __file_idx, {row_number_sql(offsets)}, "
            "* exclude (__file_idx) from __csv_read"
        )
        con.execute("drop table __csv_read")
    rej = con.sql(
        "select s.file_path, e.line, min(e.column_name), min(e.error_type), count(*) "
        "from __rej_err e join __rej_scan s using (scan_id, file_id) group by all order by 1, 2"
    ).fetchall()
    by_path = {str(files[i].read_path): i for i in idxs}
    rejects: list[RowReject] = []
    rejected_lines: dict[int, list[int]] = {}
    for path, line, col, error_type, _ in rej:
        i = by_path[path]
        header = files[i].headers[int(col[1:])] if col and col[1:].isdigit() else None
        if error_type == "MISSING COLUMNS":
            reason = "the row has fewer fields than the header (a truncated line?)"
        elif error_type == "TOO MANY COLUMNS":
            reason = "the row has more fields than the header (an unquoted delimiter?)"
        elif error_type == "INVALID UNICODE":
            reason = "the row holds bytes that are not valid text"
        else:
            reason = "the row could not be split into fields (an unclosed quote?)"
        rejects.append(RowReject(i, int(line), header, reason))
        rejected_lines.setdefault(i, []).append(int(line))
    q = quote_identifier(stage)
    if become_stage and rejected_lines:
        # Renumbering needs a table: materialise the view (rare: only chunks with rejected lines).
        con.execute(f"create or replace temp table __stage_rows as select * from {q}")
        drop_stage(con, stage)
        con.execute(f"alter table __stage_rows rename to {q}")
    for i, lines in rejected_lines.items():
        # Accepted rows were numbered as if rejected lines were absent: shift the rows after each one.
        for line in sorted(set(lines)):
            con.execute(
                f"update {q} set __row = __row + 1 where __file_idx = $i and __row >= $line",
                {"i": i, "line": line},
            )
    return rejects


def _read_parquet_group(
    con: duckdb.DuckDBPyConnection,
    stage: str,
    files: Sequence[SourceFile],
    idxs: list[int],
    extract: CanonicalExtract,
) -> None:
    first = files[idxs[0]]
    paths = [str(files[i].path) for i in idxs]
    con.execute(
        f"insert into {quote_identifier(stage)} "
        f"select $idx[list_position($paths, filename)], file_row_number + 2, "
        f"{_select_positions(extract, first.positions, first.headers)} "
        "from read_parquet($paths, filename = true, file_row_number = true)",
        {"idx": idxs, "paths": paths},
    )


def _read_single(
    con: duckdb.DuckDBPyConnection,
    stage: str,
    files: Sequence[SourceFile],
    i: int,
    extract: CanonicalExtract,
    spec: ExtractMapping,
) -> list[RowReject]:
    src = files[i]
    if src.fmt == "xlsx":
        rows: Iterable[tuple[int, list[str | None]]] = _xlsx_rows(src, spec)
        rejects: list[RowReject] = []
    else:
        rows, rejects = _csv_rows_exact(src, i)
    table = _rows_to_arrow(rows, i, src, extract)
    con.register("__single_rows", table)
    try:
        con.execute(f"insert into {quote_identifier(stage)} select * from __single_rows")
    finally:
        con.unregister("__single_rows")
    return rejects


def _rows_to_arrow(
    rows: Iterable[tuple[int, list[str | None]]], i: int, src: SourceFile, extract: CanonicalExtract
) -> pa.Table:
    row_numbers: list[int] = []
    columns: dict[str, list[str | None]] = {c: [] for c in extract.column_names}
    picks = [(c, src.positions.get(c)) for c in extract.column_names]
    for number, values in rows:
        row_numbers.append(number)
        for c, pos in picks:
            columns[c].append(values[pos] if pos is not None and pos < len(values) else None)
    arrays = {
        "__file_idx": pa.array([i] * len(row_numbers), pa.int32()),
        "__row": pa.array(row_numbers, pa.int64()),
        **{c: pa.array(v, pa.string()) for c, v in columns.items()},
    }
    return pa.table(arrays)


def _csv_rows_exact(src: SourceFile, i: int) -> tuple[list[tuple[int, list[str | None]]], list[RowReject]]:
    """The careful path for files DuckDB would number differently (blank lines): Python's csv module."""
    assert src.read_path is not None
    rows: list[tuple[int, list[str | None]]] = []
    rejects: list[RowReject] = []
    n = len(src.headers)
    with src.read_path.open("r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=src.delimiter, quotechar='"', strict=False)
        try:
            for number, record in enumerate(reader, start=1):
                if number == 1 or not record:
                    continue
                if len(record) < n:
                    missing = src.headers[len(record)]
                    rejects.append(
                        RowReject(
                            i, number, missing, "the row has fewer fields than the header (a truncated line?)"
                        )
                    )
                    continue
                if len(record) > n and any(v.strip() for v in record[n:]):
                    rejects.append(
                        RowReject(
                            i,
                            number,
                            None,
                            "the row has more fields than the header (an unquoted delimiter?)",
                        )
                    )
                    continue
                rows.append((number, [v if v.strip() else None for v in record[:n]]))
        except csv.Error:
            raise FileProblem(src.name, f"row {number}: the file cannot be split into fields") from None
    return rows, rejects


# ------------------------------------------------------------------------------------------------------------
# xlsx


def _open_sheet(src: SourceFile, spec: ExtractMapping) -> Any:
    import openpyxl

    try:
        book = openpyxl.load_workbook(src.path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged or mislabelled file
        raise FileProblem(src.name, "is not a readable .xlsx workbook") from None
    if spec.sheet is None:
        return book, book.worksheets[0]
    for ws in book.worksheets:
        if ws.title == spec.sheet:
            return book, ws
    for ws in book.worksheets:
        if ws.title.strip().lower() == spec.sheet.strip().lower():
            return book, ws
    book.close()
    raise FileProblem(
        src.name, f"has no sheet '{spec.sheet}' (sheets: {', '.join(repr(w.title) for w in book.worksheets)})"
    )


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return (
            value.isoformat(sep=" ")
            if (value.hour, value.minute, value.second) != (0, 0, 0)
            else value.date().isoformat()
        )
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _xlsx_header(src: SourceFile, spec: ExtractMapping) -> list[str]:
    book, ws = _open_sheet(src, spec)
    try:
        for row in ws.iter_rows(min_row=spec.header_row, max_row=spec.header_row, values_only=True):
            headers = [(_cell_text(v) or "").strip() for v in row]
            while headers and not headers[-1]:
                headers.pop()
            if headers:
                return headers
    finally:
        book.close()
    raise FileProblem(src.name, f"row {spec.header_row} of sheet '{ws.title}' (the header row) is empty")


def _xlsx_rows(src: SourceFile, spec: ExtractMapping) -> Iterable[tuple[int, list[str | None]]]:
    book, ws = _open_sheet(src, spec)
    try:
        for number, row in enumerate(
            ws.iter_rows(min_row=spec.header_row + 1, values_only=True), start=spec.header_row + 1
        ):
            values = [_cell_text(v) for v in row]
            if any(v is not None for v in values):
                yield number, values
    finally:
        book.close()
