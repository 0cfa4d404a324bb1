"""Knowledge time as landlords export (EXTRACTS.md "Knowledge time"): the extract date of a file, the
publication lag, and the undated synthetic twin listing what its dated twin lists."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from ingest_helpers import REPAIRS_MAPPING, TODAY, ingest, new_warehouse, repairs_csv, table, write_mapping
from warehouse_rows import Landlord

from pipelines.core.settings import load_settings
from pipelines.ingest.files import FileProblem
from pipelines.ingest.knowledge import extract_date, known_on_from_name
from pipelines.ingest.mapping import MappingError, mapping_from_dict


def _touch(path: Path, moment: dt.datetime) -> Path:
    path.write_text("x\n", encoding="utf-8")
    os.utime(path, (moment.timestamp(), moment.timestamp()))
    return path


@pytest.mark.parametrize(
    "name",
    ["Repairs_Export_FY2025-26.csv", "ASB_Cases_Export.xlsx", "rent_2025-26_Q3.csv", "Tenancy_Register.csv"],
)
def test_a_financial_year_or_period_is_not_a_date(name: str) -> None:
    assert known_on_from_name(name, TODAY) is None


def test_a_date_in_the_name_wins_over_the_file_time(tmp_path: Path) -> None:
    path = _touch(tmp_path / "repairs_2025-03-09.csv", dt.datetime(2025, 5, 1, 9))
    assert extract_date(path, path.name, "modified", TODAY) == dt.date(2025, 3, 9)
    assert extract_date(path, path.name, "name", TODAY) == dt.date(2025, 3, 9)


def test_a_name_without_a_date_takes_the_rule_the_mapping_gives(tmp_path: Path) -> None:
    path = _touch(tmp_path / "Repairs_Export_FY2024-25.csv", dt.datetime(2025, 3, 10, 2))
    assert extract_date(path, path.name, "modified", TODAY) == dt.date(2025, 3, 10)
    assert extract_date(path, path.name, "loaded", TODAY) == TODAY
    with pytest.raises(FileProblem, match=r"Repairs_Export_FY2024-25.csv: has no extract date in its name"):
        extract_date(path, path.name, "name", TODAY)
    # a modification time after the day of loading (a clock set wrong) is not knowledge from the future
    future = _touch(tmp_path / "Tenancy_Register.csv", dt.datetime(2031, 1, 1, 12))
    assert extract_date(future, future.name, "modified", TODAY) == TODAY


def test_the_mapping_says_known_on_per_extract_and_rejects_other_values() -> None:
    mapping = mapping_from_dict({"extracts": {"repairs": {"files": "r*.csv", "known_on": "Loaded"}}})
    assert mapping.extracts["repairs"].known_on == "loaded"
    assert mapping_from_dict({"extracts": {"repairs": {"files": "r*.csv"}}}).extracts["repairs"].known_on == (
        "modified"
    )
    with pytest.raises(MappingError) as err:
        mapping_from_dict({"extracts": {"repairs": {"files": "r*.csv", "known_on": "sometimes"}}})
    assert str(err.value).startswith("mapping: extracts.repairs.known_on: 'sometimes' is not one of name,")


def test_ingest_stores_each_files_extract_date_and_fails_an_undated_name_when_told(tmp_path: Path) -> None:
    rows = ["J1,P1,T1,01/03/2025 09:00,lock broken,E,Open,10"]
    undated = repairs_csv(tmp_path / "in" / "repairs_export.csv", rows)
    os.utime(undated, (dt.datetime(2025, 3, 3, 2).timestamp(),) * 2)
    repairs_csv(tmp_path / "in" / "repairs_2025-03-09.csv", ["J2,P1,T1,08/03/2025 09:00,lock gone,E,Open,10"])
    mapping = write_mapping(tmp_path / "m.yaml", REPAIRS_MAPPING)
    with new_warehouse() as wh:
        summary = ingest(wh, tmp_path / "in", mapping)
        assert summary.ok
        assert table(wh, "select job_ref, known_on from raw_repairs order by 1") == [
            ("J1", dt.date(2025, 3, 3)),
            ("J2", dt.date(2025, 3, 9)),
        ]
    strict = write_mapping(
        tmp_path / "s.yaml", {"repairs": {**REPAIRS_MAPPING["repairs"], "known_on": "name"}}
    )
    with new_warehouse() as wh:
        summary = ingest(wh, tmp_path / "in", strict)
        assert summary.files_loaded == 1
        assert summary.failures == [
            "repairs_export.csv: has no extract date in its name, and the mapping says known_on: name "
            "(name it like repairs_2025-03-09.csv, or set known_on: modified)"
        ]


SUNDAY = "2025-03-09"


def test_the_sunday_list_reads_the_monday_export_but_no_event_after_sunday() -> None:
    ll = Landlord()
    ll.repair("J1", "P1", "T1", "2025-03-08", status="open", known_on="2025-03-08")
    # the Monday export restates J1 as completed on Monday, and brings Sunday's J3 and Monday's J2
    ll.repair("J1", "P1", "T1", "2025-03-08", known_on="2025-03-10", file_id=2)
    ll.con.execute("update raw_repairs set completed_at = timestamp '2025-03-10 10:00' where file_id = 2")
    ll.repair("J3", "P1", "T1", "2025-03-09", known_on="2025-03-10", file_id=2)
    ll.repair("J2", "P1", "T1", "2025-03-10", known_on="2025-03-10", file_id=2)
    ll.repair("J4", "P1", "T1", "2025-03-09", known_on="2025-03-11", file_id=3)  # Tuesday: too late
    ll.build(SUNDAY, upto="staging/stg_repairs")
    rows = {r["job_ref"]: r["completed_at"] for r in ll.table("stg_repairs").to_dicts()}
    assert rows == {"J1": None, "J3": None}  # Monday's completion and Monday's job are after the week

    lag0 = Landlord(load_settings().model_copy(update={"knowledge": _knowledge(0)}))
    lag0.repair("J3", "P1", "T1", "2025-03-09", known_on="2025-03-10")
    lag0.build(SUNDAY, upto="staging/stg_repairs")
    assert lag0.table("stg_repairs").height == 0


def _knowledge(lag: int) -> object:
    from pipelines.core.settings import KnowledgeSettings

    return KnowledgeSettings(publication_lag_days=lag)


# ------------------------------------------------------------------------------------------------------------
# End to end: the undated twin of the synthetic landlord (slow: whole runs)

AS_OF = dt.date(2025, 6, 29)


def _twin(root: Path, *, undated: bool) -> Path:
    from pipelines.synth.standard import write_landlord

    extracts = root / ("undated" if undated else "dated")
    write_landlord(extracts, homes=700, years=2, seed=11, as_of=AS_OF, undated=undated)
    return extracts


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("twins")
    return _twin(root, undated=False), _twin(root, undated=True)


def _listed(extracts: Path, tmp: Path, as_of: dt.date = AS_OF, *extra: str) -> list[tuple[str, ...]]:
    """`redflags run` through the command line; the list's households with their team, rank and score."""
    import csv

    from pipelines.cli.main import main

    db = tmp / f"rf-{extracts.name}.duckdb"
    out = tmp / f"out-{extracts.name}"
    argv = ["run", "--extracts", str(extracts), "--mapping", str(extracts / "mapping.yaml")]
    argv += ["--as-of", as_of.isoformat(), "--db", str(db), "--out", str(out), *extra]
    assert main(argv) == 0
    with (out / as_of.isoformat() / "review_list.csv").open(encoding="utf-8-sig", newline="") as handle:
        return [(r["team"], r["rank"], r["tenancy_ref"], r["score"]) for r in csv.DictReader(handle)]


