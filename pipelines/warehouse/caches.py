"""Feature rows kept between weekly runs (pipelines/scoring/incremental.py), and forgetting them.

A cache is a table ``cache_<model>`` of the rows a SQL model returned (per household, or per repair job), plus
one row in ``feature_caches`` saying what they were built from (docs/architecture.md, "Incremental weeks"). They
are derived data: dropping them costs one full recomputation, never a different list. Retention drops the rent
trajectories when it deletes snapshots and blanks the kept repairs' text as it blanks raw_repairs'
(pipelines/ops/retention.py), so nothing derived from purged records outlives them.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

# The cached models' tables (pipelines/scoring/incremental.py), by model.
CACHE_TABLES: dict[str, str] = {
    "rent__trajectory": "cache_rent__trajectory",
    # each job's latest version known by the last run's knowledge date: copies of raw_repairs rows
    "stg_repairs__known": "cache_stg_repairs__known",
}


def forget_caches(con: duckdb.DuckDBPyConnection, models: Sequence[str] | None = None) -> None:
    """Drop the kept rows of ``models`` (default: every cached model) and what they were built from: the next
    weekly run recomputes those in full. Joins the caller's transaction if one is open."""
    for model in CACHE_TABLES if models is None else models:
        con.execute("delete from feature_cache_files where model = $m", {"m": model})
        con.execute("delete from feature_caches where model = $m", {"m": model})
        con.execute(f'drop table if exists "{CACHE_TABLES[model]}"')
        con.execute(f'drop table if exists "{CACHE_TABLES[model]}_next"')


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the warehouse (not the connection's temporary tables) holds ``table``."""
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where database_name = current_database()"
            " and schema_name = 'main' and table_name = $t",
            {"t": table},
        ).fetchall()[0][0]
    )
