"""Great Expectations suites for the canonical extracts, run on every incoming batch before it reaches the
warehouse, and the data-quality page.

One suite per canonical extract, built in code from ``mapping.CANONICAL``. A batch is the converted text of a
chunk of new files (``conversion.convert_sql``), handed to GX as a pandas frame of cheap columns: the text of
key, required and category columns, and for typed columns the value as a number (days since 1970 for dates)
beside a ``__readable`` flag. GX's SQL datasource does not work with DuckDB 2 (docs/TECH-NOTES), so the frame
route is the supported one. Results are counted per file (``__file_idx`` as the unexpected-index column) and
stored in ``validation_results``. Neither results nor the page carry cell values: expectation, column and
counts only.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import duckdb

from pipelines.ingest.conversion import EARLIEST_EVENT, FUTURE_GRACE_DAYS, key_columns
from pipelines.ingest.files import quote_identifier
from pipelines.ingest.mapping import CANONICAL, CanonicalExtract
from pipelines.report.quality_page import render_quality_page

log = logging.getLogger(__name__)
# GX is quiet below warnings; one of its modules sets itself to INFO on import (a line per context about its
# temporary docs folder).
logging.getLogger("great_expectations").setLevel(logging.WARNING)
logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)

EPOCH = dt.date(1970, 1, 1)
EARLIEST_EVENT_DAYS = (EARLIEST_EVENT - EPOCH).days


# The profile frame GX validates: one row per (check, file, distinct checked value) with ``__n``, the number of
# the batch's rows holding it. An expectation reads the rows of the checks it covers (its own column of the
# wide frame, ``wide_sql``); a failing row's ``__n`` is the number of rows it stands for, so counts stay exact
# per file and per column. Checks that share an expectation and its bounds share one GX expectation
# (GX's cost is per expectation, whatever the frame's size; docs/scaling.md).
KEY_CHECK = "__key_repeats"


def checks(extract: CanonicalExtract) -> list[tuple[str, str, dict[str, Any]]]:
    """The checks as (check, GX expectation class name, keyword arguments), built from the contract.

    ``check`` names the batch column a check is about (``week_ending``, ``week_ending__readable``,
    ``week_ending__days_after_extract``, ``__key_repeats``).
    """
    out: list[tuple[str, str, dict[str, Any]]] = []

    def add(check: str, cls_name: str, column: str, **kwargs: Any) -> None:
        out.append((check, cls_name, {"column": column, **kwargs}))

    for c in extract.columns:
        if c.required:
            add(c.name, "ExpectColumnValuesToNotBeNull", "value_num")
        if c.kind in ("date", "timestamp", "amount", "integer"):
            add(f"{c.name}__readable", "ExpectColumnValuesToBeInSet", "value_flag", value_set=[True])
        if c.kind == "category":
            # The frame holds the value after the mapping's value map, folded like the loader folds it.
            folded = [" ".join(a.replace("_", " ").replace("-", " ").split()) for a in c.allowed]
            add(c.name, "ExpectColumnValuesToBeInSet", "value_text", value_set=folded)
        if c.is_event:
            add(c.name, "ExpectColumnValuesToBeBetween", "value_num", min_value=EARLIEST_EVENT_DAYS)
            # Days after the file's extract date (less any grace): a one-column range check on the difference.
            add(f"{c.name}__days_after_extract", "ExpectColumnValuesToBeBetween", "value_num", max_value=0)
    if extract.name == "planned_works":
        add("__place", "ExpectColumnValuesToNotBeNull", "value_num")
    # Each key once per file: the value is how many other rows of the file share the row's key.
    add(KEY_CHECK, "ExpectColumnValuesToBeBetween", "value_num", max_value=0)
    return out


def suite_groups(extract: CanonicalExtract) -> list[tuple[str, dict[str, Any], list[str]]]:
    """The checks grouped by GX expectation class and bounds: (class name, keyword arguments with the frame's
    value column, the checks it covers). Each group is one GX expectation (GX's cost is per expectation)."""
    groups: dict[str, tuple[str, dict[str, Any], list[str]]] = {}
    for check, cls_name, kwargs in checks(extract):
        groups.setdefault(_group_key(cls_name, kwargs), (cls_name, kwargs, []))[2].append(check)
    return list(groups.values())


def _group_key(cls_name: str, kwargs: dict[str, Any]) -> str:
    return repr((cls_name, sorted(kwargs.items())))


def suite_spec(extract: CanonicalExtract) -> list[tuple[str, dict[str, Any]]]:
    """The suite as (GX expectation class name, keyword arguments): expectation ``i`` reads column ``e{i}`` of
    the wide frame (``wide_sql``), which holds only its checks' values, so GX needs no row conditions (filtering
    a frame per metric was a third of each run)."""
    return [
        (cls_name, {**kwargs, "column": f"e{i}"})
        for i, (cls_name, kwargs, _) in enumerate(suite_groups(extract))
    ]


def wide_sql(extract: CanonicalExtract, frame: str) -> str:
    """The profile frame with one value column per expectation: ``e{i}`` is the group's value column on its
    checks' rows. Elsewhere it is NULL, which GX's value checks skip; for a not-null expectation it is 1, so that
    only its own checks' blanks count."""
    columns = []
    for i, (cls_name, kwargs, names) in enumerate(suite_groups(extract)):
        other = "1" if cls_name == "ExpectColumnValuesToNotBeNull" else "NULL"
        within = ", ".join(f"'{n}'" for n in names)
        columns.append(f"case when __check in ({within}) then {kwargs['column']} else {other} end as e{i}")
    # In __id order: the caller finds a row GX reports by its __id as a position in the frame, and a parallel
    # query's rows come back in no set order.
    return f"select __id, __file_idx, __check, __n, {', '.join(columns)} from ({frame}) order by __id"


def _row(check: str, num: str = "NULL", text: str = "NULL", flag: str = "NULL", n: str = "__n") -> str:
    return (
        f"select __file_idx, '{check}' as __check, cast({num} as DOUBLE) as value_num, "
        f"cast({text} as VARCHAR) as value_text, cast({flag} as BOOLEAN) as value_flag, {n} as __n"
    )


def frame_sql(extract: CanonicalExtract, table: str, repeated: str) -> str:
    """The SELECT giving GX its profile frame: for each check, the distinct values per file and their counts.

    Numbers, flags and category values only: text columns are reduced to present/absent, dates to days since
    1970 (whole days: the checks are day checks), amounts to readable or not. ``repeated`` is the table of the
    batch's repeated keys that the quarantine made (``quarantine.repeated_keys``).

    Few scans: the checks with two or three possible values (present or not, readable or not, keyed) are counted
    per file in one pass; each date is grouped once per file for both its checks (days since 1970 and days
    after the extract date are both a function of the date and the file); each category once.
    """
    t = quote_identifier(table)
    counts: list[str] = []  # aggregates of the one per-file pass, named c0, c1, ...
    rows: list[str] = []  # frame rows from that pass (table "flags")
    grouped: list[str] = []  # frame rows from their own group-by

    def count(expr: str) -> str:
        counts.append(f"{expr} as c{len(counts)}")
        return f"c{len(counts) - 1}"

    def present_check(check: str, q: str) -> None:
        rows.append(_row(check, "1", n=count(f"count({q})")))
        rows.append(_row(check, n=count(f"count(*) - count({q})")))

    checked = {check for check, _, _ in checks(extract)}
    for c in extract.columns:
        q = quote_identifier(c.name)
        is_date = c.kind in ("date", "timestamp")
        if c.name in checked and c.kind == "category":
            present = f"case when {q} is not null then 1 end"
            mapped = quote_identifier(c.name + "__mapped")
            grouped.append(f"{_row(c.name, present, mapped, n='count(*)')} from {t} group by all")
        elif c.name in checked and not is_date:
            present_check(c.name, q)
        if is_date and (c.name in checked or c.is_event):
            days = "date_diff('day', DATE '1970-01-01', d)"
            grace = int(FUTURE_GRACE_DAYS.get(c.name, 0))
            after = f"date_diff('day', $known_on[__file_idx + 1] + {grace}, d)"
            arms = [_row(c.name, days) + " from dates"] if c.name in checked else []
            arms += [_row(f"{c.name}__days_after_extract", after) + " from dates"] if c.is_event else []
            grouped.append(
                f"select * from (with dates as (select __file_idx, cast({q} as DATE) as d, count(*) as __n "
                f"from {t} group by all) {' union all '.join(arms)})"
            )
        readable = f"{c.name}__readable"
        if readable in checked:
            r = quote_identifier(readable)
            rows.append(_row(readable, flag="true", n=count(f"count(*) filter (where {r})")))
            rows.append(_row(readable, flag="false", n=count(f"count(*) filter (where not {r})")))
            rows.append(_row(readable, n=count(f"count(*) filter (where {r} is null)")))
    if extract.name == "planned_works":
        present_check("__place", "__place")
    keys = [quote_identifier(k) for k in key_columns(extract)]
    keyed = " and ".join(f"{k} is not null" for k in keys)
    keyed_rows = count(f"count(*) filter (where {keyed})")
    repeated_sql = f"select __file_idx, n from {quote_identifier(repeated)}"
    # Rows whose key is unique in their file, then the groups of rows sharing a key (n rows of multiplicity n).
    parts = [f"{r} from flags" for r in rows]
    parts.append(
        f"select f.__file_idx, '{KEY_CHECK}', 0.0, NULL, NULL, f.{keyed_rows} - coalesce(r.rows, 0) "
        "from flags f left join (select __file_idx, sum(n) as rows from repeated group by 1) r using (__file_idx)"
    )
    parts.append(
        f"select __file_idx, '{KEY_CHECK}', n - 1, NULL, NULL, sum(n) from repeated group by __file_idx, n"
    )
    body = " union all ".join(f"({p})" for p in [*parts, *grouped])
    return (
        f"with repeated as ({repeated_sql}), "
        f"flags as (select __file_idx, {', '.join(counts)} from {t} group by __file_idx) "
        f"select row_number() over () - 1 as __id, * from ({body}) where __n > 0"
    )


# One ephemeral GX context per process, shared by every landlord run in it; GX's context, suites and data
# sources are not safe to use from several threads at once (flow ``many-landlords`` runs landlords on a thread
# pool), so building and running a suite hold this lock. The validation itself is a small part of a load.
_GX_LOCK = threading.RLock()


def _gx() -> Any:
    """Great Expectations, imported on first use: its import costs about 2 s and 250 MiB (docs/TECH-NOTES.md),
    and a weekly run with no new files validates nothing, so it should not pay it. Call it holding ``_GX_LOCK``:
    two threads importing GX at once fail with ImportError (a half-initialised module), as a side-thread import
    beside the loads did."""
    import great_expectations

    return great_expectations


@lru_cache(maxsize=1)
def _context() -> Any:
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = _gx().get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


@lru_cache(maxsize=1)
def _batch_definition() -> Any:
    """One pandas data source for every extract's profile frame (each data source GX adds rewrites its project
    configuration as YAML)."""
    source = _context().data_sources.add_pandas("incoming")
    return source.add_dataframe_asset("profile").add_batch_definition_whole_dataframe("batch")


@cache
def _suite(extract_name: str) -> Any:
    context = _context()  # first: building a suite needs an active context
    gx = _gx()
    suite = gx.ExpectationSuite(name=f"raw_{extract_name}")
    for cls_name, kwargs in suite_spec(CANONICAL[extract_name]):
        suite.add_expectation(getattr(gx.expectations, cls_name)(**kwargs))
    return context.suites.add(suite)


def _describe(
    check: str, cls_name: str, kwargs: dict[str, Any], extract: CanonicalExtract
) -> tuple[str, str]:
    """The name and column a person reads on the data-quality page, e.g. ("expect_column_values_to_be_between
    (not before 1990)", "week_ending")."""
    name = _snake(cls_name)
    column = check
    if check == KEY_CHECK:
        name += " (key not repeated in the file)"
        column = ", ".join(key_columns(extract))
    elif check.endswith("__readable"):
        name += " (readable)"
    elif check.endswith("__days_after_extract"):
        name += " (not after the file's extract date)"
    elif kwargs.get("min_value") == EARLIEST_EVENT_DAYS:
        name += " (not before 1990)"
    return name, column.removesuffix("__readable").removesuffix("__days_after_extract")


def _snake(cls_name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", cls_name).lower()


def _raised(info: Any) -> bool:
    """Whether GX could not run an expectation. GX reports it at the top of ``exception_info`` or, when a metric
    failed, per metric (``{metric id: {"raised_exception": True, ...}}``)."""
    if not isinstance(info, dict):
        return False
    if info.get("raised_exception"):
        return True
    return any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def validate_batch(
    con: duckdb.DuckDBPyConnection,
    table: str,
    extract: CanonicalExtract,
    file_names: Sequence[str],
    row_counts: dict[int, int],
    known_on: Sequence[dt.date],
    *,
    repeated: str,
) -> dict[int, list[dict[str, Any]]]:
    """Run the extract's suite on the batch's profile frame; per file index, one result per expectation
    (counts of rows only, never values). ``repeated``: see ``frame_sql``."""
    sql = wide_sql(extract, frame_sql(extract, table, repeated))
    frame = con.sql(sql, params={"known_on": list(known_on)} if "$known_on" in sql else None).df()
    file_of = frame["__file_idx"].to_numpy()
    weight = frame["__n"].to_numpy()
    with _GX_LOCK:
        suite = _suite(extract.name)
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(
            suite,
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": ["__id"],
                "return_unexpected_index_query": False,
                "partial_unexpected_count": 0,
            },
        )
    check_of = frame["__check"].to_numpy()
    # Each expectation reads its own column of the wide frame, so the column names it: e{i}.
    failed: dict[tuple[str, str, int], int] = {}  # (expectation's column, check, file) -> rows
    raised: set[str] = set()
    for r in result.results:
        column_read = str(r.expectation_config.kwargs["column"])
        if _raised(r.exception_info):
            raised.add(column_read)
            log.warning("%s: expectation %s could not run", extract.name, r.expectation_config.type)
        for item in r.result.get("unexpected_index_list") or []:
            row = int(item["__id"]) if isinstance(item, dict) else int(item)
            at = (column_read, str(check_of[row]), int(file_of[row]))
            failed[at] = failed.get(at, 0) + int(weight[row])
    # A check may sit in several expectations (week_ending: not null, and not before 1990): its expectation is
    # found by its class and bounds, not its name.
    column_of = {
        _group_key(cls_name, kwargs): f"e{i}" for i, (cls_name, kwargs, _) in enumerate(suite_groups(extract))
    }
    per_file: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(file_names))}
    for check, cls_name, kwargs in checks(extract):
        key = column_of[_group_key(cls_name, kwargs)]
        expectation, column = _describe(check, cls_name, kwargs, extract)
        for i in range(len(file_names)):
            n = failed.get((key, check, i), 0)
            per_file[i].append(
                {
                    "expectation": expectation,
                    "column": column,
                    "success": n == 0 and key not in raised,
                    "unexpected_count": n,
                    "element_count": int(row_counts.get(i, 0)),
                }
            )
    del frame
    return per_file


# ------------------------------------------------------------------------------------------------------------
# The data-quality page


def write_quality_page(out_dir: Path, summary: Any, landlord: str) -> Path:
    """``<out>/data_quality.html``: this run's files, failing expectations with counts, file-level failures.

    Counts, file names and column names only: no cell values, no references, no free text.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "data_quality.html"
    path.write_text(render_quality_page(summary, landlord), encoding="utf-8")
    return path
