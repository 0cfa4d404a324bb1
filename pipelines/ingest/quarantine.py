"""Checks on the staged rows that set rows aside (quarantine) with a reason naming the file, row and column:
repeated keys, day-first dates that do not parse, and values the conversion refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import numpy as np
import polars as pl

from pipelines.ingest.conversion import key_columns, param_name, used_params
from pipelines.ingest.mapping import CanonicalExtract, ExtractMapping
from pipelines.ingest.readers import FileProblem, RowReject, SourceFile, format_hits, quote_identifier


def formats_by_use(con: duckdb.DuckDBPyConnection, stage: str, column: str, formats: list[str]) -> list[str]:
    """The accepted formats, most used first in a sample of the batch. try_strptime tries a list in order, so a
    file of '03/07/2023 01:30' should not fail three formats on every row before finding its own."""
    [(_, hits)], _ = format_hits(
        con, f"select {quote_identifier(column)} as x0 from {quote_identifier(stage)}", {}, 1, formats
    )
    order = sorted(range(len(formats)), key=lambda i: -hits[i])  # stable: ties keep the documented order
    return [formats[i] for i in order]


def dayfirst_failures(
    con: duckdb.DuckDBPyConnection,
    extract: CanonicalExtract,
    spec: ExtractMapping,
    files: Sequence[SourceFile],
    already: dict[int, FileProblem],
    typed: Mapping[str, str],
) -> dict[int, FileProblem]:
    """A file whose dates read only month-first (12/31/2025) and never only day-first is a US-style file:
    refusing it beats loading 03/04 as 3 April when it meant 4 March."""
    if spec.date_format is not None:
        return {}
    failures: dict[int, FileProblem] = {}
    for c in extract.columns:
        if c.kind not in ("date", "timestamp") or not any(c.name in f.positions for f in files):
            continue
        if c.name in typed:
            continue  # read with one day-first or ISO format: no date of it reads only month-first
        mdy, dmy = quote_identifier(c.name + "__mdy"), quote_identifier(c.name + "__dmy")
        rows = con.sql(
            f"select __file_idx, min(__row) filter (where {mdy}), count(*) filter (where {dmy}) "
            f"from __conv group by 1 having count(*) filter (where {mdy}) > 0"
        ).fetchall()
        for idx, first_row, n_dayfirst in rows:
            if n_dayfirst or idx in already or idx in failures:
                continue
            src = files[idx]
            header = src.headers[src.positions[c.name]]
            failures[idx] = FileProblem(
                src.name,
                f"row {first_row}, column '{header}' ({c.name}): the dates read only month-first (US style, "
                "e.g. 12/31/2025); dates are read day-first unless the mapping gives date_format "
                "(for this file: date_format: '%m/%d/%Y')",
            )
    return failures


def repeated_keys(con: duckdb.DuckDBPyConnection, extract: CanonicalExtract, table: str, out: str) -> None:
    """``out``: each key repeated within one file of ``table`` (``__file_idx``, the key columns, ``first_row``,
    ``n`` rows). The quarantine and Great Expectations' key check both read it.

    Candidates first: a 64-bit hash of (file, key) per row, sorted (far cheaper than grouping the rows of a long
    rent history; docs/scaling.md); then the exact keys among the candidates. A hash collision only makes a
    candidate, never a repeat. polars sorts on every core, without the GIL: a 5.5 M-row rent chunk in about a
    third of numpy's time, and half its CPU.
    """
    keys = key_columns(extract)
    key_sql = ", ".join(quote_identifier(k) for k in keys)
    not_null = " and ".join(f"{quote_identifier(k)} is not null" for k in keys)
    t = quote_identifier(table)
    hashes = con.execute(f"select hash(__file_idx, {key_sql}) as h from {t} where {not_null}").fetchnumpy()[
        "h"
    ]
    hashes = pl.Series(np.asarray(hashes)).sort().to_numpy()
    candidates = np.unique(hashes[1:][hashes[1:] == hashes[:-1]]).tolist()
    con.execute(
        "create or replace temp table __candidates as select unnest($h::UBIGINT[]) as h", {"h": candidates}
    )
    keys_c = ", ".join("c." + quote_identifier(k) for k in keys)
    con.execute(
        f"create or replace temp table {quote_identifier(out)} as "
        f"select c.__file_idx, {keys_c}, min(c.__row) as first_row, count(*) as n from {t} c "
        f"semi join __candidates d on hash(c.__file_idx, {keys_c}) = d.h where {not_null} "
        "group by all having count(*) > 1"
    )
    con.execute("drop table __candidates")


def collect_quarantine(
    con: duckdb.DuckDBPyConnection,
    extract: CanonicalExtract,
    files: Sequence[SourceFile],
    rejects: list[RowReject],
    header_params: dict[str, list[str]],
) -> None:
    """``__quar``: one row per (file, row, column, reason), and ``__conv.__bad`` also set for repeated "
    "keys."""
    parts = []
    for c in extract.columns:
        parts.append(
            f"select __file_idx, __row, $hdr_{param_name(c.name)}[__file_idx + 1] as column_name, "
            f"'{c.name}: ' || {quote_identifier(c.name + '__problem')} as reason "
            f"from __conv where {quote_identifier(c.name + '__problem')} is not null"
        )
    if extract.name == "planned_works":
        parts.append(
            "select __file_idx, __row, $hdr_property_ref[__file_idx + 1], 'property_ref: ' || "
            "__place__problem "
            "from __conv where __place__problem is not null"
        )
    sql = "create or replace temp table __quar as " + " union all ".join(parts)
    con.execute(sql, used_params(sql, header_params))
    # A key repeated within one file: the first row loads, each later row is quarantined naming the first.
    keys = key_columns(extract)
    key_sql = ", ".join(quote_identifier(k) for k in keys)
    first_key = keys[0] if keys[0] != "__place" else "property_ref"
    repeated_keys(con, extract, "__conv", "__repeated")  # kept for validation's key check
    con.execute(
        "create or replace temp table __dups as "
        f"select c.__file_idx, c.__row, c.__rid, d.first_row from __conv c join __repeated d "
        f"using (__file_idx, {key_sql}) where c.__row > d.first_row"
    )
    if con.sql("select count(*) from __dups").fetchall()[0][0]:
        con.execute(
            f"insert into __quar select __file_idx, __row, $hdr[__file_idx + 1], "
            f"'{' + '.join(extract.key)}: repeats the key of row ' || first_row || ' in the same file' from "
            f"__dups",
            {"hdr": header_params[f"hdr_{first_key}"]},
        )
        con.execute("update __conv_t set __bad = true where rowid in (select __rid from __dups)")
    con.execute("drop table __dups")
    if rejects:
        con.executemany(
            "insert into __quar values (?, ?, ?, ?)",
            [[r.file_idx, r.row, r.column, r.reason] for r in rejects],
        )
