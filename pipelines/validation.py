"""Great Expectations suites for the canonical extracts, run on every incoming batch before it reaches the
warehouse,
and the data-quality page.

One suite per canonical extract, built in code from ``mapping.CANONICAL``. A batch is the converted text of a
chunk of
new files (``loading.convert_sql``), handed to GX as a pandas frame of cheap columns: the text of key,
required and
category columns, and for typed columns the value as a number (days since 1970 for dates) beside a
``__readable``
flag. GX's SQL datasource does not work with DuckDB 2 (docs/TECH-NOTES), so the frame route is the supported
one.
Results are counted per file (``__file_idx`` as the unexpected-index column) and stored in
``validation_results``.
Neither results nor the page carry cell values: expectation, column and counts only.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import threading
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import duckdb

from pipelines.mapping import CANONICAL, CanonicalExtract
from pipelines.readers import quote_identifier

log = logging.getLogger(__name__)

EPOCH = dt.date(1970, 1, 1)
EARLIEST_EVENT_DAYS = (dt.date(1990, 1, 1) - EPOCH).days


def _key_columns(extract: CanonicalExtract) -> tuple[str, ...]:
    return ("__place", "programme", "start_date") if extract.name == "planned_works" else extract.key


def suite_spec(extract: CanonicalExtract) -> list[tuple[str, dict[str, Any]]]:
    """The suite as (GX expectation class name, keyword arguments): readable, testable, built from the "
    "contract."""
    spec: list[tuple[str, dict[str, Any]]] = []
    for c in extract.columns:
        if c.required:
            spec.append(("ExpectColumnValuesToNotBeNull", {"column": c.name}))
        if c.kind in ("date", "timestamp", "amount", "integer"):
            spec.append(
                ("ExpectColumnValuesToBeInSet", {"column": f"{c.name}__readable", "value_set": [True]})
            )
        if c.kind == "category":
            # The frame holds the value after the mapping's value map, folded like the loader folds it.
            folded = [" ".join(a.replace("_", " ").replace("-", " ").split()) for a in c.allowed]
            spec.append(("ExpectColumnValuesToBeInSet", {"column": c.name, "value_set": folded}))
        if c.is_event:
            spec.append(
                ("ExpectColumnValuesToBeBetween", {"column": c.name, "min_value": EARLIEST_EVENT_DAYS})
            )
            # Days after the file's extract date (less any grace): GX's column-pair expectation runs row by
            # row in
            # Python (4 s per 500k rows here); a one-column range check on the difference is vectorised.
            spec.append(
                ("ExpectColumnValuesToBeBetween", {"column": f"{c.name}__days_after_extract", "max_value": 0})
            )
    if extract.name == "planned_works":
        spec.append(("ExpectColumnValuesToNotBeNull", {"column": "__place"}))
    spec.append(
        (
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["__file_idx", *_key_columns(extract)], "ignore_row_if": "any_value_is_missing"},
        )
    )
    return spec


def frame_sql(extract: CanonicalExtract, table: str) -> str:
    """The SELECT giving GX its frame: numbers and booleans only (text as its hash or length), no free "
    "text."""
    from pipelines.loading import FUTURE_GRACE_DAYS

    cols = ["__file_idx"]
    keys = set(_key_columns(extract))
    for c in extract.columns:
        q = quote_identifier(c.name)
        if c.kind == "category":
            cols.append(f"{quote_identifier(c.name + '__mapped')} as {q}")
        elif c.kind == "text":
            # A key's hash (for uniqueness) and a required column's length (for presence) keep the frame small
            # for
            # 16 M rent rows, and keep free text away from GX.
            if c.name in keys:
                cols.append(f"case when {q} is not null then hash({q}) end as {q}")
            elif c.required:
                cols.append(f"cast(length({q}) as DOUBLE) as {q}")
        elif c.kind == "timestamp":
            cols.append(f"epoch({q}) / 86400.0 as {q}")
        elif c.kind == "date":
            cols.append(f"cast(date_diff('day', DATE '1970-01-01', {q}) as DOUBLE) as {q}")
        else:
            cols.append(f"cast({q} as DOUBLE) as {q}")
        if c.kind in ("date", "timestamp", "amount", "integer"):
            cols.append(quote_identifier(f"{c.name}__readable"))
        if c.is_event:
            grace = int(FUTURE_GRACE_DAYS.get(c.name, 0))
            cols.append(
                f"cast(date_diff('day', $known_on[__file_idx + 1] + {grace}, cast({q} as DATE)) as DOUBLE) "
                f"as {quote_identifier(c.name + '__days_after_extract')}"
            )
    if extract.name == "planned_works":
        cols.append("case when __place is not null then hash(__place) end as __place")
    return f"select {', '.join(cols)} from {quote_identifier(table)}"


# One ephemeral GX context per process, shared by every landlord run in it; GX's context, suites and data
# sources are not safe to use from several threads at once (flow ``many-landlords`` runs landlords on a thread
# pool), so building and running a suite hold this lock. The validation itself is a small part of a load.
_GX_LOCK = threading.RLock()


@lru_cache(maxsize=1)
def _context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def warm_up() -> None:
    """Build the GX context ahead of the first batch (called on a side thread by ``ingest_folder``)."""
    try:
        with _GX_LOCK:
            _context()
    except Exception:  # the first real validation will raise it again, with its context
        log.debug("GX warm-up failed", exc_info=True)


