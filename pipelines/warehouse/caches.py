"""Feature rows kept between weekly runs (pipelines/scoring/incremental.py), and forgetting them.

A cache is a table ``cache_<model>`` of per-household rows a SQL model returned, plus one row in
``feature_caches`` saying what they were built from (docs/architecture.md, "Incremental weeks"). They are
derived data: dropping them costs one full recomputation, never a different list. Retention and key rotation drop
them, so rows derived from purged records do not outlive those records.
"""

from __future__ import annotations

import duckdb

# The cached models' tables (pipelines/scoring/incremental.py), by model.
CACHE_TABLES: dict[str, str] = {"rent__trajectory": "cache_rent__trajectory"}


def forget_caches(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every kept feature row and what they were built from: the next weekly run recomputes in full.
    Joins the caller's transaction if one is open."""
    con.execute("delete from feature_cache_files")
    con.execute("delete from feature_caches")
    for table in CACHE_TABLES.values():
        con.execute(f'drop table if exists "{table}"')
