"""`redflags purge`: hand-inserted rows on either side of each retention boundary.

Settings used throughout: free text 100 days, rent 200, published lists 300, outcomes 400; today 2025-06-30.
Cut-offs (the first date kept), counted back by hand:
- 100 days: 2025-06-30 -29 -> 06-01, -30 -> 05-02, -31 -> 04-01 (90 days), -10 -> 2025-03-22
- 200 days: Jan-Jun 2025 is 31+28+31+30+31+30 = 181 days, so -181 -> 2024-12-31, -19 -> 2024-12-12
- 300 days: 2024-12-31 (181) -30 -> 12-01 (211), -30 -> 11-01 (241), -31 -> 10-01 (272), -28 -> 2024-09-03
- 400 days: -365 -> 2024-06-30 (no 29 February in between), -35 -> 2024-05-26
"""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest

from pipelines.cli.main import main
from pipelines.core.settings import RetentionSettings
from pipelines.ops.retention import cutoffs, purge
from pipelines.warehouse.audit import verify_audit_chain
from pipelines.warehouse.connection import Warehouse, open_warehouse

TODAY = dt.date(2025, 6, 30)
RETENTION = RetentionSettings(
    free_text_days=100, rent_snapshots_days=200, published_lists_days=300, outcomes_days=400
)
KEY = "retention-test-key"


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _seed(wh: Warehouse) -> None:
    con, enc = wh.con, wh.cipher.encrypt
    repairs = [
        # job, reported, completed, text           latest date   vs 2025-03-22
        ("J1", "2025-03-20 10:00", "2025-03-21 16:00", "renew lock"),  # 03-21 < cut-off: blanked
        ("J2", "2025-03-20 10:00", "2025-03-22 09:00", "renew lock"),  # 03-22: kept
        ("J3", "2025-03-22 00:00", None, "reglaze"),  # 03-22: kept
        ("J4", "2025-03-21 23:59", None, "kicked door"),  # 03-21: blanked
        ("J5", "2024-01-01 08:00", None, None),  # no text: nothing to blank, not counted
    ]
    for i, (job, reported, completed, text) in enumerate(repairs, start=2):
        con.execute(
            "insert into raw_repairs (job_ref, property_ref, tenancy_ref, reported_at, completed_at,"
            " description_enc, categories, location, file_id, source_row, known_on)"
            " values (?, 'P1', 'T1', ?, ?, ?, ?, 'external', 1, ?, ?)",
            [job, _ts(reported), _ts(completed) if completed else None, enc(text), ["lock_change"], i, TODAY],
        )
    for i, (ref, raised) in enumerate([("R1", "2025-03-21"), ("R2", "2025-03-22")], start=2):
        con.execute(
            "insert into raw_recharges (recharge_ref, tenancy_ref, raised_at, amount_gbp, reason_enc,"
            " categories, file_id, source_row, known_on) values (?, 'T1', ?, 80, ?, ?, 2, ?, ?)",
            [ref, _d(raised), enc("forced door"), ["door_damage"], i, TODAY],
        )
    asb = [("A1", "2024-01-01", "2025-03-22"), ("A2", "2024-01-01", "2025-03-21"), ("A3", "2025-03-21", None)]
    for i, (case, opened, closed) in enumerate(asb, start=2):
        con.execute(
            "insert into raw_asb (case_ref, tenancy_ref, opened_at, closed_at, category, description_enc,"
            " file_id, source_row, known_on) values (?, 'T1', ?, ?, 'noise', ?, 3, ?, ?)",
            [case, _d(opened), _d(closed) if closed else None, enc("shouting"), i, TODAY],
        )
    for at in ("2025-03-21 23:59:59", "2025-03-22 00:00:00"):
        con.execute(
            "insert into quarantine values"
            " (1, 'repairs', 'repairs.csv', 7, 'reported_at', 'unreadable date', ?)",
            [_ts(at)],
        )
    rent = [("RENTGONE77", "2024-12-08"), ("RENTGONE77", "2024-12-11"), ("RENTKEPT88", "2024-12-12")]
    for i, (tenancy, week) in enumerate(rent, start=2):
        con.execute(
            "insert into raw_rent values (?, ?, 250.00, 95.00, 4, ?, ?)", [tenancy, _d(week), i, TODAY]
        )
    lists = [("L1", "2024-09-02", "T1"), ("L1", "2024-09-02", "T2"), ("L2", "2024-09-03", "T1")]
    for rank, (list_id, as_of, tenancy) in enumerate(lists, start=1):
        con.execute(
            "insert into review_list_rows (list_id, as_of, published_at, tenancy_ref, team, rank, score,"
            " reasons_enc, config_version, rules_version)"
            " values (?, ?, ?, ?, 'tst', ?, 9.5, 'lock changes', 'v', 'r')",
            [list_id, _d(as_of), _ts(as_of + " 06:00"), tenancy, rank],
        )
    for list_id, as_of in (("L1", "2024-09-02"), ("L2", "2024-09-03")):
        con.execute("insert into carried_forward values (?, ?, 'T3', 'tst', 4.0)", [list_id, _d(as_of)])
        con.execute(
            "insert into review_list_features values (?, ?, 'T1', true, true, false, '{}')",
            [list_id, _d(as_of)],
        )
    for oid, reviewed in ((1, "2024-05-25"), (2, "2024-05-26")):
        con.execute(
            "insert into outcomes values (?, 'L0', ?, 'T1', '\x00no_concern'::blob, 'rev', ?, ?, ?, 'list.csv', 2)",
            [oid, _d(reviewed), enc("spoke to housing officer"), _d(reviewed), _ts(reviewed + " 12:00")],
        )


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    warehouse = open_warehouse(tmp_path / "w.duckdb", key=KEY)
    _seed(warehouse)
    return warehouse


