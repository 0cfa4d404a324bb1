"""`redflags history`: one household's listings (facts) and outcomes (decisions), each in date order."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from outcome_fixtures import LIST1, LIST2, new_warehouse, two_weeks, write_review_csv

from pipelines.cli.main import main
from pipelines.outcomes.history import format_history, household_history
from pipelines.outcomes.records import import_outcomes
from pipelines.warehouse.audit import audit_events
from pipelines.warehouse.connection import Warehouse

VALUES = ("no_concern", "already_known", "new_concern_referred", "unable_to_assess")


def _review(wh: Warehouse, path: Path, rows: list[dict[str, str]], today: dt.date) -> None:
    import_outcomes(wh, write_review_csv(path, rows), values=VALUES, actor="t", today=today)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    wh = new_warehouse(tmp_path)
    two_weeks(wh)
    _review(
        wh,
        tmp_path / "w1.csv",
        [{"tenancy_ref": "T1", "list_id": LIST1, "outcome": "no_concern", "reviewer": "J Smith",
          "rationale": "Burglary in January; police reference on file", "reviewed_on": "2025-03-11"}],
        dt.date(2025, 3, 11),
    )  # fmt: skip
    _review(
        wh,
        tmp_path / "w2.csv",
        [{"tenancy_ref": "T1", "list_id": LIST1, "outcome": "new_concern_referred", "reviewer": "A Khan",
          "rationale": "Second look: disclosure to the housing officer; referred to TST",
          "reviewed_on": "2025-03-13"},
         {"tenancy_ref": "T1", "list_id": LIST2, "outcome": "already_known", "reviewer": "A Khan",
          "rationale": "TST case open", "reviewed_on": "2025-03-18"}],
        dt.date(2025, 3, 18),
    )  # fmt: skip
    wh.close()
    return tmp_path / "wh.duckdb"


def test_history_holds_listings_and_outcomes_in_date_order(db: Path) -> None:
    wh = new_warehouse(db.parent)
    history = household_history(wh, "T1")
    assert history.listings.select("as_of", "list_id", "rank", "score").rows() == [
        (dt.date(2025, 3, 9), LIST1, 1, 9.5),
        (dt.date(2025, 3, 16), LIST2, 1, 10.0),
    ]
    assert history.outcomes.select("reviewed_on", "outcome", "reviewer", "is_correction").rows() == [
        (dt.date(2025, 3, 11), "no_concern", "J Smith", False),
        (dt.date(2025, 3, 13), "new_concern_referred", "A Khan", True),  # corrects the 11 March entry
        (dt.date(2025, 3, 18), "already_known", "A Khan", False),
    ]
    assert history.outcomes["rationale"][0] == "Burglary in January; police reference on file"


def test_formatted_history_separates_facts_from_decisions(db: Path) -> None:
    wh = new_warehouse(db.parent)
    text = format_history(household_history(wh, "T1"))
    facts, decisions = text.split("DECISIONS")
    assert "FACTS" in facts
    assert facts.index("09/03/2025  listed for repairs_admin, rank 1, score 9.50") < facts.index("16/03/2025")
    assert "reasons: 3 lock changes since 2 Jan 2025" in facts
    assert "no_concern" not in facts and "J Smith" not in facts
    expected = (
        "11/03/2025  no_concern  by J Smith",
        "13/03/2025  new_concern_referred",
        "18/03/2025  already_known",
    )
    order = [decisions.index(s) for s in expected]
    assert order == sorted(order)
    assert "corrects an earlier outcome for the same list" in decisions
    assert "why: Burglary in January; police reference on file" in decisions


def test_carried_forward_weeks_are_facts(db: Path) -> None:
    wh = new_warehouse(db.parent)
    text = format_history(household_history(wh, "T3"))
    assert "over repairs_admin's capacity: carried forward, score 5.00" in text
    assert "(no outcome recorded yet)" in text


def test_cli_history_prints_and_records_who_looked(
    db: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        code = main(["history", "T1", "--db", str(db), "--allow-unencrypted"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Household T1" in out and "why: TST case open" in out
    # the decrypted rationale reaches the reviewer's terminal, never the log
    assert "TST case open" not in caplog.text and "T1" not in caplog.text
    wh = new_warehouse(db.parent)
    viewed = audit_events(wh.con, "history_viewed")
    assert viewed["tenancy_ref"].to_list() == ["T1"]
    assert json.loads(viewed["detail"][0]) == {"found": True, "listings": 2, "outcomes": 3}


def test_cli_unknown_household_is_a_clear_error(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["history", "NOPE-1", "--db", str(db), "--allow-unencrypted"])
    err = capsys.readouterr().err
    assert code == 1
    assert "no published list or outcome mentions that tenancy reference" in err
    wh = new_warehouse(db.parent)
    assert json.loads(audit_events(wh.con, "history_viewed")["detail"][0])["found"] is False


@pytest.mark.slow
def test_round_trip_run_review_import_run_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Week 1 list -> reviewers fill the xlsx -> import -> week 2 list -> history (`redflags run` twice)."""
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, temporary_settings

    from pipelines.synth.standard import write_landlord

    # `redflags run` is a Prefect flow: its temporary API server can be slow to start on a busy machine.
    with temporary_settings(updates={PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: 120}):
        _round_trip(tmp_path, capsys, write_landlord)


