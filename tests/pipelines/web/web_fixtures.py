"""A small encrypted warehouse with two published weeks, raw records behind one household, and four users
(one per role), for the web page's tests. Values are hand-written; nothing comes from the generator."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.core.settings import load_settings
from pipelines.warehouse.audit import record_list_published
from pipelines.warehouse.connection import open_warehouse
from pipelines.warehouse.references import pseudonymise_in_place
from pipelines.web.app import WebConfig, create_app
from pipelines.web.users import UserStore, roles

WEEK1 = dt.date(2025, 3, 9)  # Sundays
WEEK2 = dt.date(2025, 3, 16)
LIST1 = "2025-03-09-r1"
LIST2 = "2025-03-16-r2"
TODAY = dt.date(2025, 3, 20)  # a Thursday
PASSWORD = "correct horse battery"
USERS = {"alex": "repairs_admin", "tess": "tst", "cora": "coordinator", "ana": "analyst"}
RAW_TABLES = ("raw_repairs", "raw_recharges", "raw_asb", "raw_rent")
HTML_TEXT = "<script>alert('x')</script> front door lock snapped, new cylinder"


def _listed(rows: list[tuple[int, str, str, float, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rank": [r[0] for r in rows],
            "tenancy_ref": [r[1] for r in rows],
            "property_ref": [f"P-{r[1]}" for r in rows],
            "team": [r[2] for r in rows],
            "score": [r[3] for r in rows],
            "points_score": [r[3] for r in rows],
            "surprise_score": [0.5 for _ in rows],
            "anomaly_score": [0.5 for _ in rows],
            "is_complex_case": [False for _ in rows],
            "reasons": [r[4] for r in rows],
        }
    )


def _publish(con, cipher, list_id, as_of, rows, carried) -> None:  # type: ignore[no-untyped-def]
    record_list_published(
        con,
        cipher=cipher,
        list_id=list_id,
        as_of=as_of,
        listed=_listed(rows),
        carried=pl.DataFrame(
            {
                "tenancy_ref": [c[0] for c in carried],
                "team": [c[1] for c in carried],
                "score": [c[2] for c in carried],
            },
            schema={"tenancy_ref": pl.String, "team": pl.String, "score": pl.Float64},
        ),
        config_version="test",
        config_fingerprint="abc",
        rules_version="rules-1",
        thresholds={},
        actor="test-runner",
    )


def _repair(con, cipher, job, prop, tenancy, on, categories, text, known_on, *, row=1, evidence=None):  # type: ignore[no-untyped-def]
    con.execute(
        "insert into raw_repairs (job_ref, property_ref, tenancy_ref, reported_at, description_enc, priority, trade,"
        " status, cost_gbp, categories, location, evidence, has_police_ref, is_communal_text, file_id, source_row,"
        " known_on) values (?, ?, ?, ?, ?, 'emergency', 'joiner', 'completed', 85.5, ?, 'external', ?, false, false,"
        " 1, ?, ?)",
        [
            job,
            prop,
            tenancy,
            dt.datetime.combine(on, dt.time(9)),
            cipher.encrypt(text),
            categories,
            evidence,
            row,
            known_on,
        ],
    )


def build_warehouse(db: Path) -> None:
    wh = open_warehouse(db)
    con, c = wh.con, wh.cipher
    _publish(
        con,
        c,
        LIST1,
        WEEK1,
        [
            (1, "T1", "repairs_admin", 9.5, "3 lock changes since 2 Jan 2025"),
            (1, "T2", "tst", 7.0, "door damage; ASB"),
        ],
        [("T3", "repairs_admin", 5.0)],
    )
    _publish(
        con,
        c,
        LIST2,
        WEEK2,
        [
            (1, "T1", "repairs_admin", 10.0, "4 lock changes since 2 Jan 2025"),
            (2, "T5", "repairs_admin", 6.0, "lost keys"),
        ],
        [("T3", "repairs_admin", 5.5)],
    )
    d = dt.date
    _repair(
        con,
        c,
        "J1",
        "P-T1",
        "T1",
        d(2025, 1, 2),
        ["lock_change"],
        HTML_TEXT,
        d(2025, 1, 3),
        evidence="lock_change: cylinder",
    )
    _repair(
        con,
        c,
        "J2",
        "P-T1",
        None,
        d(2025, 2, 1),
        ["door_damage"],
        "door kicked in, frame split",
        d(2025, 2, 2),
        row=2,
    )
    _repair(con, c, "J3", "P-T1", "T1", d(2025, 2, 10), [], "dripping tap in kitchen", d(2025, 2, 11), row=3)
    # J4 is first known after week 1's list and must not show on it; J1's later version is likewise week 2 only.
    _repair(
        con,
        c,
        "J4",
        "P-T1",
        "T1",
        d(2025, 3, 5),
        ["lost_keys"],
        "keys lost, locked out",
        d(2025, 3, 12),
        row=4,
    )
    _repair(
        con,
        c,
        "J1",
        "P-T1",
        "T1",
        d(2025, 1, 2),
        ["lock_change"],
        "CORRECTED TEXT lock",
        d(2025, 3, 14),
        row=5,
    )
    _repair(
        con,
        c,
        "J9",
        "P-T9",
        "T9",
        d(2025, 2, 1),
        ["lock_change"],
        "someone else's lock",
        d(2025, 2, 2),
        row=6,
    )
    con.execute(
        "insert into raw_recharges (recharge_ref, tenancy_ref, job_ref, raised_at, amount_gbp, reason_enc, status,"
        " categories, file_id, source_row, known_on) values ('R1', 'T1', 'J2', ?, 120, ?, 'raised', ['door_damage'],"
        " 1, 1, ?)",
        [d(2025, 2, 8), c.encrypt("recharge for replacement door"), d(2025, 2, 9)],
    )
    con.execute(
        "insert into raw_asb (case_ref, tenancy_ref, opened_at, category, role, description_enc, file_id, source_row,"
        " known_on) values ('A1', 'T1', ?, 'noise', 'complainant', ?, 1, 1, ?)",
        [d(2025, 2, 20), c.encrypt("shouting heard at night"), d(2025, 2, 21)],
    )
    con.execute(
        "insert into raw_rent (tenancy_ref, week_ending, balance_gbp, weekly_charge_gbp, file_id, source_row, known_on)"
        " values ('T1', ?, 0, 100, 1, 1, ?), ('T1', ?, 340, 100, 1, 2, ?)",
        [d(2025, 2, 23), d(2025, 2, 23), d(2025, 3, 2), d(2025, 3, 2)],
    )
    # The rows above were written by hand with the landlord's references: store them as a load would.
    pseudonymise_in_place(con, c, [t for t in RAW_TABLES])
    wh.close()


def write_users(path: Path) -> None:
    store = UserStore(path)
    allowed = roles(load_settings().teams)
    for name, role in USERS.items():
        store.add(name, role, PASSWORD, allowed_roles=allowed)


@dataclass
class FakeClock:
    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make_app(tmp_path: Path, clock: FakeClock):  # type: ignore[no-untyped-def]
    db = tmp_path / "wh.duckdb"
    users = tmp_path / "users.yaml"
    if not db.exists():
        build_warehouse(db)
    if not users.exists():
        write_users(users)
    wh = open_warehouse(db, read_only=True)
    cipher = wh.cipher
    wh.close()
    os.chmod(users, 0o600)
    config = WebConfig(db=db, users=users, settings=load_settings(), cipher=cipher)
    return create_app(config, clock=clock, today=lambda: TODAY)
