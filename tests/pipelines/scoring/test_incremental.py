"""pipelines/scoring/incremental.py: rent trajectories kept between weeks equal the full model's, week after week.

Hand-written rent rows in an in-memory warehouse: the kept rows carried forward by new weeks, a restated week, a
late file, a settings change, an earlier week and a retention purge; then random histories (hypothesis) folded in
random steps against the full model. The replay of whole synthetic landlords is in test_incremental_e2e.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.core.settings import Settings, load_settings
from pipelines.scoring.incremental import rent_trajectory
from pipelines.scoring.week import model_params
from pipelines.warehouse.caches import forget_caches
from pipelines.warehouse.connection import materialise_model, open_warehouse, query

W0 = dt.date(2025, 1, 5)  # a Sunday: week 0


def week(n: int) -> dt.date:
    return W0 + dt.timedelta(days=7 * n)


def with_clear(settings: Settings, *, weeks: int, max_gbp: float) -> Settings:
    data = settings.model_dump()
    data["features"]["arrears_clear_weeks"] = weeks
    data["features"]["arrears_clear_max_gbp"] = max_gbp
    return Settings.model_validate(data)


class Rent:
    """raw_rent rows file by file, as ingest writes them (a file's rows share file_id and known_on)."""

    def __init__(self) -> None:
        self.wh = open_warehouse(":memory:", allow_unencrypted=True)
        self.con: duckdb.DuckDBPyConnection = self.wh.con
        self.file_id = 0

    def file(self, known_on: dt.date, rows: Sequence[tuple[str, int, float]]) -> None:
        """One file: (tenancy, week number, balance) rows."""
        self.file_id += 1
        for i, (tenancy, n, balance) in enumerate(rows):
            self.con.execute(
                "insert into raw_rent values (?, ?, ?, 100, ?, ?, ?)",
                [tenancy, week(n), balance, self.file_id, i + 2, known_on],
            )

    def full(self, s: Settings, as_of: dt.date) -> pl.DataFrame:
        params = model_params(s, as_of)
        materialise_model(self.con, "staging/stg_rent", params)
        materialise_model(self.con, "intermediate/rent__trajectory", params)
        return query(self.con, "select * from rent__trajectory order by tenancy_ref")

    def kept(self, s: Settings, as_of: dt.date) -> tuple[str, pl.DataFrame]:
        done = rent_trajectory(self.con, model_params(s, as_of), s.fingerprint())
        return done, query(self.con, "select * from rent__trajectory order by tenancy_ref")


@pytest.fixture
def s() -> Settings:
    return with_clear(load_settings(), weeks=2, max_gbp=10.0)  # two clear weeks before arrears make an onset


def test_new_weeks_carry_the_trajectory_forward(s: Settings) -> None:
    rent = Rent()
    # weekly files: each holds that week's balance of A and B
    a = [0, 0, 0, 50, 80, 0, 0, 30, 120, 90]
    b = [200, 210, 220, 230, 240, 250, 260, 270, 280, 290]
    for n in range(6):
        rent.file(week(n) + dt.timedelta(days=1), [("A", n, a[n]), ("B", n, b[n])])
    done, first = rent.kept(s, week(5))
    assert done == "full: nothing kept"
    # A: onset in week 3 (after weeks 1 and 2 clear), peak 80; B never clear
    assert first.select("tenancy_ref", "arrears_onset_on", "peak_balance_since_onset_gbp").rows() == [
        ("A", week(3), 80),
        ("B", None, None),
    ]
    for n in range(6, 10):
        rent.file(week(n) + dt.timedelta(days=1), [("A", n, a[n]), ("B", n, b[n])])
    done, later = rent.kept(s, week(9))
    assert done == "incremental: 2 tenancies"
    # A: a new onset in week 7 (weeks 5 and 6 clear), pre-onset balance 0, peak 120, current 90, rise 90
    assert later.row(0, named=True) == {
        "tenancy_ref": "A",
        "latest_week_ending": week(9),
        "current_balance_gbp": 90,
        "weekly_charge_gbp": 100,
        "arrears_onset_on": week(7),
        "pre_onset_balance_gbp": 0,
        "arrears_rise_gbp": 90,
        "peak_balance_since_onset_gbp": 120,
        "n_weeks": 10,
        "tail_balances": [120, 90],  # the last two weeks: what the next week's clear run reads
    }
    assert later.equals(rent.full(s, week(9)))


def test_a_kept_onset_stands_and_its_peak_grows(s: Settings) -> None:
    rent = Rent()
    rent.file(week(3), [("A", 0, 0), ("A", 1, 0), ("A", 2, 40), ("A", 3, 60)])
    assert rent.kept(s, week(3))[1]["arrears_onset_on"].to_list() == [week(2)]
    rent.file(week(5), [("A", 4, 75), ("A", 5, 70)])
    done, later = rent.kept(s, week(5))
    assert done == "incremental: 1 tenancies"
    assert later.select("arrears_onset_on", "peak_balance_since_onset_gbp", "arrears_rise_gbp").rows() == [
        (week(2), 75, 70)
    ]
    assert later.equals(rent.full(s, week(5)))


def test_a_restated_week_and_a_late_file_recompute_their_tenancies(s: Settings) -> None:
    rent = Rent()
    day = dt.timedelta(days=1)
    rent.file(week(3) + day, [("A", n, 0) for n in range(4)] + [("B", n, 0) for n in range(3)])
    rent.kept(s, week(3))
    # A restated: week 1 was in arrears after all (a later version of the same week); B's week 3 comes in a
    # file dated before the last run's knowledge date, loaded only now (a late file)
    rent.file(week(4) + day, [("A", 1, 500)])
    rent.file(week(3) + day, [("B", 3, 45)])
    done, later = rent.kept(s, week(4))
    assert done == "incremental: 2 tenancies"
    assert later.select(
        "tenancy_ref", "latest_week_ending", "current_balance_gbp", "arrears_onset_on"
    ).rows() == [
        ("A", week(3), 0, None),  # 500 in week 1 came after one week only: no full clear run before it
        ("B", week(3), 45, week(3)),
    ]
    assert later.equals(rent.full(s, week(4)))


def test_settings_an_earlier_week_and_a_purge_recompute_in_full(s: Settings) -> None:
    rent = Rent()
    for n in range(8):
        rent.file(week(n) + dt.timedelta(days=1), [("A", n, [0, 0, 0, 0, 20, 0, 0, 0][n])])
    rent.kept(s, week(7))
    # 20 is arrears above 10 pounds, not above 50: the kept onset must not survive the change
    wider = with_clear(s, weeks=2, max_gbp=50.0)
    done, changed = rent.kept(wider, week(7))
    assert done == "full: settings or models changed"
    assert changed["arrears_onset_on"].to_list() == [None]
    assert rent.kept(wider, week(5))[0] == "full: an earlier week than the kept one"
    rent.con.execute("delete from raw_rent where week_ending < $d", {"d": week(2)})  # what retention does
    done, purged = rent.kept(wider, week(7))
    assert done == "full: rent rows deleted since"
    assert purged.equals(rent.full(wider, week(7)))


def test_forgetting_the_caches_drops_the_kept_rows(s: Settings) -> None:
    rent = Rent()
    rent.file(week(1), [("A", 0, 0), ("A", 1, 30)])
    rent.kept(s, week(1))
    forget_caches(rent.con)
    tables = rent.con.sql("select table_name from duckdb_tables() where not temporary").fetchall()
    assert ("cache_rent__trajectory",) not in tables
    assert rent.con.sql("select count(*) from feature_caches").fetchall() == [(0,)]
    assert rent.kept(s, week(1))[0] == "full: nothing kept"


# Random histories: per step, some files (each a few rows, some restating earlier weeks, some dated back), then a
# run at that step's week; the kept rows must equal the full model every time.
_row = st.tuples(st.sampled_from("ABC"), st.integers(0, 15), st.sampled_from([0, 5, 10, 10.01, 30, 200, -40]))
_file = st.tuples(st.integers(-3, 0), st.lists(_row, min_size=1, max_size=6))  # known this many weeks back
_steps = st.lists(st.tuples(st.integers(1, 4), st.lists(_file, max_size=3)), min_size=2, max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=_steps, clear_weeks=st.integers(1, 3))
def test_random_histories_fold_to_the_full_model(
    steps: list[tuple[int, list[tuple[int, list[tuple[str, int, float]]]]]], clear_weeks: int
) -> None:
    s = with_clear(load_settings(), weeks=clear_weeks, max_gbp=10.0)
    rent = Rent()
    at = 0
    for advance, files in steps:
        at += advance
        for back, rows in files:
            # a row's week is never after its file's date (as ingest checks)
            known = week(at + back) + dt.timedelta(days=1)
            rent.file(known, [(t, min(n, at + back), b) for t, n, b in rows])
        _, kept = rent.kept(s, week(at))
        assert kept.equals(rent.full(s, week(at)))
