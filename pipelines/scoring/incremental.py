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

The other models run in full each week: the repairs models attribute jobs across households (block clusters,
the household living at a property that day) and the household features compare each household with its peers,
so a household's row depends on others' records (docs/scaling.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any

import duckdb

from pipelines.core.paths import sql_text
from pipelines.warehouse.caches import CACHE_TABLES
from pipelines.warehouse.connection import materialise_model, transaction

log = logging.getLogger(__name__)

MODEL = "rent__trajectory"
CACHE = CACHE_TABLES[MODEL]
# The models whose SQL decides the kept rows: a change to any of them recomputes in full.
SQL_MODELS = ("staging/stg_rent", "intermediate/rent__trajectory", "intermediate/rent__trajectory_fold")
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
# which only it reads, is run here on the rows that need it).
REPLACED = ("staging/stg_rent", "intermediate/rent__trajectory")


def fingerprint(settings_fingerprint: str) -> str:
    """What the kept rows depend on besides the data: the settings and the text of the models that made them."""
    digest = hashlib.sha256(settings_fingerprint.encode())
    for name in SQL_MODELS:
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
    reason = _why_full(con, print_, as_of, known_by)
    if reason is None:
        done = f"incremental: {_update(con, params)} tenancies"
        kept = "rent_fold_kept"
    else:
        materialise_model(con, "staging/stg_rent", params)
        kept = materialise_model(con, "intermediate/rent__trajectory", params)
        done = f"full: {reason}"
    with transaction(con):
        con.execute(f'create or replace table "{CACHE}" as select * from {kept}')
        _record(con, print_, as_of, known_by)
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


def _why_full(con: duckdb.DuckDBPyConnection, print_: str, as_of: dt.date, known_by: dt.date) -> str | None:
    """Why the kept rows cannot be carried forward to (as_of, known_by), or None when they can."""
    saved = con.execute(
        "select fingerprint, as_of, known_by, rows_seen from feature_caches where model = $m", {"m": MODEL}
    ).fetchall()
    exists = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database()"
        " and schema_name = 'main' and table_name = $t",
        {"t": CACHE},
    ).fetchall()[0][0]
    if len(saved) != 1 or not exists:
        return "nothing kept"
    kept_print, kept_as_of, kept_known_by, rows_seen = saved[0]
    if kept_print != print_:
        return "settings or models changed"
    if as_of < kept_as_of or known_by < kept_known_by:
        return "an earlier week than the kept one"
    still = con.execute(
        "select count(*) from raw_rent semi join feature_cache_files as f"
        " on raw_rent.file_id = f.file_id and f.model = $m",
        {"m": MODEL},
    ).fetchall()[0][0]
    if still != rows_seen:
        return "rent rows deleted since"
    return None


def _update(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any]) -> int:
    """Carry the kept rows forward; returns how many tenancies were touched."""
    saved_as_of, saved_known_by = con.execute(
        "select as_of, known_by from feature_caches where model = $m", {"m": MODEL}
    ).fetchall()[0]
    # Rows visible now that were not last time: from files loaded since, or reached by the later dates. The new
    # files are found first (a handful), so the scan of raw_rent tests a short list, not a join.
    new_files = [
        int(r[0])
        for r in con.execute(
            "select distinct file_id from raw_rent anti join"
            " (select file_id from feature_cache_files where model = $m) as seen using (file_id)",
            {"m": MODEL},
        ).fetchall()
    ]
    # Three disjoint parts, each a range of one column: raw_rent is appended file by file, so known_on, week_ending
    # and file_id rise together and DuckDB skips the row groups outside each range (one filter with an OR of the
    # three read all 16.5 M rows at 160,000 homes; docs/scaling.md). File ids only grow, so new files' ids are at
    # least the smallest of them.
    con.execute(
        "create or replace temp table rent_fold_entering as"
        " select * from raw_rent where known_on > $saved_known_by and known_on <= $known_by"
        " and week_ending <= $as_of"
        " union all select * from raw_rent where known_on <= $saved_known_by"
        " and week_ending > $saved_as_of and week_ending <= $as_of"
        " union all select * from raw_rent where known_on <= $saved_known_by and week_ending <= $saved_as_of"
        " and file_id >= $first_new_file and list_contains($new_files, file_id)",
        {
            "as_of": params["as_of"],
            "known_by": params["known_by"],
            "saved_as_of": saved_as_of,
            "saved_known_by": saved_known_by,
            "new_files": new_files,
            "first_new_file": min(new_files, default=0),
        },
    )
    # A tenancy whose new rows all come after its kept weeks is carried forward; one with a new version of a kept
    # week (a restated or late file), or nothing kept, is recomputed from its whole history. A tenancy with
    # nothing kept had no row visible last time (rent__trajectory keeps every tenancy it saw), so its whole
    # history is its entering rows: only the restated ones are read again from raw_rent.
    con.execute(
        "create or replace temp table rent_fold_touched as"
        " select entering.tenancy_ref,"
        " coalesce(min(entering.week_ending) <= any_value(kept.latest_week_ending), true) as is_whole,"
        " coalesce(min(entering.week_ending) <= any_value(kept.latest_week_ending), false) as is_restated"
        f' from rent_fold_entering as entering left join "{CACHE}" as kept using (tenancy_ref)'
        " group by entering.tenancy_ref"
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
    with _raw_rent_as(con, "select * from rent_fold_source"):
        materialise_model(con, "staging/stg_rent", params, table="rent_fold_rows")
    state = ", ".join(f"kept.{c}" for c in STATE_COLUMNS)
    con.execute(
        f'create or replace temp table rent_fold_state as select {state} from "{CACHE}" as kept'
        " semi join rent_fold_touched as t on kept.tenancy_ref = t.tenancy_ref and not t.is_whole"
    )
    _fold(con, params)
    return int(touched)


@contextmanager
def _raw_rent_as(con: duckdb.DuckDBPyConnection, select: str) -> Any:
    """For the block, ``raw_rent`` (as the models read it) is ``select`` (which must not read ``raw_rent``): a
    temporary view of that name comes before the warehouse's table, so ``stg_rent`` runs unchanged on just these
    rows."""
    con.execute(f"create or replace temp view raw_rent as {select}")
    try:
        yield
    finally:
        con.execute("drop view if exists temp.main.raw_rent")


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


def _record(con: duckdb.DuckDBPyConnection, print_: str, as_of: dt.date, known_by: dt.date) -> None:
    con.execute("delete from feature_caches where model = $m", {"m": MODEL})
    con.execute("delete from feature_cache_files where model = $m", {"m": MODEL})
    con.execute(
        "insert into feature_caches select $m, $f, $a, $k, count(*), current_timestamp from raw_rent",
        {"m": MODEL, "f": print_, "a": as_of, "k": known_by},
    )
    con.execute("insert into feature_cache_files select distinct $m, file_id from raw_rent", {"m": MODEL})
