"""The audit trail: what a published list records, the hash chain, and that the product never edits it."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from pipelines.cli.main import main
from pipelines.core.errors import UserError
from pipelines.outcomes.history import household_history
from pipelines.outcomes.records import import_outcomes
from pipelines.warehouse.audit import (
    GENESIS_HASH,
    AuditError,
    audit_events,
    record_event,
    record_list_published,
    verify_audit_chain,
)
from pipelines.warehouse.connection import Warehouse, transaction
from tests.pipelines.outcomes.outcome_fixtures import (
    LIST1,
    WEEK1,
    new_warehouse,
    publish,
    two_weeks,
    write_review_csv,
)

REPO = Path(__file__).resolve().parents[3]
PROTECTED = ("audit_log", "outcomes", "review_list_rows", "carried_forward")
VALUES = ("no_concern", "already_known", "new_concern_referred", "unable_to_assess")
TODAY = dt.date(2025, 3, 20)


def test_record_event_appends_a_chained_row(tmp_path: Path) -> None:
    wh = new_warehouse(tmp_path)
    first = record_event(
        wh.con, cipher=wh.cipher, actor="alice", action="purge", detail={"repairs_deleted": 3}
    )
    second = record_event(
        wh.con, cipher=wh.cipher, actor="bob", action="history_viewed", detail={}, tenancy_ref="T9"
    )
    assert second > first
    rows = wh.con.sql(
        "select actor_enc, action, tenancy_ref, detail, prev_hash, row_hash from audit_log order by audit_id"
    ).fetchall()
    actors = wh.cipher.decrypt_many([r[0] for r in rows])
    assert [(a, r[1], r[2]) for a, r in zip(actors, rows, strict=True)] == [
        ("alice", "purge", None),
        ("bob", "history_viewed", "T9"),
    ]
    assert audit_events(wh.con, cipher=wh.cipher)["actor"].to_list() == ["alice", "bob"]
    assert json.loads(rows[0][3]) == {"repairs_deleted": 3}
    assert rows[0][4] == GENESIS_HASH
    assert rows[1][4] == rows[0][5]  # each row points at the one before
    report = verify_audit_chain(wh.con)
    assert report.ok and report.rows_checked == 2


def test_record_list_published_writes_rows_carried_and_one_event(tmp_path: Path) -> None:
    wh = new_warehouse(tmp_path)
    publish(
        wh,
        LIST1,
        WEEK1,
        [(1, "T1", "repairs_admin", 9.5, "3 lock changes"), (2, "T2", "tst", 7.0, "door damaged")],
        carried=[("T3", "repairs_admin", 5.0)],
    )
    rows = wh.con.sql(
        "select list_id, as_of, tenancy_ref, team, rank, score, reasons_enc, config_version, rules_version"
        " from review_list_rows order by rank"
    ).fetchall()
    rows = [(*r[:6], wh.cipher.decrypt(r[6]), *r[7:]) for r in rows]
    assert rows == [
        (LIST1, WEEK1, "T1", "repairs_admin", 1, 9.5, "3 lock changes", "2026.11-1", "rules-1"),
        (LIST1, WEEK1, "T2", "tst", 2, 7.0, "door damaged", "2026.11-1", "rules-1"),
    ]
    assert wh.con.sql("select list_id, tenancy_ref, team, score from carried_forward").fetchall() == [
        (LIST1, "T3", "repairs_admin", 5.0)
    ]
    events = audit_events(wh.con, "list_published")
    assert events.height == 1
    detail = json.loads(events["detail"][0])
    assert detail["households_listed"] == 2
    assert detail["households_carried_forward"] == 1
    assert detail["listed_per_team"] == {"repairs_admin": 1, "tst": 1}
    assert detail["config_fingerprint"] == "abc123def456"
    assert detail["as_of"] == "2025-03-09"
    assert detail["thresholds"]["min_points"] == 4.0
    # references stay out of the detail text
    assert "T1" not in events["detail"][0] and "T3" not in events["detail"][0]


def test_reasons_given_as_a_list_are_joined(tmp_path: Path) -> None:
    wh = new_warehouse(tmp_path)
    listed = pl.DataFrame(
        {"rank": [1], "tenancy_ref": ["T1"], "team": ["tst"], "score": [3.0], "reasons": [["a", "b"]]}
    )
    record_list_published(
        wh.con, list_id="L", as_of=WEEK1, listed=listed,
        carried=listed.select("tenancy_ref", "team", "score").clear(), config_version="v",
        config_fingerprint="f", rules_version="r", thresholds={}, actor="x", cipher=wh.cipher,
    )  # fmt: skip
    ((reasons, property_ref),) = wh.con.sql(
        "select reasons_enc, property_ref from review_list_rows"
    ).fetchall()
    assert (wh.cipher.decrypt(reasons), property_ref) == ("a; b", None)


def test_publishing_a_list_twice_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    wh = new_warehouse(tmp_path)
    publish(wh, LIST1, WEEK1, [(1, "T1", "repairs_admin", 9.5, "r")])
    before = wh.con.sql("select count(*) from review_list_rows").fetchall()
    with pytest.raises(AuditError, match="already published"):
        publish(wh, LIST1, WEEK1, [(1, "T5", "repairs_admin", 9.5, "r")])
    assert wh.con.sql("select count(*) from review_list_rows").fetchall() == before
    assert audit_events(wh.con).height == 1


def test_a_failure_part_way_leaves_no_rows(tmp_path: Path) -> None:
    wh = new_warehouse(tmp_path)
    # a carried household with no team: the NOT NULL constraint fails after the list rows went in
    with pytest.raises(Exception, match=r"(?i)not null|constraint"):
        carried = [("T3", None, 5.0)]
        publish(wh, LIST1, WEEK1, [(1, "T1", "repairs_admin", 9.5, "r")], carried=carried)  # type: ignore[arg-type]
    for table in ("review_list_rows", "carried_forward", "audit_log"):
        assert wh.con.sql(f"select count(*) from {table}").fetchall() == [(0,)]


def test_publishing_inside_the_callers_transaction_rolls_back_with_it(tmp_path: Path) -> None:
    wh = new_warehouse(tmp_path)
    with pytest.raises(RuntimeError), transaction(wh.con):
        publish(wh, LIST1, WEEK1, [(1, "T1", "repairs_admin", 9.5, "r")])
        raise RuntimeError("the publisher failed writing files")
    assert wh.con.sql("select count(*) from review_list_rows").fetchall() == [(0,)]
    assert wh.con.sql("select count(*) from audit_log").fetchall() == [(0,)]


@pytest.mark.parametrize(
    ("tamper", "bad_index"),
    [
        ("update audit_log set detail = '{}' where audit_id = (select min(audit_id) + 1 from audit_log)", 1),
        (
            "update audit_log set actor_enc = actor_enc || 'x'::blob"
            " where audit_id = (select min(audit_id) from audit_log)",
            0,
        ),
        # a removed row shows up at the row after it
        ("delete from audit_log where audit_id = (select min(audit_id) + 1 from audit_log)", 2),
    ],
)
def test_out_of_band_edits_break_the_chain(tmp_path: Path, tamper: str, bad_index: int) -> None:
    wh = new_warehouse(tmp_path)
    ids = [record_event(wh.con, cipher=wh.cipher, actor="a", action="x", detail={"n": n}) for n in range(3)]
    assert verify_audit_chain(wh.con).ok
    wh.con.execute(tamper)  # what someone with raw database access might do
    report = verify_audit_chain(wh.con)
    assert not report.ok
    assert report.first_bad_audit_id == ids[bad_index]


def test_a_row_inserted_out_of_band_breaks_the_chain(tmp_path: Path) -> None:
    wh = new_warehouse(tmp_path)
    record_event(wh.con, cipher=wh.cipher, actor="a", action="x", detail={})
    wh.con.execute(
        "insert into audit_log values (999, now()::timestamp, 'm'::blob, 'x', null, '{}', null, null)"
    )
    assert not verify_audit_chain(wh.con).ok


def _statements_against_protected(text: str) -> list[str]:
    tables = "|".join(PROTECTED)
    patterns = [
        rf"\bupdate\s+\"?({tables})\b",
        rf"\bdelete\s+from\s+\"?({tables})\b",
        rf"\btruncate\s+(table\s+)?\"?({tables})\b",
        rf"\bdrop\s+table\s+(if\s+exists\s+)?\"?({tables})\b",
        rf"\balter\s+table\s+(if\s+exists\s+)?\"?({tables})\b",
        rf"\binsert\s+or\s+replace\s+into\s+\"?({tables})\b",
        rf"\bcreate\s+or\s+replace\s+(temp\s+|temporary\s+)?table\s+\"?({tables})\b",
    ]
    return [m.group(0) for p in patterns for m in re.finditer(p, text, flags=re.IGNORECASE)]


def test_the_scanner_finds_what_it_should() -> None:
    assert _statements_against_protected("con.execute('DELETE FROM outcomes where 1')")
    assert _statements_against_protected('"update audit_log set x = 1"')
    assert _statements_against_protected("truncate review_list_rows")
    assert not _statements_against_protected("insert into audit_log values (1)")
    assert not _statements_against_protected("delete from raw_repairs where known_on < $cutoff")


# The only statements allowed to remove rows from the append-only tables: expiry by date under the
# retention settings (`redflags purge`, itself recorded in the audit trail). Nothing may touch audit_log.
RETENTION_EXPIRY = {
    ("pipelines/ops/retention.py", "delete from review_list_rows"),
    ("pipelines/ops/retention.py", "delete from carried_forward"),
    ("pipelines/ops/retention.py", "delete from outcomes"),
}


def test_no_source_file_updates_or_deletes_the_append_only_tables() -> None:
    sources = [
        *(REPO / "pipelines").rglob("*.py"),
        *(REPO / "features").rglob("*.py"),
        *(REPO / "models").rglob("*.py"),
        *(REPO / "sql").rglob("*.sql"),
    ]
    assert len(sources) > 5
    found = {
        (str(path.relative_to(REPO)), " ".join(statement.lower().split()))
        for path in sources
        for statement in _statements_against_protected(path.read_text(encoding="utf-8"))
    }
    assert found - RETENTION_EXPIRY == set()
    assert not any("audit_log" in statement for _, statement in found)


def test_key_rotation_rewrites_only_the_wrapped_key_and_appends_one_event(
    tmp_path: Path, db_key: str
) -> None:
    # rotate_key rewraps the data key: every other table, the audit trail included, comes through unchanged
    from pipelines.warehouse.connection import open_warehouse
    from pipelines.warehouse.rotation import rotate_key

    wh = open_warehouse(tmp_path / "wh.duckdb")
    two_weeks(wh)
    tables = [
        t for (t,) in wh.con.sql("select table_name from duckdb_tables() where not temporary").fetchall()
    ]
    before = {t: wh.con.sql(f"select * from {t}").fetchall() for t in tables}
    wh.close()
    rotate_key(tmp_path / "wh.duckdb", db_key, "a-new-and-longer-test-passphrase")
    wh = open_warehouse(tmp_path / "wh.duckdb", key="a-new-and-longer-test-passphrase")
    after = {t: wh.con.sql(f"select * from {t}").fetchall() for t in tables}
    changed = {t for t in tables if after[t] != before[t]}
    assert changed == {"meta", "audit_log"}
    assert after["audit_log"][:-1] == before["audit_log"] and after["audit_log"][-1][3] == "key_rotated"
    wh.close()


def _snapshot(wh: Warehouse) -> dict[str, list[tuple[object, ...]]]:
    order = {
        "audit_log": "audit_id",
        "outcomes": "outcome_id",
        "review_list_rows": "list_id, rank",
        "carried_forward": "list_id, tenancy_ref",
    }
    return {t: wh.con.sql(f"select * from {t} order by {o}").fetchall() for t, o in order.items()}


def test_every_public_function_only_appends(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exercise everything that touches the append-only tables; earlier rows must come through unchanged."""
    wh = new_warehouse(tmp_path)
    two_weeks(wh)
    filled = {"tenancy_ref": "T1", "list_id": LIST1, "reviewer": "J", "rationale": "x"}
    first = write_review_csv(tmp_path / "a.csv", [{**filled, "outcome": "no_concern"}])
    correction = write_review_csv(tmp_path / "b.csv", [{**filled, "outcome": "already_known"}])
    steps: list[Callable[[], object]] = [
        lambda: record_event(wh.con, cipher=wh.cipher, actor="a", action="purge", detail={"rows": 1}),
        lambda: publish(wh, "L3", WEEK1, [(1, "T4", "tst", 3.0, "r")], carried=[("T1", "tst", 1.0)]),
        lambda: import_outcomes(wh, first, values=VALUES, actor="t", today=TODAY),
        lambda: import_outcomes(wh, first, values=VALUES, actor="t", today=TODAY),  # a re-import
        lambda: import_outcomes(wh, correction, values=VALUES, actor="t", today=TODAY),
        lambda: household_history(wh, "T1"),
        lambda: verify_audit_chain(wh.con),
    ]
    for step in steps:
        before = _snapshot(wh)
        with contextlib.suppress(UserError):
            step()
        after = _snapshot(wh)
        for table, rows in before.items():
            assert after[table][: len(rows)] == rows, table
    wh.close()
    before_cli = None
    for argv in (["history", "T1"], ["history", "NOBODY"]):
        wh = new_warehouse(tmp_path)
        before_cli = _snapshot(wh)
        wh.close()
        main([*argv, "--db", str(tmp_path / "wh.duckdb"), "--allow-unencrypted"])
        wh = new_warehouse(tmp_path)
        after = _snapshot(wh)
        wh.close()
        for table, rows in before_cli.items():
            assert after[table][: len(rows)] == rows, table
    wh = new_warehouse(tmp_path)
    assert verify_audit_chain(wh.con).ok


