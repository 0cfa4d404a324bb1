"""Writing a synthetic landlord: knowledge-time weekly drops, dated or undated file names (with the export
moment as modification time), the mapping file and the answer key's place outside the extracts."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.core.errors import UserError
from pipelines.synth.stock import Calendar, date_of

EXTRACTS = ("repairs", "recharges", "asb", "rent", "tenancies", "properties", "known_cases", "planned_works")
COLUMNS: dict[str, tuple[str, ...]] = {
    "repairs": (
        "job_ref",
        "property_ref",
        "tenancy_ref",
        "reported_at",
        "completed_at",
        "sor_code",
        "description",
        "priority",
        "trade",
        "status",
        "cost_gbp",
    ),
    "recharges": (
        "recharge_ref",
        "tenancy_ref",
        "property_ref",
        "job_ref",
        "raised_at",
        "amount_gbp",
        "reason",
        "status",
    ),
    "asb": ("case_ref", "tenancy_ref", "opened_at", "closed_at", "category", "role", "description"),
    "rent": ("tenancy_ref", "week_ending", "balance_gbp", "weekly_charge_gbp"),
    "tenancies": ("tenancy_ref", "property_ref", "start_date", "end_date"),
    "properties": ("property_ref", "block_ref", "estate", "property_type", "bedrooms"),
    "known_cases": ("tenancy_ref", "marker", "start_date", "end_date"),
    "planned_works": ("property_ref", "block_ref", "estate", "programme", "start_date", "end_date"),
}
VALUE_MAPS: dict[str, dict[str, dict[str, str]]] = {
    "repairs": {
        "priority": {
            "I": "emergency",
            "E": "emergency",
            "U": "urgent",
            "N": "routine",
            "P": "planned",
            "V": "void",
        },
        "status": {
            "Complete": "completed",
            "Cancelled": "cancelled",
            "Open": "open",
            "No Access": "no_access",
        },
    },
    "recharges": {
        "status": {"Raised": "raised", "Paid": "paid", "Disputed": "disputed", "Written Off": "written off"}
    },
    "asb": {
        "role": {
            "Complainant": "complainant",
            "Alleged Perpetrator": "subject",
            "Victim": "victim",
            "Witness": "witness",
        }
    },
    "known_cases": {
        "marker": {
            "DA - Domestic Abuse": "domestic abuse",
            "MARAC": "marac",
            "Sanctuary Scheme": "sanctuary scheme",
        }
    },
}


def weekly(
    frame: pl.DataFrame, cal: Calendar, open_col: str, close_col: str | None, before_close: dict[str, pl.Expr]
) -> pl.DataFrame:
    """Knowledge-time versions: each record in the drop of the week it became known, restated in the drop of
    the week it closed when that is later (with ``before_close`` columns blanked/overridden in the first)."""
    opened = cal.file_day(frame[open_col].to_numpy())
    frame = frame.with_columns(pl.Series("file_day", opened))
    if close_col is None:
        return frame
    closed = frame[close_col].fill_null(-1).to_numpy()
    closed_file = np.where(closed >= 0, cal.file_day(np.maximum(closed, 0)), -1)
    later = (closed >= 0) & (closed_file > opened)
    frame = frame.with_columns(pl.Series("_later", later), pl.Series("_closed_file", closed_file))
    first = frame.with_columns(
        [
            pl.when(pl.col("_later")).then(expr).otherwise(pl.col(name)).alias(name)
            for name, expr in before_close.items()
        ]
    )
    second = frame.filter(pl.col("_later")).with_columns(pl.col("_closed_file").alias("file_day"))
    return pl.concat([first, second]).drop("_later", "_closed_file")


def drop_path(folder: Path, name: str, day: int, *, undated: bool) -> Path:
    """Where the drop of the week ending ``day`` goes. Dated: ``repairs_2026-11-22.csv``. Undated, as many
    housing systems name exports: ``repairs_FY2026-27_wk34.csv`` (financial year from 1 April and its week
    number, which are not dates); the extract date is then the file's modification time (``stamp_export``)."""
    sunday = date_of(day)
    if not undated:
        return folder / f"{name}_{sunday.isoformat()}.csv"
    fy = sunday.year if sunday.month >= 4 else sunday.year - 1
    week = (sunday - dt.date(fy, 4, 1)).days // 7 + 1
    return folder / f"{name}_FY{fy}-{(fy + 1) % 100:02d}_wk{week:02d}.csv"


# The moment a week's drop is exported: 02:00 local time on the Monday after its week-ending Sunday.
EXPORT_HOUR = 2


def stamp_export(path: Path, day: int) -> None:
    """Set an undated drop's modification time to its export moment (what an SFTP drop keeps)."""
    moment = dt.datetime.combine(date_of(day) + dt.timedelta(days=1), dt.time(EXPORT_HOUR)).timestamp()
    os.utime(path, (moment, moment))


def write_drops(
    frame: pl.DataFrame, out_dir: Path, name: str, sort_by: list[str], *, undated: bool = False
) -> tuple[int, int]:
    folder = out_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    frame = frame.sort(["file_day", *sort_by])
    days = frame["file_day"].to_numpy()
    values, offsets = np.unique(days, return_index=True)
    bounds = [*offsets.tolist(), len(days)]
    for i, day in enumerate(values.tolist()):
        part = frame.slice(bounds[i], bounds[i + 1] - bounds[i]).select(COLUMNS[name])
        path = drop_path(folder, name, day, undated=undated)
        write_csv(part, path)
        if undated:
            stamp_export(path, day)
    return len(frame), len(values)


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    frame.write_csv(path, date_format="%d/%m/%Y", datetime_format="%d/%m/%Y %H:%M", float_precision=2)


def mapping(seed: int) -> dict[str, object]:
    extracts: dict[str, object] = {}
    for name in EXTRACTS:
        spec: dict[str, object] = {
            "files": f"{name}/{name}_*.csv",
            "encoding": "utf-8",
            "delimiter": ",",
            "columns": {c: c for c in COLUMNS[name]},
        }
        if name in VALUE_MAPS:
            spec["values"] = VALUE_MAPS[name]
        extracts[name] = spec
    return {"landlord": f"Synthetic Homes (seed {seed})", "extracts": extracts}


def default_key_path(out_dir: Path) -> Path:
    return out_dir.parent / f"{out_dir.name}_answer_key.csv"


def prepare_out_dir(out_dir: Path, key_path: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir} is a file, not a folder")
    resolved = out_dir.resolve()
    if resolved == key_path.resolve().parent or resolved in key_path.resolve().parents:
        raise UserError(f"the answer key {key_path} must not be inside the extracts folder {out_dir}")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (out_dir / "mapping.yaml").exists():
            raise UserError(f"{out_dir} is not empty and holds no synthetic landlord; choose a new folder")
        for name in EXTRACTS:  # a previous synthetic landlord: replace it, leaving anything else alone
            shutil.rmtree(out_dir / name, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
