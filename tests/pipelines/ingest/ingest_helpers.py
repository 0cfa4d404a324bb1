"""Shared by the ingest tests: a fake classifier, a tiny mapping writer and a warehouse opener."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from pipelines.ingest.folder import ingest_folder
from pipelines.ingest.loading import IngestSummary
from pipelines.ingest.mapping import load_mapping
from pipelines.warehouse.connection import Warehouse, open_warehouse, query

TODAY = dt.date(2025, 6, 30)

LABEL_SCHEMA: dict[str, pl.DataType] = {  # instances, so mypy sees DataType values
    "categories": pl.List(pl.String),
    "location": pl.String(),
    "evidence": pl.String(),
    "has_police_ref": pl.Boolean(),
    "is_communal_text": pl.Boolean(),
}


def fake_classify(texts: pl.Series, codes: pl.Series | None) -> pl.DataFrame:
    """'lock' in the text -> lock_change (external); 'police' -> has_police_ref. Enough to see labels "
    "stored."""
    values = texts.to_list()
    cats = [["lock_change"] if t and "lock" in t.lower() else [] for t in values]
    return pl.DataFrame(
        {
            "categories": cats,
            "location": ["external" if c else None for c in cats],
            "evidence": ["lock_change: lock" if c else None for c in cats],
            "has_police_ref": [bool(t and "police" in t.lower()) for t in values],
            "is_communal_text": [False] * len(values),
        },
        schema=LABEL_SCHEMA,
    )


def write_mapping(path: Path, extracts: dict[str, Any], landlord: str = "Test Homes") -> Path:
    path.write_text(
        yaml.safe_dump({"landlord": landlord, "extracts": extracts}, allow_unicode=True), encoding="utf-8"
    )
    return path


def new_warehouse(tmp_path: Path | None = None) -> Warehouse:
    return open_warehouse(":memory:" if tmp_path is None else tmp_path / "wh.duckdb", allow_unencrypted=True)


def ingest(wh: Warehouse, folder: Path, mapping: Path, out: Path | None = None) -> IngestSummary:
    return ingest_folder(wh, folder, load_mapping(mapping), classify=fake_classify, out_dir=out, today=TODAY)


def table(wh: Warehouse, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in query(wh.con, sql).rows()]


REPAIRS_HEADER = "job_ref,property_ref,tenancy_ref,reported_at,description,priority,status,cost_gbp\n"


def repairs_csv(path: Path, rows: list[str], header: str = REPAIRS_HEADER, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((header + "".join(r + "\n" for r in rows)).encode(encoding))
    return path


REPAIRS_MAPPING: dict[str, Any] = {
    "repairs": {"files": "repairs_*.csv", "values": {"priority": {"E": "emergency", "U": "urgent"}}}
}
