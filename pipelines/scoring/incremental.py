"""Incremental weeks: keep the rent trajectories between weekly runs and redo only what new rows change.

A week adds about 1% of the data, yet the full models read two years of weekly rent snapshots (16.5 M at 160,000
homes) to rebuild every tenancy's arrears path: the slowest of the SQL models (docs/scaling.md). The weekly run
(``score_week(..., incremental=True)``) keeps each tenancy's ``rent__trajectory`` row in the warehouse
(``cache_rent__trajectory``), with the little state needed to carry it forward (weeks seen, the balances of the
last ``arrears_clear_weeks``), and ``feature_caches`` records what the rows were built from: the as-of date and
knowledge date, a fingerprint of the settings and the models' SQL, the rent files seen and their row count.

Each run then finds the rows it can see that the last one could not (knowledge time: ``known_on <= known_by``,
events cut at ``as_of``; docs/architecture.md): rows of files loaded since, and older rows that the later as-of and
knowledge dates now reach. A tenancy whose new rows all come after its saved weeks is carried forward by
``sql/intermediate/rent__trajectory_fold.sql``; one with a restated or late week, or none saved, is recomputed
from its whole history by the same ``stg_rent`` model the full run uses; all others keep their rows. Anything the
saved rows cannot answer for recomputes everything: no cache, other settings or SQL, an earlier week than the
saved one, or saved rows deleted (retention). The result is the full model's, row for row
(tests/pipelines/scoring/test_incremental.py replays weeks both ways and compares the published lists).

The repairs are kept the same way at the grain before the as-of cut: each job's latest version known by the
knowledge date (``stg_repairs__known``, table ``cache_stg_repairs__known``). The knowledge date only grows, so a
job's kept row can only lose to a version that became visible since: each run recomputes just the jobs with such
rows, from their kept row and the new ones, and ``stg_repairs`` then cuts every job at the as-of date (a job
reported, or completed, after the last as-of date needs no new row to come in). Five years of jobs are no longer
re-versioned every week.

The other models run in full each week: the repairs models attribute jobs across households (block clusters,
the household living at a property that day) and the household features compare each household with its peers,
so a household's row depends on others' records (docs/scaling.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb

from pipelines.core.paths import sql_text
from pipelines.warehouse.caches import CACHE_TABLES, has_table
from pipelines.warehouse.connection import materialise_model, model_sql, transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kept:
    """One kept model: its name (``feature_caches.model``), the raw table its rows are built from, and the models
    whose SQL decides them (a change to any of them recomputes in full)."""

    model: str
    raw: str
    sql_models: tuple[str, ...]

    @property
    def cache(self) -> str:
        return CACHE_TABLES[self.model]


RENT = Kept(
    "rent__trajectory",
    "raw_rent",
    ("staging/stg_rent", "intermediate/rent__trajectory", "intermediate/rent__trajectory_fold"),
)
REPAIRS = Kept("stg_repairs__known", "raw_repairs", ("staging/stg_repairs__known", "staging/stg_repairs"))
MODEL = RENT.model
CACHE = RENT.cache
SQL_MODELS = RENT.sql_models
# The kept columns the fold starts from (rent__trajectory's n_weeks and tail_balances are for it).
STATE_COLUMNS = (
    "tenancy_ref",
    "n_weeks",
    "tail_balances",
    "arrears_onset_on",
    "pre_onset_balance_gbp",
    "peak_balance_since_onset_gbp",
)
# Models that the incremental week does not run as such: rent__trajectory comes from the kept rows (and stg_rent,
# which only it reads, is run here on the rows that need it); stg_repairs from the kept stg_repairs__known rows.
REPLACED = (
    "staging/stg_rent",
    "intermediate/rent__trajectory",
    "staging/stg_repairs__known",
    "staging/stg_repairs",
)


def fingerprint(settings_fingerprint: str, sql_models: tuple[str, ...] = SQL_MODELS) -> str:
    """What the kept rows depend on besides the data: the settings and the text of the models that made them."""
    digest = hashlib.sha256(settings_fingerprint.encode())
    for name in sql_models:
        digest.update(sql_text(name).encode())
    return digest.hexdigest()[:16]


def rent_trajectory(
    con: duckdb.DuckDBPyConnection, params: Mapping[str, Any], settings_fingerprint: str
) -> str:
    """Make the temporary table ``rent__trajectory`` as of ``params['as_of']`` from the kept rows, updating them;
    returns what was done (``"full: <reason>"`` or ``"incremental: <n> tenancies"``).

    ``params``: the bound values of the SQL models (``pipelines.scoring.week.model_params``). Replaces the kept
    rows and their record in one transaction: a failure leaves the previous ones as they were.
    """
    as_of, known_by = params["as_of"], params["known_by"]
    print_ = fingerprint(settings_fingerprint)
    # The temporary tables are built outside the transaction (inside one, the full models took a fifth longer at
    # 160,000 homes); the kept rows and their record are then replaced together.
    reason = _why_full(con, RENT, print_, as_of, known_by)
    if reason is None:
        done = f"incremental: {_update(con, params)} tenancies"
        kept = "rent_fold_kept"
    else:
        materialise_model(con, "staging/stg_rent", params)
        kept = materialise_model(con, "intermediate/rent__trajectory", params)
        done = f"full: {reason}"
    with transaction(con):
        con.execute(f'create or replace table "{CACHE}" as select * from {kept}')
        _record(con, RENT, print_, as_of, known_by)
    if reason is None:
        con.execute(f'create or replace temp table "{MODEL}" as select * from "{CACHE}"')
    for table in (
        "stg_rent",
        "rent_fold_kept",
        "rent_fold_rows",
        "rent_fold_state",
        "rent_fold_entering",
        "rent_fold_touched",
        "rent_fold_source",
    ):
        con.execute(f"drop table if exists temp.main.{table}")
    log.info("rent trajectories: %s", done.split(":")[0])
    return done


def _why_full(
    con: duckdb.DuckDBPyConnection, kept: Kept, print_: str, as_of: dt.date, known_by: dt.date
) -> str | None:
    """Why the kept rows cannot be carried forward to (as_of, known_by), or None when they can."""
    saved = con.execute(
        "select fingerprint, as_of, known_by, rows_seen from feature_caches where model = $m",
        {"m": kept.model},
    ).fetchall()
    if len(saved) != 1 or not has_table(con, kept.cache):
        return "nothing kept"
    kept_print, kept_as_of, kept_known_by, rows_seen = saved[0]
    if kept_print != print_:
        return "settings or models changed"
    if as_of < kept_as_of or known_by < kept_known_by:
        return "an earlier week than the kept one"
    still = con.execute(
        f"select count(*) from {kept.raw} semi join feature_cache_files as f"
        f" on {kept.raw}.file_id = f.file_id and f.model = $m",
        {"m": kept.model},
    ).fetchall()[0][0]
    if still != rows_seen:
        return f"{kept.raw.removeprefix('raw_')} rows deleted since"
    return None


# A raw row from a file loaded since the kept rows were built (parameters from :func:`_new_files`). File ids only
# grow, so the new files' are at least the smallest of them: a range the storage can skip row groups by.
_IN_NEW_FILES = "file_id >= $first_new_file and list_contains($new_files, file_id)"


def _new_files(con: duckdb.DuckDBPyConnection, kept: Kept) -> dict[str, Any]:
    """The files of ``kept.raw`` loaded since the kept rows were built, as the parameters of :data:`_IN_NEW_FILES`
    (a handful: found first, so the scan of the raw table then tests a short list, not a join)."""
    files = [
        int(r[0])
        for r in con.execute(
            f"select distinct file_id from {kept.raw} anti join"
            " (select file_id from feature_cache_files where model = $m) as seen using (file_id)",
            {"m": kept.model},
        ).fetchall()
    ]
    return {"new_files": files, "first_new_file": min(files, default=0)}


def _update(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any]) -> int:
    """Carry the kept rows forward; returns how many tenancies were touched."""
    saved_as_of, saved_known_by = con.execute(
        "select as_of, known_by from feature_caches where model = $m", {"m": MODEL}
    ).fetchall()[0]
    # Rows visible now that were not last time: from files loaded since, or reached by the later dates.
    con.execute(
        # three disjoint scans, not one with an OR: each one's date filters reach the storage, so only the rows
        # that match are read in full (with the OR all 16 M snapshots were at 160,000 homes: 0.7 CPU-s against 0.02)
        "create or replace temp table rent_fold_entering as"
        " select * from raw_rent where known_on <= $known_by and week_ending <= $as_of and known_on > $saved_known_by"
        " union all select * from raw_rent where known_on <= $saved_known_by"
        " and week_ending <= $as_of and week_ending > $saved_as_of"
        " union all select * from raw_rent where known_on <= $saved_known_by"
        f" and week_ending <= $saved_as_of and {_IN_NEW_FILES}",
        {
            "as_of": params["as_of"],
            "known_by": params["known_by"],
            "saved_as_of": saved_as_of,
            "saved_known_by": saved_known_by,
            **_new_files(con, RENT),
        },
    )
    # A tenancy whose new rows all come after its kept weeks is carried forward; one with a new version of a kept
    # week (a restated or late file), or nothing kept, is recomputed from its whole history. A tenancy with
    # nothing kept had no row visible last time (rent__trajectory keeps every tenancy it saw), so its whole
    # history is its entering rows: only the restated ones are read again from raw_rent.
    con.execute(
        "create or replace temp table rent_fold_touched as"
        " select tenancy_ref, coalesce(restated, true) as is_whole, coalesce(restated, false) as is_restated from"
        " (select entering.tenancy_ref,"
        " min(entering.week_ending) <= any_value(kept.latest_week_ending) as restated"  # null: nothing kept
        f' from rent_fold_entering as entering left join "{CACHE}" as kept using (tenancy_ref)'
        " group by entering.tenancy_ref)"
    )
    touched, restated = con.execute(
        "select count(*), count(*) filter (where is_restated) from rent_fold_touched"
    ).fetchall()[0]
    # The rows stg_rent is to read: the new rows of tenancies carried forward or new, every row of those restated
    # (stg_rent reads its source three times: a table, not a view over raw_rent; raw_rent is scanned only when a
    # tenancy was restated).
    con.execute(
        "create or replace temp table rent_fold_source as"
        " select * from rent_fold_entering semi join rent_fold_touched as t"
        " on rent_fold_entering.tenancy_ref = t.tenancy_ref and not t.is_restated"
        + (
            " union all select * from raw_rent semi join"
            " (select tenancy_ref from rent_fold_touched where is_restated) as t using (tenancy_ref)"
            if restated
            else ""
        )
    )
    with _shadowing(con, "raw_rent", "select * from rent_fold_source"):
        materialise_model(con, "staging/stg_rent", params, table="rent_fold_rows")
    state = ", ".join(f"kept.{c}" for c in STATE_COLUMNS)
    con.execute(
        f'create or replace temp table rent_fold_state as select {state} from "{CACHE}" as kept'
        " semi join rent_fold_touched as t on kept.tenancy_ref = t.tenancy_ref and not t.is_whole"
    )
    _fold(con, params)
    return int(touched)


@contextmanager
def _shadowing(
    con: duckdb.DuckDBPyConnection, raw: str, select: str, *, kind: str = "view"
) -> Iterator[None]:
    """For the block, ``raw`` (as the models read it) is ``select`` (which must not read ``raw``): a temporary view
    (or table, for a model that reads the row ids) of that name comes before the warehouse's table, so a staging
    model runs unchanged on just these rows."""
    con.execute(f"create or replace temp {kind} {raw} as {select}")
    try:
        yield
    finally:
        con.execute(f"drop {kind} if exists temp.main.{raw}")


def _fold(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any]) -> None:
    """Fold ``rent_fold_rows`` onto ``rent_fold_state``; ``rent_fold_kept`` is then the rows to keep: the folded
    tenancies and every kept tenancy not touched."""
    folded = materialise_model(con, "intermediate/rent__trajectory_fold", params)
    con.execute(
        f'create or replace temp table rent_fold_kept as select * from "{CACHE}"'
        " anti join rent_fold_touched as t using (tenancy_ref)"
        f" union all select * from {folded}"
    )
    con.execute(f"drop table temp.main.{folded}")


def stg_repairs(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any], settings_fingerprint: str) -> str:
    """Make the temporary table ``stg_repairs`` as of ``params['as_of']`` from the kept ``stg_repairs__known``
    rows (each job's latest version known by ``params['known_by']``, before the as-of cut), updating them; returns
    what was done (``"full: <reason>"`` or ``"incremental: <n> jobs"``).

    ``params``: the bound values of the SQL models (``pipelines.scoring.week.model_params``). The kept rows and
    their record change in one transaction: a failure leaves the previous ones as they were.
    """
    as_of, known_by = params["as_of"], params["known_by"]
    cache = REPAIRS.cache
    print_ = fingerprint(settings_fingerprint, REPAIRS.sql_models)
    reason = _why_full(con, REPAIRS, print_, as_of, known_by)
    if reason is None:
        touched = _update_repairs(con, params)
        # 1% of the jobs change in place: rewriting millions of rows (the blobs included) would cost more than the
        # recomputation it saves
        with transaction(con):
            con.execute(f'delete from "{cache}" where job_ref in (select job_ref from repairs_kept_touched)')
            con.execute(f'insert into "{cache}" select * from repairs_kept_rows')
            _record(con, REPAIRS, print_, as_of, known_by)
        done = f"incremental: {touched} jobs"
    else:
        # built under another name outside the transaction (as the rent models are), then swapped in with the
        # record: one write of every job, not a temporary copy and then a kept one
        building = f"{cache}_next"
        con.execute(sql_text(f"warehouse/{cache}"))  # creates the empty table {building}
        con.execute(
            f'insert into "{building}" {model_sql("staging/stg_repairs__known")}', {"known_by": known_by}
        )
        with transaction(con):
            con.execute(f'drop table if exists "{cache}"')
            con.execute(f'alter table "{building}" rename to "{cache}"')
            _record(con, REPAIRS, print_, as_of, known_by)
        done = f"full: {reason}"
    # stg_repairs reads stg_repairs__known by name: for this run, the kept rows (a full run's table of that name,
    # left on this connection, would stand in the way of the view)
    con.execute("drop table if exists temp.main.stg_repairs__known")
    with _shadowing(con, "stg_repairs__known", f'select * from "{cache}"'):
        materialise_model(con, "staging/stg_repairs", params)
    for table in ("repairs_kept_entering", "repairs_kept_touched", "repairs_kept_rows"):
        con.execute(f"drop table if exists temp.main.{table}")
    log.info("repairs: %s", done.split(":")[0])
    return done


def _update_repairs(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any]) -> int:
    """The new kept rows of the jobs with a version visible now that was not last time (``repairs_kept_rows``,
    the jobs in ``repairs_kept_touched``); returns how many jobs were touched.

    The knowledge date only grows and no kept row's source was deleted (``_why_full``), so a job's latest version
    now is the latest of its kept row and its newly visible rows: ``stg_repairs__known`` runs unchanged on just
    those rows."""
    saved_known_by = con.execute(
        "select known_by from feature_caches where model = $m", {"m": REPAIRS.model}
    ).fetchall()[0][0]
    # Visible now, not last time: rows whose extract date the later knowledge date reaches, and rows of files loaded
    # since (a late or restated file, whatever its date). No as-of cut: the kept rows are before it. Two scans, not
    # one with an OR: each one's date filter reaches the storage, so only matching rows are read in full (with the
    # OR every column of every row was, 0.7 CPU-s of a cold start at 160,000 homes against 0.02).
    con.execute(
        "create or replace temp table repairs_kept_entering as"
        " select * from raw_repairs where known_on > $saved_known_by and known_on <= $known_by"
        " union all"
        f" select * from raw_repairs where known_on <= $saved_known_by and {_IN_NEW_FILES}",
        {"known_by": params["known_by"], "saved_known_by": saved_known_by, **_new_files(con, REPAIRS)},
    )
    con.execute(
        "create or replace temp table repairs_kept_touched as select distinct job_ref from repairs_kept_entering"
    )
    # A table, not a view: stg_repairs__known reads the row ids. The touched jobs' kept rows are found on job_ref
    # alone, then fetched by row id (a semi join read every column of every kept row: 0.33 CPU-s against 0.10).
    cache = REPAIRS.cache
    with _shadowing(
        con,
        "raw_repairs",
        f'select * from "{cache}" where rowid in'
        f' (select rowid from "{cache}" semi join repairs_kept_touched using (job_ref))'
        " union all select * from repairs_kept_entering",
        kind="table",
    ):
        materialise_model(con, "staging/stg_repairs__known", params, table="repairs_kept_rows")
    return int(con.execute("select count(*) from repairs_kept_touched").fetchall()[0][0])


def _record(
    con: duckdb.DuckDBPyConnection, kept: Kept, print_: str, as_of: dt.date, known_by: dt.date
) -> None:
    """What the kept rows were built from: the fingerprint, the dates, every file of the raw table and its rows."""
    con.execute("delete from feature_caches where model = $m", {"m": kept.model})
    con.execute("delete from feature_cache_files where model = $m", {"m": kept.model})
    con.execute(
        f"insert into feature_caches select $m, $f, $a, $k, count(*), current_timestamp from {kept.raw}",
        {"m": kept.model, "f": print_, "a": as_of, "k": known_by},
    )
    con.execute(
        f"insert into feature_cache_files select distinct $m, file_id from {kept.raw}", {"m": kept.model}
    )
