"""`redflags run` with the re-ranker switched on but too few outcomes: the published lists are byte for byte the
rules' own, the run says why it is not active, and the listed households' features are kept (slow: whole flows)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipelines.cli.main import main
from pipelines.synth.standard import write_landlord
from pipelines.warehouse.connection import open_warehouse, query

AS_OF = dt.date(2025, 6, 29)
pytestmark = pytest.mark.slow


def _run(landlord: Path, tmp: Path, *extra: str) -> int:
    return main([
        "run", "--extracts", str(landlord), "--mapping", str(landlord / "mapping.yaml"),
        "--as-of", AS_OF.isoformat(), "--db", str(tmp / "rf.duckdb"), "--out", str(tmp / "out"), *extra,
    ])  # fmt: skip


def test_switched_on_with_too_few_outcomes_the_lists_are_the_rules_byte_for_byte(
    tmp_path: Path, db_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    landlord = tmp_path / "landlord" / "extracts"
    write_landlord(landlord, homes=500, years=2, seed=12, as_of=AS_OF)
    off, on = tmp_path / "off", tmp_path / "on"
    off.mkdir()
    on.mkdir()
    assert _run(landlord, off) == 0
    assert "The re-ranker is off (outcomes.learning_enabled is false)" in capsys.readouterr().out
    config = tmp_path / "learning.yaml"
    config.write_text("outcomes:\n  learning_enabled: true\n  learning_min_outcomes: 20\n")
    assert _run(landlord, on, "--config", str(config)) == 0
    printed = capsys.readouterr().out
    assert (
        "The re-ranker is not active: 0 referral or no-concern outcomes were recorded by 29 Jun 2025"
        in printed
    )
    csvs = sorted(p.relative_to(off / "out") for p in (off / "out").rglob("*.csv"))
    assert any(p.name == "review_list.csv" for p in csvs) and any(
        p.name == "carried_forward.csv" for p in csvs
    )
    for path in csvs:
        assert (on / "out" / path).read_bytes() == (off / "out" / path).read_bytes(), path
    with open_warehouse(on / "rf.duckdb", must_exist=True) as wh:
        kept = query(
            wh.con,
            "select count(*) as n, bool_and(is_listed = rules_listed) as same, bool_or(learning_active) as active"
            " from review_list_features",
        ).row(0)
        listed = query(wh.con, "select count(*) as n from review_list_rows")["n"][0]
        detail = query(wh.con, "select detail from runs where kind = 'weekly-review'")["detail"][0]
    assert kept == (listed, True, False)
    assert detail.startswith("The re-ranker is not active")
