"""The `runs` table: a run killed mid-way is marked `interrupted` at the next start, and the report counts it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from pipelines.core.settings import load_settings
from pipelines.report.data import read_marts
from pipelines.report.model import Context
from pipelines.report.sections import runs_section
from pipelines.warehouse.connection import open_warehouse, query
from pipelines.warehouse.runs import mark_interrupted, start_run
from tests.pipelines.monitoring_fixtures import LAST_DAY, TODAY, make_history


def _runs(path: Path) -> list[tuple[int, str, object]]:
    with open_warehouse(path, allow_unencrypted=True) as wh:
        return [
            (r, s, n)
            for r, s, n in query(wh.con, "select run_id, status, noticed_at from runs order by run_id").rows()
        ]


def test_a_run_killed_mid_way_is_interrupted_at_the_next_start(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with open_warehouse(db, allow_unencrypted=True):
        pass
    # another process starts a run and dies without finishing it (os._exit: no cleanup, as after SIGKILL)
    killed = subprocess.run(
        [sys.executable, "-c", "import os, sys; from pipelines.warehouse.connection import open_warehouse; "
         "from pipelines.warehouse.runs import start_run; wh = open_warehouse(sys.argv[1], allow_unencrypted=True); "
         "start_run(wh.con, 'weekly-review'); wh.con.execute('checkpoint'); os._exit(9)", str(db)],
        cwd=Path(__file__).resolve().parents[3], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert killed.returncode == 9, killed.stderr
    assert [s for _, s, _ in _runs(db)] == ["running"]

    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with open_warehouse(db, allow_unencrypted=True) as wh:
        mine = start_run(wh.con, "ingest")  # this process's run: still going, so left alone
        assert mark_interrupted(wh.con) == 0
    (_first, status, noticed), (second, status2, noticed2) = _runs(db)
    assert (status, status2, second) == ("interrupted", "running", mine)
    assert isinstance(noticed, dt.datetime) and noticed >= before - dt.timedelta(seconds=1)
    assert noticed2 is None


def test_a_row_without_a_process_id_from_an_older_version_is_interrupted(tmp_path: Path) -> None:
    with open_warehouse(tmp_path / "w.duckdb", allow_unencrypted=True) as wh:
        wh.con.execute(
            "insert into runs (run_id, kind, started_at, status) values (99, 'ingest', now(), 'running')"
        )
        wh.con.execute(
            "insert into runs (run_id, kind, started_at, status, pid) values (98, 'ingest', now(), 'running', ?)",
            [os.getpid()],
        )
        assert mark_interrupted(wh.con) == 1
        rows = query(wh.con, "select run_id, status from runs order by run_id").rows()
    assert rows == [(98, "running"), (99, "interrupted")]


def test_the_report_counts_interrupted_runs_and_shows_the_latest_list_warnings(tmp_path: Path) -> None:
    wh = make_history(tmp_path / "w.duckdb", weeks=4)
    try:
        wh.con.execute(
            "insert into runs (run_id, kind, as_of, started_at, status, pid) values"
            " (901, 'weekly-review', ?, ?, 'running', -1), (902, 'ingest', null, ?, 'running', -1)",
            [LAST_DAY, dt.datetime.combine(TODAY, dt.time(6)), dt.datetime.combine(TODAY, dt.time(7))],
        )
        assert mark_interrupted(wh.con) == 2
        wh.con.execute(
            "insert into runs (run_id, kind, as_of, started_at, finished_at, status, warnings) values"
            " (903, 'weekly-review', ?, ?, ?, 'ok', ['The list is empty because nothing was known by then.'])",
            [LAST_DAY, dt.datetime.combine(TODAY, dt.time(8)), dt.datetime.combine(TODAY, dt.time(9))],
        )
        ctx = Context(load_settings(), 4, TODAY, LAST_DAY, 5)
        section = runs_section(read_marts(wh.con, ctx), ctx)
    finally:
        wh.close()
    assert any(w.startswith("2 of the last ") and "were interrupted" in w for w in section.warnings)
    assert (
        f"The latest weekly review (week ending {LAST_DAY}) warned: The list is empty because nothing was known "
        "by then." in section.warnings
    )