@pytest.mark.slow
def test_the_undated_twin_lists_what_the_dated_twin_lists(
    twins: tuple[Path, Path], tmp_path: Path, db_key: str
) -> None:
    dated, undated = twins
    names = sorted(p.name for p in (undated / "repairs").iterdir())
    assert all(known_on_from_name(n, dt.date.today()) is None for n in names)
    assert "repairs_FY2025-26_wk13.csv" in names  # the week ending 29 June 2025, exported on Monday 30 June
    listed = _listed(dated, tmp_path)
    assert listed, "the synthetic landlord lists someone"
    assert _listed(undated, tmp_path) == listed


@pytest.mark.slow
def test_a_monday_dated_export_is_used_by_the_sunday_list(
    twins: tuple[Path, Path], tmp_path: Path, db_key: str
) -> None:
    import shutil

    dated, _ = twins
    monday = tmp_path / "monday"
    shutil.copytree(dated, monday)
    for path in monday.glob("*/*.csv"):  # every drop named for the Monday it was taken, not its Sunday
        named = known_on_from_name(path.name, dt.date.today())
        assert named is not None
        path.rename(
            path.with_name(path.name.replace(named.isoformat(), (named + dt.timedelta(1)).isoformat()))
        )
    listed = _listed(dated, tmp_path)
    assert _listed(monday, tmp_path) == listed
    # without the lag the Sunday list could not see the Monday file of its own week, and differs
    lag0 = tmp_path / "lag0.yaml"
    lag0.write_text("knowledge:\n  publication_lag_days: 0\n", encoding="utf-8")
    shutil.copytree(monday, tmp_path / "monday-lag0")
    assert _listed(tmp_path / "monday-lag0", tmp_path, AS_OF, "--config", str(lag0)) != listed