@cache
def _suite_and_batch_definition(extract_name: str) -> tuple[Any, Any]:
    import great_expectations as gx

    context = _context()
    extract = CANONICAL[extract_name]
    suite = gx.ExpectationSuite(name=f"raw_{extract_name}")
    for cls_name, kwargs in suite_spec(extract):
        suite.add_expectation(getattr(gx.expectations, cls_name)(**kwargs))
    suite = context.suites.add(suite)
    source = context.data_sources.add_pandas(f"incoming_{extract_name}")
    asset = source.add_dataframe_asset(extract_name)
    return suite, asset.add_batch_definition_whole_dataframe("batch")


def _describe(config: Any) -> tuple[str, str | None]:
    kwargs = config.kwargs
    column = kwargs.get("column")
    if kwargs.get("column_list"):
        column = ", ".join(c for c in kwargs["column_list"] if c != "__file_idx")
    name = str(config.type)
    if column and column.endswith("__readable"):
        name += " (readable)"
    elif column and column.endswith("__days_after_extract"):
        name += " (not after the file's extract date)"
    elif kwargs.get("min_value") == EARLIEST_EVENT_DAYS:
        name += " (not before 1990)"
    if column:
        column = column.removesuffix("__readable").removesuffix("__days_after_extract")
    return name, column


def validate_batch(
    con: duckdb.DuckDBPyConnection,
    table: str,
    extract: CanonicalExtract,
    file_names: Sequence[str],
    row_counts: dict[int, int],
    known_on: Sequence[dt.date],
) -> dict[int, list[dict[str, Any]]]:
    """Run the extract's suite on the batch; per file index, one result per expectation (counts only)."""
    sql = frame_sql(extract, table)
    frame = con.sql(sql, params={"known_on": list(known_on)} if "$known_on" in sql else None).df()
    with _GX_LOCK:
        suite, batch_definition = _suite_and_batch_definition(extract.name)
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(
            suite,
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": ["__file_idx"],
                "return_unexpected_index_query": False,
                "partial_unexpected_count": 0,
            },
        )
    per_file: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(file_names))}
    for r in result.results:
        expectation, column = _describe(r.expectation_config)
        by_file: dict[int, int] = {}
        raised = bool(r.exception_info and r.exception_info.get("raised_exception"))
        if raised:
            log.warning("%s: expectation %s on %s could not run", extract.name, expectation, column)
        for item in r.result.get("unexpected_index_list") or []:
            idx = int(item["__file_idx"]) if isinstance(item, dict) else int(item)
            by_file[idx] = by_file.get(idx, 0) + 1
        for i in range(len(file_names)):
            n = by_file.get(i, 0)
            per_file[i].append(
                {
                    "expectation": expectation,
                    "column": column,
                    "success": n == 0 and not raised,
                    "unexpected_count": n,
                    "element_count": int(row_counts.get(i, 0)),
                }
            )
    del frame
    return per_file


# ------------------------------------------------------------------------------------------------------------
# The data-quality page


_PAGE_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}"
    "table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #bbb;padding:.3em .6em;text-align:left}th{background:#eee}.bad{color:#a00}"
    ".ok{color:#070}"
)


def write_quality_page(out_dir: Path, summary: Any, landlord: str) -> Path:
    """``<out>/data_quality.html``: this run's files, failing expectations with counts, file-level failures.

    Counts, file names and column names only: no cell values, no references, no free text.
    """
    e = html.escape
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "data_quality.html"
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Data quality: "
        f"{e(landlord)}</title>",
        f"<style>{_PAGE_STYLE}</style></head><body><h1>Data quality of the latest load</h1>",
        f"<p>{e(landlord)}. Files loaded: {summary.files_loaded}; already loaded (skipped): "
        f"{summary.files_skipped}; "
        f"not loaded: <span class='{'bad' if summary.files_failed else 'ok'}'>{summary.files_failed}</span>. "
        f"Rows loaded: {summary.rows_loaded:,}; rows quarantined: {summary.rows_quarantined:,}.</p>",
    ]
    if summary.failed_files:
        parts.append(
            "<h2>Files not loaded (nothing from them was stored)</h2><table><tr><th>extract</th><th>file</th>"
            "<th>why</th></tr>"
        )
        for f in summary.failed_files:
            parts.append(
                f"<tr><td>{e(f.extract)}</td><td>{e(f.file_name)}</td><td>{e(f.message or '')}</td></tr>"
            )
        parts.append("</table>")
    failing = [v for v in summary.validation if not v["success"]]
    parts.append("<h2>Failing expectations (Great Expectations)</h2>")
    if failing:
        parts.append(
            "<table><tr><th>extract</th><th>file</th><th>expectation</th><th>column</th>"
            "<th>rows failing</th><th>rows checked</th></tr>"
        )
        for v in failing:
            parts.append(
                f"<tr><td>{e(v['extract'])}</td><td>{e(v['file_name'])}</td><td>{e(v['expectation'])}</td>"
                f"<td>{e(v['column'] or '')}</td><td class='bad'>{v['unexpected_count']:,}</td>"
                f"<td>{v['element_count']:,}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append("<p class='ok'>Every expectation passed on every new file.</p>")
    loaded = [f for f in summary.files if f.status == "loaded"]
    if loaded:
        parts.append(
            "<h2>Files loaded</h2><table><tr><th>extract</th><th>file</th><th>known on</th><th>rows read</th>"
            "<th>loaded</th><th>quarantined</th></tr>"
        )
        for f in loaded:
            parts.append(
                f"<tr><td>{e(f.extract)}</td><td>{e(f.file_name)}</td><td>{f.known_on}</td><td>{f.rows_read:,}</td>"
                f"<td>{f.rows_loaded:,}</td><td>{f.rows_quarantined:,}</td></tr>"
            )
        parts.append("</table>")
    parts.append(
        "<p>Quarantined rows are listed, with row, column and reason, in the <code>quarantine</code> table."
        "</p></body></html>"
    )
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
