"""A small hand-made warehouse with 26 weeks of history for the monitoring report's tests.

Every reference and every piece of text carries a marker ("SECRET") so a test can prove none of it reaches the
report. The numbers are chosen so the expected figures can be worked out by hand:

- weeks end on Sundays; the last is 2025-06-29, and the report is produced on Monday 2025-06-30;
- homes: Northfield 60 (40 flats, 20 houses), Southgate 40 (30 flats, 10 houses), Riverside 3 bungalows, plus
  one communal reference (not a home);
- each week: one repairs and one tenancies file; 8 lock_change, 3 door_damage (always suppressed) and 6
  window_damage repairs, except the last week: 25 lock_change (25 / 8 = 3.1x the trailing average);
- each week's list: 12 repairs_admin and 3 tst households (3 is suppressed), published on the Monday
  after the as-of date at 07:00; 2 carried forward for repairs_admin (suppressed);
- outcomes for every week but the last: of the 12 repairs_admin rows, 4 new_concern_referred, 6 no_concern,
  2 already_known; 10 reviewed the next day (on time), 2 reviewed 5 days later (late); tst rows unreviewed;
- runs: a successful ingest and weekly_review per week, and one failed weekly_review in the last week.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.warehouse.connection import Warehouse, open_warehouse

LAST_DAY = dt.date(2025, 6, 29)
TODAY = dt.date(2025, 6, 30)
WEEKS = 26
QUARANTINE_VALUE = "31/02/2025-SECRET-CELL"

ESTATES = [("Northfield", 40, 20, 0), ("Southgate", 30, 10, 0), ("Riverside", 0, 0, 3)]


def secrets_in(wh: Warehouse) -> set[str]:
    """Every reference and text value in the fixture (all carry "SECRET"): none may reach the report."""
    # reasons and reviewers are stored encrypted (plain-marked here, the database being unencrypted)
    found: set[str] = {QUARANTINE_VALUE, "SECRET reason: two external lock changes", "Reviewer SECRET"}
    for table, columns in {
        "raw_repairs": ["job_ref", "property_ref", "tenancy_ref", "evidence"],
        "raw_properties": ["property_ref", "block_ref"],
        "raw_tenancies": ["tenancy_ref", "property_ref"],
        "raw_asb": ["case_ref", "tenancy_ref"],
        "review_list_rows": ["tenancy_ref", "property_ref", "list_id"],
        "carried_forward": ["tenancy_ref"],
        "outcomes": ["tenancy_ref", "source_file"],
        "audit_log": ["tenancy_ref", "detail"],
        "runs": ["detail"],
        "quarantine": ["reason", "file_name"],
        "loaded_files": ["file_name", "file_path"],
    }.items():
        for column in columns:
            rows = wh.con.sql(f"select distinct {column} from {table} where {column} is not null").fetchall()
            found |= {str(r[0]) for r in rows if "SECRET" in str(r[0])}
    return found


class _Rows:
    """Rows collected per table and inserted in one statement each (row-by-row inserts are slow)."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def add(self, table: str, **values: Any) -> None:
        self.tables[table].append(values)

    def flush(self, wh: Warehouse) -> None:
        for table, rows in self.tables.items():
            frame = pl.DataFrame(rows, infer_schema_length=None)
            columns = ", ".join(frame.columns)
            wh.con.register("fixture_rows", frame)
            wh.con.execute(f"insert into {table} ({columns}) select {columns} from fixture_rows")
            wh.con.unregister("fixture_rows")


def _homes() -> list[tuple[str, str, str]]:
    homes: list[tuple[str, str, str]] = []  # property_ref, estate, type
    for estate, flats, houses, bungalows in ESTATES:
        for kind, count in (("flat", flats), ("house", houses), ("bungalow", bungalows)):
            for _ in range(count):
                homes.append((f"PRP-SECRET-{len(homes) + 1:04d}", estate, kind))
    return homes