@pytest.mark.slow
def test_a_backtest_over_the_undated_files_matches_the_live_runs_week_by_week(
    twins: tuple[Path, Path], tmp_path: Path
) -> None:
    """Live: each Monday the folder holds only the drops exported by then, and the week is scored that day.
    Backtest: every file loaded at once, long after; the knowledge-time rule must give the same lists."""
    import shutil

    from pipelines.backtest.replay import backtest_folder
    from pipelines.ingest.classifier import classifier_from_settings
    from pipelines.ingest.folder import ingest_folder
    from pipelines.ingest.mapping import load_mapping
    from pipelines.scoring.week import score_week
    from pipelines.warehouse.connection import open_warehouse

    _, undated = twins
    settings = load_settings()
    weeks = [AS_OF - dt.timedelta(days=7 * k) for k in (3, 2, 1, 0)]
    files = sorted(undated.glob("*/*.csv"))
    live_dir = tmp_path / "live"
    (live_dir).mkdir()
    shutil.copy2(undated / "mapping.yaml", live_dir / "mapping.yaml")
    mapping = load_mapping(live_dir / "mapping.yaml")
    classify = classifier_from_settings(settings.classification)
    live: dict[dt.date, list[str]] = {}
    with open_warehouse(tmp_path / "live.duckdb", allow_unencrypted=True) as wh:
        for week in weeks:
            run_moment = dt.datetime.combine(week + dt.timedelta(days=1), dt.time(6))  # Monday 06:00
            for path in files:
                target = live_dir / path.relative_to(undated)
                if not target.exists() and path.stat().st_mtime <= run_moment.timestamp():
                    target.parent.mkdir(exist_ok=True)
                    shutil.copy2(path, target)  # as an SFTP drop keeps the export's modification time
            summary = ingest_folder(wh, live_dir, mapping, classify=classify, today=run_moment.date())
            assert summary.ok
            live[week] = score_week(wh.con, settings, week).listed["tenancy_ref"].to_list()
    assert any(live.values())

    replayed: dict[dt.date, list[str]] = {}

    def scorer(con: object, s: object, week: dt.date) -> object:
        scored = score_week(con, s, week)  # type: ignore[arg-type]
        replayed[week] = scored.listed["tenancy_ref"].to_list()
        return scored

    backtest_folder(
        undated,
        undated / "mapping.yaml",
        weeks[0],
        weeks[-1],
        {"main": settings},
        out_dir=tmp_path / "bt",
        allow_unencrypted=True,
        plots=False,
        scorer=scorer,
    )
    assert replayed == live


# ------------------------------------------------------------------------------------------------------------
# The run summary's warnings (one sentence per cause)


def _k(extract: str, newest: str | None, later: int = 0, rows: int = 0) -> object:
    from pipelines.ingest.knowledge import ExtractKnowledge

    return ExtractKnowledge(
        extract, newest and dt.date.fromisoformat(newest), 1 if newest else 0, later, rows
    )


def _warnings(knowledge: list[object], **kw: object) -> list[str]:
    import polars as pl

    from pipelines.ingest.knowledge import list_warnings

    args: dict[str, object] = {
        "as_of": dt.date(2025, 3, 9),
        "known_by": dt.date(2025, 3, 10),
        "listed": 0,
        "carried": 0,
        "features": pl.DataFrame({"flags_long": [0, 0]}),
        "suppressed": {},
        "long_window_days": 365,
        "stale_after_days": {"repairs": 14},
    }
    return list_warnings(knowledge, **(args | kw))  # type: ignore[arg-type]


def test_an_empty_list_says_why_in_one_sentence() -> None:
    import polars as pl

    fresh = [_k("repairs", "2025-03-10", later=2, rows=40)]
    assert _warnings(fresh) == [
        "The list is empty because no red-flag repairs were reported in the 365 days to 09 Mar 2025."
    ]
    flagged = pl.DataFrame({"flags_long": [3, 1, 0]})
    assert _warnings(fresh, features=flagged, suppressed={"known_case": 1, "recently_reviewed": 1}) == [
        "The list is empty because all 2 household(s) that met the rules were kept off it (known_case 1, "
        "recently_reviewed 1)."
    ]
    assert _warnings(fresh, features=flagged) == [
        "The list is empty because none of the 2 household(s) with red-flag repairs in the 365 days to "
        "09 Mar 2025 reached the threshold."
    ]
    assert _warnings(fresh, listed=3, features=flagged) == []


def test_a_stale_extract_is_named_with_its_age() -> None:
    stale = [_k("repairs", "2025-02-16"), _k("rent", "2025-03-09")]
    assert _warnings(stale, listed=4, stale_after_days={"repairs": 14, "rent": 14}) == [
        "The newest repairs file used is dated 16 Feb 2025, 21 days before the week's end (more than the 14 "
        "allowed): is the export still running?"
    ]
    assert _warnings([_k("repairs", "2025-03-02")], listed=4) == []  # 7 days: within 14
    assert _warnings(
        [_k("repairs", "2025-03-09")], listed=4, stale_after_days={"repairs": 14, "rent": 14}
    ) == ["No rent file is known by 10 Mar 2025: the list is made without it."]
