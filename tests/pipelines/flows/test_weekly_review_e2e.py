"""`redflags run` and `redflags demo` end to end on a small synthetic landlord (slow: whole flows)."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest

from pipelines.cli.main import main
from pipelines.synth.standard import write_landlord
from pipelines.warehouse.connection import open_warehouse, query

AS_OF = dt.date(2025, 6, 29)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def landlord(tmp_path_factory: pytest.TempPathFactory) -> Path:
    extracts = tmp_path_factory.mktemp("landlord") / "extracts"
    write_landlord(extracts, homes=700, years=2, seed=11, as_of=AS_OF)
    return extracts


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _run(landlord: Path, tmp: Path, *extra: str) -> int:
    return main(
        [
            "run",
            "--extracts",
            str(landlord),
            "--mapping",
            str(landlord / "mapping.yaml"),
            "--as-of",
            AS_OF.isoformat(),
            "--db",
            str(tmp / "rf.duckdb"),
            "--out",
            str(tmp / "out"),
            *extra,
        ]
    )


def test_run_publishes_an_explained_list_without_known_cases(
    landlord: Path, tmp_path: Path, db_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(landlord, tmp_path) == 0
    printed = capsys.readouterr().out
    assert "Listed" in printed and "review_list.xlsx" in printed
    rows = _rows(tmp_path / "out" / AS_OF.isoformat() / "review_list.csv")
    assert rows, "a 700-home landlord with planted patterns lists someone"
    for team in {r["team"] for r in rows}:
        ranks = [int(r["rank"]) for r in rows if r["team"] == team]
        assert ranks == list(range(1, len(ranks) + 1))
    date = re.compile(r"\(\d{1,2} [A-Z][a-z]{2}")  # "(12 Mar" — every reason carries its dates
    assert all(date.search(r["reasons"]) for r in rows)
    key = _rows(landlord.parent / "extracts_answer_key.csv")
    known = {k["tenancy_ref"] for k in key if k["kind"] == "known_case"}
    assert known and not known & {r["tenancy_ref"] for r in rows}
    assert (tmp_path / "out" / "data_quality.html").exists()

    with open_warehouse(tmp_path / "rf.duckdb", must_exist=True) as wh:
        runs = query(wh.con, "select kind, status, as_of from runs where kind = 'weekly-review'")
    assert runs.rows() == [("weekly-review", "ok", AS_OF)]


def test_same_input_gives_the_same_list(landlord: Path, tmp_path: Path, db_key: str) -> None:
    assert _run(landlord, tmp_path) == 0
    first = _rows(tmp_path / "out" / AS_OF.isoformat() / "review_list.csv")
    assert _run(landlord, tmp_path) == 0  # every file already loaded: a re-run publishes list r2
    second = _rows(tmp_path / "out" / AS_OF.isoformat() / "review_list.csv")
    strip = [{k: v for k, v in r.items() if k != "list_id"} for r in first]
    assert strip == [{k: v for k, v in r.items() if k != "list_id"} for r in second]
    assert first[0]["list_id"] != second[0]["list_id"]


def test_demo_prints_where_its_outputs_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDFLAGS_DB_KEY", raising=False)
    assert main(["demo", "--dir", str(tmp_path / "demo"), "--homes", "400"]) == 0
    printed = capsys.readouterr().out
    paths = re.findall(r"(/\S+\.(?:xlsx|html))", printed)
    assert any(p.endswith("review_list.xlsx") for p in paths) and any(
        p.endswith("report.html") for p in paths
    )
    assert all(Path(p).exists() for p in paths)
    assert "throwaway key" in printed


def test_the_monday_job_lists_reports_and_purges(landlord: Path, tmp_path: Path, db_key: str) -> None:
    from pipelines.flows.schedule import scheduled_week
    from pipelines.flows.weekly_review import quiet_prefect

    with quiet_prefect():
        result = scheduled_week(
            str(landlord),
            str(landlord / "mapping.yaml"),
            str(tmp_path / "rf.duckdb"),
            str(tmp_path / "out"),
            str(tmp_path / "report"),
        )
    assert Path(result.folder, "review_list.csv").exists()
    assert (tmp_path / "report" / "report.html").exists()
    with open_warehouse(tmp_path / "rf.duckdb", must_exist=True) as wh:
        actions = query(wh.con, "select action from audit_log order by audit_id")["action"].to_list()
    assert "retention_purge" in actions
