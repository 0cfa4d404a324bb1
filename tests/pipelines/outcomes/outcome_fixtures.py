"""Hand-built published lists for the audit, outcomes and history tests (no scoring, no synthetic data)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from pipelines.warehouse.audit import record_list_published
from pipelines.warehouse.connection import Warehouse, open_warehouse

WEEK1 = dt.date(2025, 3, 9)  # a Sunday
WEEK2 = dt.date(2025, 3, 16)
LIST1 = "2025-03-09-r1"
LIST2 = "2025-03-16-r2"


def new_warehouse(tmp_path: Path, name: str = "wh.duckdb") -> Warehouse:
    return open_warehouse(tmp_path / name, allow_unencrypted=True)


def listed_frame(rows: list[tuple[int, str, str, float, str]]) -> pl.DataFrame:
    """(rank, tenancy_ref, team, score, reasons) -> the scored-week ``listed`` frame."""
    return pl.DataFrame(
        {
            "rank": [r[0] for r in rows],
            "tenancy_ref": [r[1] for r in rows],
            "property_ref": [f"P-{r[1]}" for r in rows],
            "team": [r[2] for r in rows],
            "score": [r[3] for r in rows],
            "points_score": [r[3] - 1.0 for r in rows],
            "surprise_score": [0.5 for _ in rows],
            "anomaly_score": [0.5 for _ in rows],
            "is_complex_case": [False for _ in rows],
            "reasons": [r[4] for r in rows],
        }
    )


def carried_frame(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"tenancy_ref": [r[0] for r in rows], "team": [r[1] for r in rows], "score": [r[2] for r in rows]},
        schema={"tenancy_ref": pl.String, "team": pl.String, "score": pl.Float64},
    )


def publish(
    wh: Warehouse,
    list_id: str,
    as_of: dt.date,
    rows: list[tuple[int, str, str, float, str]],
    carried: list[tuple[str, str, float]] | None = None,
) -> None:
    record_list_published(
        wh.con,
        list_id=list_id,
        as_of=as_of,
        listed=listed_frame(rows),
        carried=carried_frame(carried or []),
        config_version="2026.11-1",
        config_fingerprint="abc123def456",
        rules_version="rules-1",
        thresholds={"min_points": 4.0, "capacity": {"repairs_admin": 25, "tst": 10}},
        actor="test-runner",
        cipher=wh.cipher,
    )


def two_weeks(wh: Warehouse) -> None:
    """Week 1 lists T1 (repairs_admin) and T2 (tst), carries T3; week 2 lists T1 again."""
    publish(
        wh,
        LIST1,
        WEEK1,
        [
            (1, "T1", "repairs_admin", 9.5, "3 lock changes since 2 Jan 2025"),
            (2, "T2", "tst", 7.0, "front door damaged 4 Feb 2025; ASB noise case"),
        ],
        carried=[("T3", "repairs_admin", 5.0)],
    )
    publish(wh, LIST2, WEEK2, [(1, "T1", "repairs_admin", 10.0, "4 lock changes since 2 Jan 2025")])


def write_review_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    """A filled-in review_list.csv with the published columns (missing keys are blank)."""
    columns = [
        "rank", "tenancy_ref", "property_ref", "score", "team", "reasons", "list_id", "as_of",
        "outcome", "reviewer", "rationale", "reviewed_on",
    ]  # fmt: skip
    data = {c: [r.get(c, "") for r in rows] for c in columns}
    frame = pl.DataFrame(data, schema=dict.fromkeys(columns, pl.String))
    frame.write_csv(path)
    return path