def make_history(path: Path, *, weeks: int = WEEKS, age_band: bool = False) -> Warehouse:
    """Create an unencrypted warehouse at ``path`` holding ``weeks`` weeks of rows ending on LAST_DAY."""
    wh = open_warehouse(path, allow_unencrypted=True)
    if age_band:
        wh.con.execute("alter table raw_tenancies add column age_band varchar")
    first_known = LAST_DAY - dt.timedelta(days=7 * (weeks - 1))
    homes = _homes()
    db = _Rows()
    for i, (ref, estate, kind) in enumerate(homes):
        db.add(
            "raw_properties",
            property_ref=ref,
            block_ref=f"BLK-SECRET-{estate[:2]}{i % 3}",
            estate=estate,
            property_type=kind,
            bedrooms=2,
            file_id=1,
            source_row=i + 2,
            known_on=first_known,
        )
        band = {"age_band": ["18-24", "25-44", "45-64", "65+"][i % 4]} if age_band else {}
        db.add(
            "raw_tenancies",
            tenancy_ref=f"TNC-SECRET-{i + 1:04d}",
            property_ref=ref,
            start_date=dt.date(2015, 1, 1),
            end_date=None,
            file_id=2,
            source_row=i + 2,
            known_on=first_known,
            **band,
        )
    db.add(
        "raw_properties",
        property_ref="COMM-SECRET-1",
        block_ref="BLK-SECRET-NO0",
        estate="Northfield",
        property_type="communal",
        bedrooms=None,
        file_id=1,
        source_row=999,
        known_on=first_known,
    )
    db.add(
        "raw_asb",
        case_ref="CASE-SECRET-1",
        tenancy_ref="TNC-SECRET-0001",
        opened_at=first_known,
        category="noise",
        role="victim",
        file_id=1,
        source_row=2,
        known_on=first_known,
    )
    file_id = 10
    job = 0
    run_id = 0
    for w in range(weeks):
        week_end = first_known + dt.timedelta(days=7 * w)
        published = dt.datetime.combine(week_end + dt.timedelta(days=1), dt.time(7, 0))
        is_last = week_end == LAST_DAY
        # Files: repairs and tenancies; two quarantined rows in the repairs file.
        file_id += 1
        name = f"repairs_SECRET_{week_end}.csv"
        db.add(
            "loaded_files",
            file_id=file_id,
            extract="repairs",
            file_name=name,
            file_path=f"/data/SECRET/{week_end}.csv",
            sha256="abc",
            size_bytes=100,
            rows_read=40,
            rows_loaded=38,
            rows_quarantined=2,
            known_on=week_end,
            loaded_at=published,
            run_id=w,
        )
        db.add(
            "quarantine",
            file_id=file_id,
            extract="repairs",
            file_name=name,
            source_row=7,
            column_name="reported_at",
            reason=f"unreadable date '{QUARANTINE_VALUE}'",
            quarantined_at=published,
        )
        db.add(
            "quarantine",
            file_id=file_id,
            extract="repairs",
            file_name=name,
            source_row=9,
            column_name="job_ref",
            reason="blank required value",
            quarantined_at=published,
        )
        db.add(
            "loaded_files",
            file_id=file_id + 1,
            extract="tenancies",
            file_name="tenancies_SECRET.csv",
            file_path="/data/SECRET/tenancies.csv",
            sha256="def",
            size_bytes=10,
            rows_read=103,
            rows_loaded=103,
            rows_quarantined=0,
            known_on=week_end,
            loaded_at=published,
            run_id=w,
        )
        # Repairs reported mid-week, known in that week's file.
        reported = dt.datetime.combine(week_end - dt.timedelta(days=3), dt.time(10, 0))
        mix = [("lock_change", 25 if is_last else 8), ("door_damage", 3), ("window_damage", 6)]
        for category, count in mix:
            for k in range(count):
                job += 1
                db.add(
                    "raw_repairs",
                    job_ref=f"JOB-SECRET-{job:06d}",
                    property_ref=homes[job % len(homes)][0],
                    tenancy_ref=f"TNC-SECRET-{job % len(homes) + 1:04d}",
                    reported_at=reported,
                    description_enc=b"\x00encrypted",
                    status="completed",
                    categories=[category],
                    location="external",
                    evidence=f"{category}: SECRET words {k}",
                    has_police_ref=False,
                    is_communal_text=False,
                    file_id=file_id,
                    source_row=k + 2,
                    known_on=week_end,
                )
        # A cancelled lock change never counts.
        job += 1
        db.add(
            "raw_repairs",
            job_ref=f"JOB-SECRET-{job:06d}",
            property_ref="PRP-SECRET-0001",
            tenancy_ref=None,
            reported_at=reported,
            description_enc=None,
            status="cancelled",
            categories=["lock_change"],
            location=None,
            evidence=None,
            has_police_ref=False,
            is_communal_text=False,
            file_id=file_id,
            source_row=99,
            known_on=week_end,
        )
        file_id += 1
        # The list: 12 repairs_admin + 3 tst households, from Northfield (60 homes) and half of Southgate.
        list_id = f"LIST-SECRET-{week_end}"
        outcome = ["new_concern_referred"] * 4 + ["no_concern"] * 6 + ["already_known"] * 2
        for rank in range(15):
            team = "repairs_admin" if rank < 12 else "tst"
            h = (w * 15 + rank) % 80
            tenancy = f"TNC-SECRET-{h + 1:04d}"
            db.add(
                "review_list_rows",
                list_id=list_id,
                as_of=week_end,
                published_at=published,
                tenancy_ref=tenancy,
                property_ref=homes[h][0],
                team=team,
                rank=rank + 1,
                score=9.5,
                points_score=5.0,
                surprise_score=2.0,
                anomaly_score=0.5,
                reasons_enc=b"\x00SECRET reason: two external lock changes",
                is_complex_case=False,
                config_version="v1",
                rules_version="r1",
            )
            if team == "repairs_admin" and not is_last:
                late = rank >= 10
                db.add(
                    "outcomes",
                    outcome_id=w * 100 + rank,
                    list_id=list_id,
                    as_of=week_end,
                    tenancy_ref=tenancy,
                    outcome_enc=b"\x00" + outcome[rank].encode(),
                    reviewer_enc=b"\x00Reviewer SECRET",
                    rationale_enc=b"\x00enc",
                    reviewed_on=published.date() + dt.timedelta(days=5 if late else 1),
                    imported_at=published,
                    source_file="SECRET.xlsx",
                    source_row=rank + 2,
                )
        for k in range(2):
            db.add(
                "carried_forward",
                list_id=list_id,
                as_of=week_end,
                tenancy_ref=f"TNC-SECRET-{(w * 7 + k) % len(homes) + 1:04d}",
                team="repairs_admin",
                score=4.5,
            )
        for kind, minutes in (("ingest", 3), ("weekly_review", 7)):
            run_id += 1
            db.add(
                "runs",
                run_id=run_id,
                kind=kind,
                as_of=week_end,
                started_at=published,
                finished_at=published + dt.timedelta(minutes=minutes),
                status="success",
                files_loaded=2,
                files_failed=0,
                rows_loaded=141,
                rows_quarantined=2,
                detail="SECRET detail",
            )
        db.add(
            "audit_log",
            audit_id=w,
            recorded_at=published,
            actor_enc=b"\x00system",
            action="published",
            tenancy_ref=f"TNC-SECRET-{w + 1:04d}",
            detail="SECRET audit detail",
        )
    failed_at = dt.datetime.combine(LAST_DAY + dt.timedelta(days=1), dt.time(8, 0))
    db.add(
        "runs",
        run_id=run_id + 1,
        kind="weekly_review",
        as_of=LAST_DAY,
        started_at=failed_at,
        finished_at=failed_at + dt.timedelta(minutes=1),
        status="failed",
        files_loaded=0,
        files_failed=1,
        rows_loaded=0,
        rows_quarantined=0,
        detail="SECRET traceback",
    )
    db.flush(wh)
    return wh