def _column(wh: Warehouse, sql: str) -> list[object]:
    return [row[0] for row in wh.con.sql(sql).fetchall()]


def test_cutoffs_are_the_first_date_kept() -> None:
    assert cutoffs(RETENTION, TODAY) == {
        "free_text_days": dt.date(2025, 3, 22),
        "rent_snapshots_days": dt.date(2024, 12, 12),
        "published_lists_days": dt.date(2024, 9, 3),
        "outcomes_days": dt.date(2024, 5, 26),
    }


def test_purge_removes_exactly_what_has_expired(wh: Warehouse) -> None:
    summary = purge(wh, RETENTION, TODAY)
    assert summary.counts == {
        "raw_repairs.description_enc": 2,  # J1, J4
        "raw_recharges.reason_enc": 1,  # R1
        "raw_asb.description_enc": 2,  # A2 (closed 03-21), A3 (open, opened 03-21)
        "quarantine": 1,
        "raw_rent": 2,  # 12-08 and 12-11
        "review_list_rows": 2,  # both rows of L1
        "carried_forward": 1,
        "review_list_features": 1,  # L1's, kept with its list
        "outcomes": 1,
    }
    assert summary.total == 13
    blanked = "select {k} from {t} where {c} is null order by {k}"
    assert _column(wh, blanked.format(k="job_ref", t="raw_repairs", c="description_enc")) == [
        "J1",
        "J4",
        "J5",
    ]
    assert _column(wh, blanked.format(k="recharge_ref", t="raw_recharges", c="reason_enc")) == ["R1"]
    assert _column(wh, blanked.format(k="case_ref", t="raw_asb", c="description_enc")) == ["A2", "A3"]
    # the rows and their classification stay: history still counts
    assert _column(wh, "select count(*) from raw_repairs where categories = ['lock_change']") == [5]
    assert _column(wh, "select count(*) from raw_recharges") == [2]
    # what is kept still decrypts
    kept = wh.con.sql("select description_enc from raw_repairs where job_ref = 'J3'").fetchall()[0][0]
    assert wh.cipher.decrypt(kept) == "reglaze"
    assert _column(wh, "select quarantined_at from quarantine") == [dt.datetime(2025, 3, 22)]
    assert _column(wh, "select week_ending from raw_rent") == [dt.date(2024, 12, 12)]
    assert _column(wh, "select distinct list_id from review_list_rows") == ["L2"]
    assert _column(wh, "select list_id from carried_forward") == ["L2"]
    assert _column(wh, "select list_id from review_list_features") == ["L2"]
    assert _column(wh, "select outcome_id from outcomes") == [2]


