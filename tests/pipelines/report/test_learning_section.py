"""The report's "Learning from outcomes" section from hand-made mart rows."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.core.settings import load_settings
from pipelines.report.learning_section import learning_section
from pipelines.report.model import Context

SUN = dt.date(2025, 6, 29)


def _ctx() -> Context:
    settings = load_settings()
    return Context(settings, 2, SUN, SUN, settings.monitoring.small_count_threshold)


def test_weeks_moves_precision_and_rates_on_against_off() -> None:
    data = {
        "learning_weekly": pl.DataFrame(
            {
                "week_ending": [SUN - dt.timedelta(days=7), SUN],
                "learning_active": [False, True],
                "listed": [30, 30],
                "moved_on": [0, 6],
                "moved_off": [0, 6],
                "referred": [9, 12],
                "no_concern": [11, 8],
                "moved_on_referred": [0, 5],
                "moved_on_no_concern": [0, 1],
            }
        ),
        "learning_groups": pl.DataFrame(
            {
                "attribute_name": ["estate", "estate", "property_type"],
                "group_name": ["North", "South", "flat"],
                "listed_on": [20, 12, 40],
                "listed_off": [10, 12, 2],
            }
        ),
        "groups": pl.DataFrame(
            {
                "attribute_name": ["estate", "estate", "property_type"],
                "group_name": ["North", "South", "flat"],
                "homes": [1000, 2000, 3000],
            }
        ),
    }
    section = learning_section(data, _ctx())
    weekly, groups = section.tables
    assert [r["active"] for r in weekly.rows] == ["no", "yes"]
    last = weekly.rows[1]
    assert (last["moved_on"], last["moved_off"]) == (6, 6)
    assert last["precision"] == 0.6  # 12 / (12 + 8)
    assert weekly.rows[0]["moved_on"] == 0
    # moved on: 5 referred, 1 no concern: small counts are suppressed, as everywhere in the report
    assert last["moved_on_precision"] == "suppressed"
    by_group = {r["group"]: r for r in groups.rows}
    assert by_group["North"]["rate_on"] == 20.0 and by_group["North"]["rate_off"] == 10.0
    assert by_group["North"]["ratio"] == 2.0 and by_group["North"]["check"] == "changed"
    assert by_group["South"]["check"] == "ok"
    assert by_group["flat"]["ratio"] == "suppressed"  # 2 listed off: too few to compare
    assert (
        len(section.warnings) == 1 and "estate 'North' was listed 2.00 times as often" in section.warnings[0]
    )