def test_purge_and_key_rotation_keep_the_audit_trail(tmp_path: Path, db_key: str) -> None:
    from pipelines.core.settings import RetentionSettings
    from pipelines.ops.retention import purge
    from pipelines.warehouse.connection import open_warehouse
    from pipelines.warehouse.rotation import rotate_key

    wh = open_warehouse(tmp_path / "wh.duckdb")
    two_weeks(wh)
    path = write_review_csv(
        tmp_path / "a.csv",
        [
            {
                "tenancy_ref": "T1",
                "list_id": LIST1,
                "outcome": "no_concern",
                "reviewer": "J",
                "rationale": "why",
            }
        ],
    )
    import_outcomes(wh, path, values=VALUES, actor="t", today=TODAY)
    before = _snapshot(wh)
    purge(wh, RetentionSettings(), TODAY)  # nothing has expired yet
    after = _snapshot(wh)
    for table, rows in before.items():
        assert after[table][: len(rows)] == rows, table
    wh.close()

    rotate_key(tmp_path / "wh.duckdb", db_key, "a-new-and-longer-test-passphrase")
    wh = open_warehouse(tmp_path / "wh.duckdb", key="a-new-and-longer-test-passphrase")
    assert _snapshot(wh)["audit_log"][: len(before["audit_log"])] == before["audit_log"]
    assert wh.cipher.decrypt(wh.con.sql("select rationale_enc from outcomes").fetchall()[0][0]) == "why"

    years_later = dt.date(2040, 1, 1)  # everything has expired: lists and outcomes go, the trail stays
    trail = _snapshot(wh)["audit_log"]
    purge(wh, RetentionSettings(), years_later)
    after = _snapshot(wh)
    assert after["audit_log"][: len(trail)] == trail
    assert after["outcomes"] == [] and after["review_list_rows"] == []
    assert [json.loads(str(r[5]))["counts"]["outcomes"] for r in after["audit_log"][len(trail) :]] == [1]
    assert verify_audit_chain(wh.con).ok