def _round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str], write_landlord: Any) -> None:
    from openpyxl import load_workbook

    from pipelines.warehouse.audit import verify_audit_chain

    week1, week2 = dt.date(2025, 6, 22), dt.date(2025, 6, 29)
    reviewed_on = week1 + dt.timedelta(days=1)
    landlord = write_landlord(tmp_path / "landlord", homes=400, years=1, seed=5, as_of=week2)
    db, out = tmp_path / "wh.duckdb", tmp_path / "out"
    common = ["--extracts", str(landlord.out_dir), "--mapping", str(landlord.mapping_path), "--db", str(db),
              "--out", str(out), "--allow-unencrypted"]  # fmt: skip
    assert main(["run", "--as-of", week1.isoformat(), *common]) == 0
    xlsx = out / week1.isoformat() / "review_list.xlsx"

    # Reviewers fill every row of every team sheet: the first household already known, the rest no concern.
    book = load_workbook(xlsx)
    reviewed: dict[str, str] = {}
    for sheet in book.worksheets:
        header = [c.value for c in sheet[1]]
        if "outcome" not in header:
            continue  # Evidence, Notes
        col = {
            name: header.index(name) + 1
            for name in ("tenancy_ref", "outcome", "reviewer", "rationale", "reviewed_on")
        }
        for row in range(2, sheet.max_row + 1):
            ref = sheet.cell(row, col["tenancy_ref"]).value
            if not ref:
                continue
            outcome = "already_known" if not reviewed else "no_concern"
            reviewed[str(ref)] = outcome
            sheet.cell(row, col["outcome"], outcome)
            sheet.cell(row, col["reviewer"], "R Eviewer")
            sheet.cell(row, col["rationale"], "Checked the repairs history with the housing officer")
            sheet.cell(row, col["reviewed_on"], reviewed_on)
    book.save(xlsx)
    assert len(reviewed) >= 2, "week 1 listed too few households for the round trip"
    capsys.readouterr()
    assert main(["outcomes", "import", str(xlsx), "--db", str(db), "--allow-unencrypted"]) == 0
    printed = capsys.readouterr().out
    assert f"{len(reviewed)} outcome(s) recorded" in printed and "add the known-case marker" in printed

    assert main(["run", "--as-of", week2.isoformat(), *common]) == 0
    week2_list = pl.read_csv(out / week2.isoformat() / "review_list.csv", infer_schema=False)
    back = set(week2_list["tenancy_ref"].to_list()) & set(reviewed)
    wh = new_warehouse(tmp_path)
    for ref in back:  # back on the list only with a red-flag repair reported after the review
        newer = wh.con.sql(
            "select count(*) from raw_repairs where tenancy_ref = $ref and known_on <= $w2"
            " and len(categories) > 0 and cast(reported_at as date) > $reviewed",
            params={"ref": ref, "w2": week2, "reviewed": reviewed_on},
        ).fetchall()[0][0]
        assert newer > 0, "a reviewed household came back with nothing new since its review"
    assert [json.loads(d)["as_of"] for d in audit_events(wh.con, "list_published")["detail"]] == [
        week1.isoformat(),
        week2.isoformat(),
    ]
    assert audit_events(wh.con, "outcomes_imported").height == 1
    # and the reviews did keep households off week 2's list
    from pipelines.core.settings import load_settings
    from pipelines.scoring.week import score_week

    suppressed = score_week(wh.con, load_settings(), week2).suppressed
    assert suppressed.get("outcome_no_concern", 0) + suppressed.get("outcome_already_known", 0) >= 1
    assert verify_audit_chain(wh.con).ok
    wh.close()

    # History: the week 1 listing (fact) and the review (decision), in that order.
    ref = next(r for r, o in reviewed.items() if o == "no_concern")
    capsys.readouterr()
    assert main(["history", ref, "--db", str(db), "--allow-unencrypted"]) == 0
    text = capsys.readouterr().out
    facts, decisions = text.split("DECISIONS")
    assert f"{week1:%d/%m/%Y}  listed for" in facts
    assert f"{reviewed_on:%d/%m/%Y}  no_concern  by R Eviewer" in decisions
    assert "why: Checked the repairs history with the housing officer" in decisions
