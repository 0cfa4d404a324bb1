"""The backtest on a tiny hand-built case: every figure below is worked out by hand in the comments.

The scorer is replaced by fixed lists so that the arithmetic is about the backtest (truth, metrics, baseline,
sweep, files), not about the scoring model. The baseline SQL runs on hand-inserted raw rows.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest

from pipelines.backtest import plots as backtest_plots
from pipelines.backtest.replay import print_report, read_answer_key, run_backtest, write_outputs
from pipelines.core.settings import Settings, TeamSettings, load_settings
from pipelines.warehouse.connection import Warehouse, open_warehouse

W1, W2, W3 = dt.date(2025, 3, 2), dt.date(2025, 3, 9), dt.date(2025, 3, 16)  # Sundays
WEEKS = [W1, W2, W3]

# The answer key. A's pattern began before the backtest (counted in recall, not in time to flag).
KEY_CSV = """tenancy_ref,property_ref,kind,strength,pattern_start,pattern_end,live_at_as_of
A,PA,da_pattern,strong,2025-02-20,,true
B,PB,da_pattern,medium,2025-03-05,,true
C,PC,lookalike_burglary,,2025-02-01,2025-02-10,false
D,PD,known_case_lapsed,strong,2025-03-10,,true
K,PK,known_case,,,,false
"""

# What the (replaced) scorer lists each week, and carries beyond capacity.
LISTS = {W1: (["A", "C"], ["E"]), W2: (["A", "B", "C"], []), W3: (["B", "D", "E"], ["C"])}
# Points per household per week for the min_points sweep (K is suppressed: a live marker).
POINTS = {
    W1: {"A": 6.0, "C": 5.0, "E": 4.0, "K": 9.0},
    W2: {"A": 7.0, "B": 5.0, "C": 5.0, "E": 2.0},
    W3: {"B": 6.0, "D": 8.0, "E": 5.0, "C": 4.0, "A": 3.0},
}


def _settings(capacity: tuple[int, int] = (2, 1)) -> Settings:
    base = load_settings()
    teams = {
        "repairs_admin": TeamSettings(label="Repairs administrators", capacity_per_week=capacity[0]),
        "tst": TeamSettings(label="Tenancy Support Team", capacity_per_week=capacity[1]),
    }
    # the hand arithmetic below is at a 4-point threshold (the shipped default is 5.5 since 2026.11-2)
    scoring = base.scoring.model_copy(update={"min_points": 4.0})
    return base.model_copy(update={"teams": teams, "scoring": scoring})


def fixed_scorer(con: Any, settings: Settings, as_of: dt.date) -> Any:
    listed, carried = LISTS[as_of]
    points = POINTS[as_of]
    features = pl.DataFrame(
        {
            "tenancy_ref": list(points),
            "points_score": list(points.values()),
            "flags_long": [1] * len(points),
            "suppression_reason": ["live_marker" if r == "K" else None for r in points],
        }
    )
    return SimpleNamespace(
        listed=pl.DataFrame({"tenancy_ref": listed}, schema={"tenancy_ref": pl.String}),
        carried=pl.DataFrame({"tenancy_ref": carried}, schema={"tenancy_ref": pl.String}),
        features=features,
    )


def _repair(
    job: str, ref: str, on: str, known: str, *, flagged: bool = True, status: str = "completed"
) -> list[Any]:
    return [job, f"P{ref}", ref, dt.datetime.fromisoformat(on), status, ["door_damage"] if flagged else [],
            1, 2, dt.date.fromisoformat(known)]  # fmt: skip


def warehouse(tmp_path: Path) -> Warehouse:
    wh = open_warehouse(tmp_path / "bt.duckdb", allow_unencrypted=True)
    repairs = [
        # E: three red-flag repairs in January; the third is restated as cancelled in a file known on 12 March
        _repair("E1", "E", "2025-01-05", "2025-01-31"),
        _repair("E2", "E", "2025-01-10", "2025-01-31"),
        _repair("E3", "E", "2025-01-15", "2025-01-31"),
        _repair("E3", "E", "2025-01-15", "2025-03-12", status="cancelled"),
        _repair("C1", "C", "2025-02-03", "2025-02-28"),
        _repair("C2", "C", "2025-02-10", "2025-02-28"),
        _repair("A1", "A", "2025-02-20", "2025-02-28"),
        _repair("B1", "B", "2025-03-05", "2025-03-07"),
        _repair("D1", "D", "2025-03-10", "2025-03-14"),
        _repair("D2", "D", "2025-03-11", "2025-03-14"),
        _repair("F1", "F", "2025-02-01", "2025-02-28", status="cancelled"),  # cancelled: never counts
        _repair("F2", "F", "2025-02-02", "2025-02-28", flagged=False),  # not a red flag
        _repair("G1", "G", "2025-02-01", "2025-02-28"),  # G's tenancy ended on 1 January
    ]
    wh.con.executemany(
        "insert into raw_repairs (job_ref, property_ref, tenancy_ref, reported_at, status, categories,"
        " file_id, source_row, known_on) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        repairs,
    )
    tenancies = [[r, f"P{r}", dt.date(2020, 1, 1), None, 1, 2, dt.date(2025, 1, 1)] for r in "ABCDEFK"]
    tenancies.append(["G", "PG", dt.date(2020, 1, 1), dt.date(2025, 1, 1), 1, 2, dt.date(2025, 1, 1)])
    wh.con.executemany(
        "insert into raw_tenancies (tenancy_ref, property_ref, start_date, end_date, file_id, source_row,"
        " known_on) values (?, ?, ?, ?, ?, ?, ?)",
        tenancies,
    )
    return wh


@pytest.fixture
def key(tmp_path: Path) -> pl.DataFrame:
    path = tmp_path / "landlord_answer_key.csv"
    path.write_text(KEY_CSV)
    return read_answer_key(path)


def test_weekly_figures_by_hand(tmp_path: Path, key: pl.DataFrame) -> None:
    wh = warehouse(tmp_path)
    result = run_backtest(wh, WEEKS, {"main": _settings()}, answer_key=key, scorer=fixed_scorer)
    weekly = result.weekly.select(
        "week", "list_size", "capacity", "carried", "new_listings", "positives_listed", "precision",
        "live", "live_listed", "recall", "lookalikes_listed",
    ).rows()  # fmt: skip
    assert weekly == [
        # W1: list A, C. Positive A (started 20 Feb); B and D not started. Live: A -> 1/1.
        (W1, 2, 3, 1, 2, 1, 1 / 2, 1, 1, 1.0, 1),
        # W2: list A, B, C. B started 5 March. Live A, B; both listed. New: B.
        (W2, 3, 3, 0, 1, 2, 2 / 3, 2, 2, 1.0, 1),
        # W3: list B, D, E. D started 10 March. Live A, B, D; listed B, D. New: D, E.
        (W3, 3, 3, 1, 2, 2, 2 / 3, 3, 2, 2 / 3, 0),
    ]


def test_baseline_by_hand(tmp_path: Path, key: pl.DataFrame) -> None:
    wh = warehouse(tmp_path)
    result = run_backtest(wh, WEEKS, {"main": _settings()}, answer_key=key, scorer=fixed_scorer)
    # Most red-flag repairs in the past year, known then, live tenancies, as long as the model's list:
    # W1 (k=2): E 3, C 2, A 1 -> E, C: neither positive -> 0/2; live A missed -> 0/1
    # W2 (k=3): E 3, C 2, then A 1 and B 1 tie: B reported later -> E, C, B: B -> 1/3; live A, B -> 1/2
    # W3 (k=3): E3 now cancelled -> E 2 (last 10 Jan); C 2 (10 Feb); D 2 (11 Mar) -> D, C, E: D -> 1/3; 1/3
    assert result.weekly.select("baseline_positives", "baseline_precision", "baseline_recall").rows() == [
        (0, 0.0, 0.0),
        (1, 1 / 3, 1 / 2),
        (1, 1 / 3, 1 / 3),
    ]


def test_summary_by_hand(tmp_path: Path, key: pl.DataFrame) -> None:
    wh = warehouse(tmp_path)
    result = run_backtest(wh, WEEKS, {"main": _settings()}, answer_key=key, scorer=fixed_scorer)
    s = result.summary.row(0, named=True)
    assert s["weeks"] == 3 and s["capacity"] == 3
    assert s["mean_list_size"] == pytest.approx(8 / 3)  # (2 + 3 + 3) / 3
    assert s["mean_carried"] == pytest.approx(2 / 3)  # (1 + 0 + 1) / 3
    assert s["households_listed"] == 5  # A, C, B, D, E
    assert s["precision"] == pytest.approx(5 / 8)  # (1 + 2 + 2) / (2 + 3 + 3)
    assert s["recall"] == pytest.approx(5 / 6)  # (1 + 2 + 2) / (1 + 2 + 3)
    assert s["baseline_precision"] == pytest.approx(2 / 8)  # (0 + 1 + 1) / 8
    assert s["baseline_recall"] == pytest.approx(2 / 6)
    # Patterns starting from 24 Feb (W1 - 6 days): B (5 Mar, listed 9 Mar: 4 days) and D (10 Mar, listed
    # 16 Mar: 6 days). A started 20 Feb: before the backtest. Median (4/7 + 6/7) / 2 = 5/7 weeks.
    assert (s["patterns_started"], s["patterns_listed"], s["share_never_listed"]) == (2, 2, 0.0)
    assert s["median_weeks_to_flag"] == pytest.approx(5 / 7)
    assert (s["lookalikes_listed"], s["known_cases_listed"]) == (2, 0)


def test_threshold_sweep_by_hand(tmp_path: Path, key: pl.DataFrame) -> None:
    wh = warehouse(tmp_path)
    result = run_backtest(wh, WEEKS, {"main": _settings()}, answer_key=key, scorer=fixed_scorer)
    sweep = result.sweep
    assert set(sweep["swept"].to_list()) == {"scoring.min_points"}
    thresholds = sweep["threshold"].to_list()
    assert {2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0} <= set(thresholds)
    assert (min(thresholds), max(thresholds)) == (2.0, 8.0)  # K (9 points, suppressed) is left out
    rows = {r["threshold"]: r for r in sweep.iter_rows(named=True)}
    # t = 4: W1 A C E (A right); W2 A B C (A, B); W3 B D E C (B, D) -> 5 right of 10; live caught A; A B; B D
    # -> 5 of 6 live; 10 households over 3 weeks
    assert (rows[4.0]["precision"], rows[4.0]["recall"]) == (0.5, pytest.approx(5 / 6))
    assert rows[4.0]["households_per_week"] == pytest.approx(10 / 3)
    assert rows[4.0]["is_current"]  # the default min_points
    # t = 6: W1 A; W2 A; W3 B D -> 4 right of 4; live caught 4 of 6
    assert (rows[6.0]["precision"], rows[6.0]["recall"]) == (1.0, pytest.approx(4 / 6))
    assert rows[6.0]["households_per_week"] == pytest.approx(4 / 3)


def test_compare_two_configs_side_by_side(tmp_path: Path, key: pl.DataFrame) -> None:
    def by_points(con: Any, settings: Settings, as_of: dt.date) -> Any:
        week = fixed_scorer(con, settings, as_of)
        f = week.features.filter(pl.col("suppression_reason").is_null())
        listed = f.filter(pl.col("points_score") >= settings.scoring.min_points).sort(
            "points_score", descending=True
        )
        return SimpleNamespace(listed=listed.head(3), carried=listed.slice(3), features=week.features)

    strict = _settings().model_copy(
        update={"scoring": _settings().scoring.model_copy(update={"min_points": 6.0}), "version": "strict"}
    )
    wh = warehouse(tmp_path)
    result = run_backtest(
        wh, WEEKS, {"default": _settings(), "strict": strict}, answer_key=key, scorer=by_points
    )
    s = {r["config"]: r for r in result.summary.iter_rows(named=True)}
    # default (min 4, top 3): W1 A C E -> 1/3; W2 A B C -> 2/3; W3 D B E (C carried) -> 2/3: 5/9
    assert s["default"]["precision"] == pytest.approx(5 / 9)
    # strict (min 6): W1 A; W2 A; W3 D B -> 4/4; live caught 4 of 6
    assert (s["strict"]["precision"], s["strict"]["recall"]) == (1.0, pytest.approx(4 / 6))
    assert result.weekly.filter(pl.col("config") == "strict")["list_size"].to_list() == [1, 1, 2]
    text = io.StringIO()
    print_report(result, text)
    assert "default" in text.getvalue() and "strict" in text.getvalue()


def test_outcomes_are_the_truth_without_an_answer_key(tmp_path: Path) -> None:
    wh = warehouse(tmp_path)
    rows = [
        (1, "L1", W1, "A", "new_concern_referred"),
        (2, "L1", W1, "C", "no_concern"),
        (3, "L1", W1, "B", "already_known"),  # says nothing about the list
        (4, "L1", W1, "E", "new_concern_referred"),
        (5, "L1", W1, "E", "no_concern"),  # a correction: the latest wins
    ]
    wh.con.executemany(
        "insert into outcomes values (?, ?, ?, ?, ?, 'rev', null, ?, ?::timestamp + to_seconds(?), 'f', 2)",
        [
            [i, lst, asof, ref, wh.cipher.encrypt(o), W1, dt.datetime(2025, 3, 4), i]
            for i, lst, asof, ref, o in rows
        ],
    )
    result = run_backtest(wh, WEEKS, {"main": _settings()}, scorer=fixed_scorer)
    assert result.truth_source == "outcomes"
    # W1 A C: labelled 2, right 1. W2 A B C: labelled A C -> 1/2. W3 B D E: labelled E (no_concern) -> 0/1
    assert result.weekly.select("labelled", "positives_listed", "precision", "recall").rows() == [
        (2, 1, 0.5, None),
        (2, 1, 0.5, None),
        (1, 0, 0.0, None),
    ]
    assert result.summary["precision"][0] == pytest.approx(2 / 5)
    assert result.summary["median_weeks_to_flag"][0] is None


def test_files_and_plots(tmp_path: Path, key: pl.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    wh = warehouse(tmp_path)
    result = run_backtest(wh, WEEKS, {"main": _settings()}, answer_key=key, scorer=fixed_scorer)
    figures: list[Any] = []
    original = backtest_plots._save

    def keep(fig: Any, path: Path) -> Path:
        figures.append(fig)
        return original(fig, path)

    monkeypatch.setattr(backtest_plots, "_save", keep)
    files = write_outputs(result, tmp_path / "out")
    assert sorted(p.name for p in files.values()) == [
        "list_size_per_week.png", "precision_recall_threshold.png", "summary.csv", "threshold_sweep.csv",
        "time_to_flag.png", "weekly.csv",
    ]  # fmt: skip
    for path in files.values():
        assert path.stat().st_size > 0
    weekly = pl.read_csv(files["weekly"], try_parse_dates=True)
    assert weekly["precision"].to_list() == [0.5, 0.6667, 0.6667]  # written to 4 places
    summary = pl.read_csv(files["summary"])
    assert summary["precision"][0] == 0.625
    for name in ("weekly", "summary", "threshold_sweep"):  # the project's one writer: BOM, owner-only
        assert files[name].read_bytes().startswith(b"\xef\xbb\xbf"), name
        assert files[name].stat().st_mode & 0o777 == 0o600, name
    # no household reference is written to any table
    for name in ("weekly", "summary", "threshold_sweep"):
        text = files[name].read_text()
        assert not any(f",{ref}," in text or f"{ref}\n" in text for ref in "ABCDEK")
    # every plot has a title and labelled axes
    for fig in figures:
        for ax in fig.axes:
            assert ax.get_xlabel() or ax.get_title(), ax
            assert ax.get_ylabel()
        assert fig.axes[0].get_title()
    hist = figures[2].axes[0]
    assert hist.get_xlabel() == "weeks from pattern start to first listing (weeks)"
    assert sum(p.get_height() for p in hist.patches) == 2  # B and D


@pytest.mark.slow
def test_cli_backtest_on_a_small_synthetic_landlord(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli.main import main
    from pipelines.synth.standard import write_landlord

    as_of = dt.date(2025, 6, 29)
    landlord = write_landlord(tmp_path / "landlord", homes=200, years=1, seed=3, as_of=as_of)
    stricter = tmp_path / "stricter.yaml"
    stricter.write_text("version: stricter\nscoring:\n  min_points: 6.0\n")
    out = tmp_path / "bt"
    code = main([
        "backtest", "--extracts", str(landlord.out_dir), "--mapping", str(landlord.mapping_path),
        "--from", "2025-06-09", "--to", "2025-06-29", "--out", str(out), "--compare", str(stricter),
    ])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "3 week(s) ending 15 Jun 2025 to 29 Jun 2025; truth: answer key" in printed
    assert "default settings" in printed and "stricter" in printed
    summary = pl.read_csv(out / "summary.csv")
    assert summary["config"].to_list() == ["default settings", "stricter"]
    assert summary["weeks"].to_list() == [3, 3]
    # a stricter threshold never lists more households
    assert summary["mean_list_size"][1] <= summary["mean_list_size"][0]
    plots = ("precision_recall_threshold.png", "list_size_per_week.png", "time_to_flag.png")
    for name in ("weekly.csv", "threshold_sweep.csv", *plots):
        assert (out / name).stat().st_size > 0
    assert not list(out.glob("*.duckdb*"))  # the temporary warehouse is gone
