"""What a backtest measured (``BacktestResult``): shared by the replay that fills it and the plots that draw it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl


@dataclass
class BacktestResult:
    """What a backtest measured. Frames hold counts and rates only (no household references)."""

    weeks: list[dt.date]
    truth_source: str  # "answer key" or "outcomes"
    weekly: pl.DataFrame  # one row per config per week (WEEKLY_SCHEMA)
    summary: pl.DataFrame  # one row per config
    sweep: pl.DataFrame  # config, swept, threshold, households_per_week, precision, recall, is_current
    weeks_to_flag: (
        pl.DataFrame
    )  # config, weeks_to_flag (one row per pattern started in the range; null = never)
    files: dict[str, Path] = field(default_factory=dict)
