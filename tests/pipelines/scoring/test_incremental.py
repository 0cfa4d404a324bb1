"""pipelines/scoring/incremental.py: rent trajectories and repairs kept between weeks equal the full models', week
after week.

Hand-written rent rows in an in-memory warehouse: the kept rows carried forward by new weeks, a restated week, a
late file, a settings change, an earlier week and a retention purge; then random histories (hypothesis) folded in
random steps against the full model. Hand-written repairs rows: a restated job, a late row, a job reported or
completed after the as-of date, a retention purge (rows deleted; descriptions blanked), a settings change and an
earlier week. The replay of whole synthetic landlords is in test_incremental_e2e.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.core.settings import RetentionSettings, Settings, load_settings
from pipelines.ops.retention import purge
from pipelines.scoring.incremental import rent_trajectory, stg_repairs
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


def test_a_week_known_last_time_but_after_its_as_of_date_comes_in_the_week_after(s: Settings) -> None:
    # a landlord whose exports come eight days late: the run for week 1 may read files known by week 2 + 1 day
    data = s.model_dump()
    data["knowledge"]["publication_lag_days"] = 8
    late = Settings.model_validate(data)
    rent = Rent()
    rent.file(week(1) + dt.timedelta(days=1), [("A", 0, 0), ("A", 1, 0)])
    rent.file(week(2) + dt.timedelta(days=1), [("A", 2, 40)])  # known by week 1's run, after its as-of date
    assert rent.kept(late, week(1))[1]["latest_week_ending"].to_list() == [week(1)]
    # no file is new and week 2's file was known last time: only the later as-of date brings its row in
    done, later = rent.kept(late, week(2))
    assert done == "incremental: 1 tenancies"
    assert later.select("latest_week_ending", "current_balance_gbp").rows() == [(week(2), 40)]
    assert later.equals(rent.full(late, week(2)))


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


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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


# --- Repairs: each job's latest version kept before the as-of cut ----------------------------------------------

SUN = dt.date(2025, 3, 2)  # a Sunday: the first week's as-of date (known_by: Monday, SUN + 1)
DAY = dt.timedelta(days=1)


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour))


class Repairs:
    """raw_repairs rows file by file, as ingest writes them (a file's rows share file_id and known_on)."""

    def __init__(self) -> None:
        self.wh = open_warehouse(":memory:", allow_unencrypted=True)
        self.con: duckdb.DuckDBPyConnection = self.wh.con
        self.file_id = 0

    def file(
        self, known_on: dt.date, rows: Sequence[tuple[str, dt.datetime, dt.datetime | None, str]]
    ) -> None:
        """One file: (job, reported at, completed at, status) rows; the description is the job and status."""
        self.file_id += 1
        for i, (job, reported, completed, status) in enumerate(rows):
            self.con.execute(
                "insert into raw_repairs values (?, 'P1', 'T1', ?, ?, 'SOR', ?, 'Routine', 'Joiner', ?, 12.50,"
                " ['lock_change'], 'Front door', 'lock', false, false, ?, ?, ?)",
                [job, reported, completed, f"{job} {status}".encode(), status, self.file_id, i + 2, known_on],
            )

    def full(self, s: Settings, as_of: dt.date) -> pl.DataFrame:
        params = model_params(s, as_of)
        materialise_model(self.con, "staging/stg_repairs__known", params)
        materialise_model(self.con, "staging/stg_repairs", params)
        return query(self.con, "select * from stg_repairs order by job_ref")

    def kept(self, s: Settings, as_of: dt.date) -> tuple[str, pl.DataFrame]:
        done = stg_repairs(self.con, model_params(s, as_of), s.fingerprint())
        return done, query(self.con, "select * from stg_repairs order by job_ref")

    def both(self, s: Settings, as_of: dt.date) -> tuple[str, pl.DataFrame]:
        """The kept way, checked against the full models (every column, exact)."""
        done, kept = self.kept(s, as_of)
        assert kept.equals(self.full(s, as_of)), done
        return done, kept

    def cells(self, frame: pl.DataFrame, job: str, *columns: str) -> tuple[object, ...]:
        return frame.filter(pl.col("job_ref") == job).select(columns).row(0)


def test_a_new_version_of_an_old_job_in_a_later_file_replaces_its_kept_row() -> None:
    s, rep = load_settings(), Repairs()
    rep.file(
        SUN - 30 * DAY, [("J1", at(SUN - 40 * DAY), None, "Open"), ("J2", at(SUN - 35 * DAY), None, "Open")]
    )
    assert rep.both(s, SUN)[0] == "full: nothing kept"
    # a week later J1's restated version (completed, in a file of its own); J2 untouched
    rep.file(SUN + 8 * DAY, [("J1", at(SUN - 40 * DAY), at(SUN + 3 * DAY), "Completed")])
    done, later = rep.both(s, SUN + 7 * DAY)
    assert done == "incremental: 1 jobs"
    assert rep.cells(later, "J1", "status", "completed_at", "file_id", "source_row", "description_enc") == (
        "completed",
        at(SUN + 3 * DAY),
        2,
        2,
        b"J1 Completed",
    )
    assert rep.cells(later, "J2", "status", "file_id") == ("open", 1)
    # an older version of J1 loaded late (dated before its kept version) loses to the kept row
    rep.file(SUN + 2 * DAY, [("J1", at(SUN - 40 * DAY), None, "Cancelled")])
    # and a late file dated before the kept knowledge date (SUN + 8) restating J2 wins over its kept row
    rep.file(SUN + 5 * DAY, [("J2", at(SUN - 35 * DAY), None, "Cancelled")])
    done, again = rep.both(s, SUN + 7 * DAY)
    assert done == "incremental: 2 jobs"
    assert rep.cells(again, "J1", "status") == ("completed",)
    assert rep.cells(again, "J2", "status", "file_id") == ("cancelled", 4)


def test_a_row_whose_date_the_later_knowledge_date_reaches_comes_in() -> None:
    s, rep = load_settings(), Repairs()
    rep.file(SUN - 10 * DAY, [("J1", at(SUN - 12 * DAY), None, "Open")])
    # loaded before the first run but dated after its knowledge date (SUN + 1): seen, not yet visible
    rep.file(
        SUN + 4 * DAY,
        [("J1", at(SUN - 12 * DAY), at(SUN + 2 * DAY), "Completed"), ("J2", at(SUN), None, "Open")],
    )
    done, first = rep.both(s, SUN)
    assert done == "full: nothing kept"
    assert first["job_ref"].to_list() == ["J1"] and rep.cells(first, "J1", "status") == ("open",)
    # no file is new, but the next knowledge date (SUN + 8) reaches the second file's rows
    done, later = rep.both(s, SUN + 7 * DAY)
    assert done == "incremental: 2 jobs"
    assert later["job_ref"].to_list() == ["J1", "J2"]
    assert rep.cells(later, "J1", "status", "completed_at") == ("completed", at(SUN + 2 * DAY))


def test_a_job_reported_after_the_as_of_date_is_kept_and_listed_when_the_date_passes() -> None:
    s, rep = load_settings(), Repairs()
    # Monday's export (known by Sunday's run) holds a job reported that Monday morning: after the as-of date
    rep.file(SUN + DAY, [("J1", at(SUN - 3 * DAY), None, "Open"), ("J2", at(SUN + DAY), None, "Open")])
    done, first = rep.both(s, SUN)
    assert first["job_ref"].to_list() == ["J1"]
    # nothing new arrives, and J2 is on the next week's list of jobs: the kept rows are before the cut
    done, later = rep.both(s, SUN + 7 * DAY)
    assert done == "incremental: 0 jobs"
    assert later["job_ref"].to_list() == ["J1", "J2"]
    # the same for a job of a new file: kept though after this as-of date, listed the week after
    rep.file(SUN + 8 * DAY, [("J3", at(SUN + 8 * DAY), None, "Open")])
    assert rep.both(s, SUN + 7 * DAY)[1]["job_ref"].to_list() == ["J1", "J2"]
    assert rep.both(s, SUN + 14 * DAY)[1]["job_ref"].to_list() == ["J1", "J2", "J3"]


def test_a_completion_after_the_as_of_date_shows_once_the_date_passes_it() -> None:
    s, rep = load_settings(), Repairs()
    rep.file(SUN + DAY, [("J1", at(SUN - 3 * DAY), at(SUN + DAY, 8), "Completed")])
    done, first = rep.both(s, SUN)
    assert rep.cells(first, "J1", "completed_at", "status") == (None, "completed")
    done, later = rep.both(s, SUN + 7 * DAY)
    assert done == "incremental: 0 jobs"
    assert rep.cells(later, "J1", "completed_at") == (at(SUN + DAY, 8),)


def test_deleted_rows_other_settings_and_an_earlier_week_recompute_the_repairs_in_full() -> None:
    s, rep = load_settings(), Repairs()
    rep.file(
        SUN - 6 * DAY, [("J1", at(SUN - 9 * DAY), None, "Open"), ("J2", at(SUN - 8 * DAY), None, "Open")]
    )
    rep.file(SUN + DAY, [("J1", at(SUN - 9 * DAY), at(SUN - DAY), "Completed")])
    rep.both(s, SUN)
    assert rep.both(s, SUN - 7 * DAY)[0] == "full: an earlier week than the kept one"
    # kept as of SUN - 7 now: forward again, J1's completed version (known on SUN + 1) comes back in
    assert rep.both(s, SUN)[0] == "incremental: 1 jobs"
    assert rep.both(s, SUN)[0] == "incremental: 0 jobs"
    data = s.model_dump()
    data["knowledge"]["publication_lag_days"] = 0
    lag0 = Settings.model_validate(data)
    assert rep.both(lag0, SUN)[0] == "full: settings or models changed"
    # a purge deleting J1's later version: the kept row was it, so the kept rows cannot stand
    rep.con.execute("delete from raw_repairs where file_id = 2")
    done, purged = rep.both(lag0, SUN)
    assert done == "full: repairs rows deleted since"
    assert rep.cells(purged, "J1", "status") == ("open",)


def test_a_purge_blanks_the_kept_descriptions_as_it_blanks_the_raw_ones() -> None:
    s, rep = load_settings(), Repairs()
    rep.file(SUN - 800 * DAY, [("J1", at(SUN - 800 * DAY), at(SUN - 790 * DAY), "Completed")])
    rep.file(SUN - 2 * DAY, [("J2", at(SUN - 3 * DAY), None, "Open")])
    rep.both(s, SUN)
    summary = purge(rep.wh, RetentionSettings(free_text_days=730), SUN + DAY)
    assert summary.counts["raw_repairs.description_enc"] == 1
    done, later = rep.both(s, SUN + 7 * DAY)  # equal to the full models: J1's text is gone from both
    assert done == "incremental: 0 jobs"
    assert later["description_enc"].to_list() == [None, b"J2 Open"]


def test_forgetting_one_cache_keeps_the_others() -> None:
    s, rep = load_settings(), Repairs()
    rep.file(SUN, [("J1", at(SUN - DAY), None, "Open")])
    rep.both(s, SUN)
    forget_caches(rep.con, ["rent__trajectory"])
    assert rep.both(s, SUN)[0] == "incremental: 0 jobs"
    forget_caches(rep.con)
    assert rep.both(s, SUN)[0] == "full: nothing kept"


def test_the_kept_repairs_have_the_columns_of_raw_repairs_in_its_order() -> None:
    # kept rows and raw rows are read as one relation (a union by position) when jobs are recomputed
    rep = Repairs()
    raw = rep.con.sql("describe raw_repairs").fetchall()
    rep.full(load_settings(), SUN)
    assert [r[:2] for r in rep.con.sql("describe stg_repairs__known").fetchall()] == [r[:2] for r in raw]
    rep.kept(load_settings(), SUN)
    assert rep.con.sql("describe cache_stg_repairs__known").fetchall() == raw


# Random repairs histories: per step, some files (jobs reported or completed either side of the week's as-of date,
# files dated back or just after it), then a run at that step's week; the kept rows must equal the full models.
_job = st.tuples(
    st.sampled_from(["J1", "J2", "J3", "J4"]),
    st.integers(-20, 3),  # reported, days from the file's date
    st.one_of(st.none(), st.integers(0, 10)),  # completed, days after reported
    st.sampled_from(["Open", "Completed", "Cancelled"]),
)
_repairs_file = st.tuples(
    st.integers(-10, 2), st.lists(_job, min_size=1, max_size=4)
)  # dated, days from Sunday
_repairs_steps = st.lists(
    st.tuples(st.integers(0, 2), st.lists(_repairs_file, max_size=3)), min_size=2, max_size=5
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=_repairs_steps)
def test_random_repairs_histories_keep_to_the_full_models(
    steps: list[tuple[int, list[tuple[int, list[tuple[str, int, int | None, str]]]]]],
) -> None:
    s, rep = load_settings(), Repairs()
    sunday = SUN
    for advance, files in steps:
        sunday += 7 * advance * DAY  # 0: the same week again
        for dated, jobs in files:
            known = sunday + dated * DAY
            rep.file(
                known,
                [
                    (job, at(known + r * DAY), None if c is None else at(known + (r + c) * DAY), status)
                    for job, r, c, status in jobs
                ],
            )
        rep.both(s, sunday)