def test_purge_is_audited_with_counts_only(wh: Warehouse) -> None:
    purge(wh, RETENTION, TODAY)
    rows = wh.con.sql("select action, tenancy_ref, detail from audit_log").fetchall()
    assert len(rows) == 1
    action, tenancy_ref, detail = rows[0]
    assert (action, tenancy_ref) == ("retention_purge", None)
    recorded = json.loads(detail)
    assert recorded["today"] == "2025-06-30"
    assert recorded["cutoffs"]["free_text_days"] == "2025-03-22"
    assert recorded["counts"]["raw_rent"] == 2
    for ref in ("T1", "T2", "J1", "RENTGONE77", "L1"):
        assert ref not in detail
    assert verify_audit_chain(wh.con).ok


def test_a_second_purge_finds_nothing(wh: Warehouse) -> None:
    purge(wh, RETENTION, TODAY)
    assert purge(wh, RETENTION, TODAY).total == 0
    assert _column(wh, "select count(*) from audit_log") == [2]  # each purge is recorded, even an empty one


def test_purge_drops_the_rent_trajectories_kept_from_deleted_snapshots(wh: Warehouse) -> None:
    from pipelines.core.settings import load_settings
    from pipelines.scoring.incremental import rent_trajectory
    from pipelines.scoring.week import model_params

    settings = load_settings()
    rent_trajectory(wh.con, model_params(settings, TODAY), settings.fingerprint())
    assert _column(wh, "select count(*) from cache_rent__trajectory") == [2]  # RENTGONE77 and RENTKEPT88
    purge(wh, RETENTION, TODAY)
    assert _column(wh, "select count(*) from feature_caches") == [0]
    tables = _column(wh, "select table_name from duckdb_tables() where not temporary")
    assert "cache_rent__trajectory" not in tables
    assert purge(wh, RETENTION, TODAY).counts["raw_rent"] == 0


def test_purge_is_all_or_nothing(wh: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> int:
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr("pipelines.ops.retention.record_event", refuse)
    with pytest.raises(RuntimeError):
        purge(wh, RETENTION, TODAY)
    assert _column(wh, "select count(*) from raw_rent") == [3]
    assert _column(wh, "select count(*) from raw_repairs where description_enc is null") == [1]  # only J5
    assert _column(wh, "select count(*) from outcomes") == [2]


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "retention.yaml"
    path.write_text(
        "retention:\n  free_text_days: 100\n  rent_snapshots_days: 200\n"
        "  published_lists_days: 300\n  outcomes_days: 400\n",
        encoding="utf-8",
    )
    return path


def test_cli_purge_rewrites_the_file_so_deleted_rows_leave_it(
    wh: Warehouse,
    tmp_path: Path,
    db_key: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDFLAGS_DB_KEY", KEY)
    path = Path(wh.path)
    wh.close()
    assert b"RENTGONE77" in path.read_bytes()  # the control: rent references are stored in clear
    code = main(["purge", "--db", str(path), "--config", str(_config(tmp_path)), "--today", "2025-06-30"])
    out = capsys.readouterr().out
    assert code == 0
    assert "raw_rent: 2 rows deleted" in out
    assert "raw_repairs.description_enc: 2 values blanked" in out
    data = path.read_bytes()
    assert b"RENTGONE77" not in data  # deleted, and not left behind in free blocks
    assert b"RENTKEPT88" in data
    assert not Path(f"{path}.wal").exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # no temporary left: the spill folder beside the database (owner-only) is empty
    assert sorted(p.name for p in tmp_path.iterdir()) == ["retention.yaml", "w.duckdb", "w.duckdb.tmp"]
    spill = tmp_path / "w.duckdb.tmp"
    assert not list(spill.iterdir()) and stat.S_IMODE(spill.stat().st_mode) == 0o700
    reopened = open_warehouse(path, key=KEY)
    assert _column(reopened, "select count(*) from raw_rent") == [1]
    assert verify_audit_chain(reopened.con).ok
    reopened.close()


def test_cli_purge_refuses_a_future_date(
    wh: Warehouse, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDFLAGS_DB_KEY", KEY)
    wh.close()
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    assert main(["purge", "--db", wh.path, "--today", tomorrow.isoformat()]) == 1
    assert "in the future" in capsys.readouterr().err


def test_cli_purge_never_creates_a_database(
    tmp_path: Path, db_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["purge", "--db", str(tmp_path / "none.duckdb")]) == 3  # the database could not be opened
    assert "there is no database" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
