"""``redflags backtest --compare`` without a file: rules only against rules + the re-ranker over simulated
reviewers (pipelines/backtest/learning.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from pipelines.backtest.learning import (
    LEARNED,
    RULES,
    LearningComparison,
    SimulatedReviewers,
    listing_rates,
    ranking,
    simulate_reviews,
    summarise,
    week_measures,
)

WEEK = dt.date(2025, 6, 1)


def _truth() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "tenancy_ref": ["P1", "P2", "LA1", "X1"],
            "is_positive": [True, True, False, False],
            "is_live": [True, False, False, False],
            "is_lookalike": [False, False, True, False],
            "is_known_case": [False] * 4,
        }
    )


def test_simulated_reviewers_refer_by_kind_with_a_delay_and_the_same_decision_whatever_the_order() -> None:
    certain = SimulatedReviewers(refer_pattern=1.0, refer_lookalike=0.0, refer_other=0.0, min_delay_weeks=2,
                                 max_delay_weeks=4)  # fmt: skip
    refs = ["P1", "P2", "LA1", "X1", "NOT-IN-KEY"]
    out = simulate_reviews(refs, WEEK, _truth(), certain, positive="yes", negative="no")
    assert out["outcome"].to_list() == ["yes", "yes", "no", "no", "no"]
    assert out["listed_on"].to_list() == [WEEK] * 5
    delays = [(r - WEEK).days // 7 for r in out["reviewed_on"].to_list()]
    assert all(2 <= d <= 4 for d in delays)
    noisy = SimulatedReviewers(refer_pattern=0.5, refer_lookalike=0.5, refer_other=0.5, seed=7)
    many = [f"X{i}" for i in range(400)]
    forward = simulate_reviews(many, WEEK, _truth(), noisy, positive="yes", negative="no")
    backward = simulate_reviews(many[::-1], WEEK, _truth(), noisy, positive="yes", negative="no")
    assert forward.sort("tenancy_ref").equals(backward.sort("tenancy_ref"))
    share = (forward["outcome"] == "yes").mean()
    assert 0.4 < share < 0.6  # type: ignore[operator]


def test_ranking_is_the_listable_households_by_the_key_as_published() -> None:
    scored = pl.DataFrame(
        {
            "tenancy_ref": ["A", "B", "C", "D"],
            "is_listable": [True, True, False, True],
            "score": [5.0, 5.001, 9.0, 4.0],
            "rank_score": [1.0, 5.001, 9.0, 6.0],
        }
    )
    # equal to two decimals: the exact score, then the reference
    assert ranking(scored, "score") == ["B", "A", "D"]
    assert ranking(scored, "rank_score") == ["D", "B", "A"]


def test_the_ceiling_is_the_best_precision_any_order_of_the_pool_could_have() -> None:
    truth = pl.DataFrame(
        {
            "tenancy_ref": [f"H{i:02d}" for i in range(40)],
            "is_positive": [i % 4 == 0 for i in range(40)],  # 10 planted patterns among 40
            "is_live": [i % 4 == 0 for i in range(40)],
            "is_lookalike": [False] * 40,
        }
    )
    order = [f"H{i:02d}" for i in range(39, -1, -1)]  # H39 first: 6 of the top 25 planted (H36 ... H16)
    m = week_measures(order, truth, set())
    assert m["precision_25"] == pytest.approx(6 / 25)
    # 10 planted patterns in the pool: no order puts more than 10 in its top 25
    assert m["ceiling_25"] == pytest.approx(10 / 25)
    # a pool smaller than 25: every planted household in it can be in the top
    few = week_measures(order[:8], truth, set())
    assert few["precision_25"] == pytest.approx(2 / 8) and few["ceiling_25"] == pytest.approx(2 / 8)


def test_listing_rates_and_the_summary_by_hand() -> None:
    homes = pl.DataFrame(
        {
            "tenancy_ref": [f"H{i}" for i in range(20)],
            "estate": ["North"] * 10 + ["South"] * 10,
            "property_type": ["flat"] * 20,
        }
    )
    off = [pl.DataFrame({"tenancy_ref": ["H0", "H1", "H2", "H3", "H4", "H10", "H11", "H12", "H13", "H14"]})]
    on = [pl.DataFrame({"tenancy_ref": ["H0", "H1", "H2", "H3", "H4", "H5", "H10", "H11", "H12", "H13"]})]
    groups = listing_rates({RULES: off, LEARNED: on}, homes)
    got = {
        (r["attribute"], r["group"]): (r["listed_off"], r["listed_on"]) for r in groups.iter_rows(named=True)
    }
    assert got == {
        ("estate", "North"): (5, 6),
        ("estate", "South"): (5, 4),
        ("property_type", "flat"): (10, 10),
    }
    weekly = pl.DataFrame(
        {
            "config": [RULES, LEARNED] * 3,
            "week_number": [1, 1, 2, 2, 3, 3],
            "week": [WEEK] * 2 + [WEEK + dt.timedelta(weeks=1)] * 2 + [WEEK + dt.timedelta(weeks=2)] * 2,
            "active": [False, False, True, True, True, True],
            "precision_25": [0.9, 0.9, 0.4, 0.5, 0.2, 0.3],
            "live_25": [0.1] * 6,
            "precision_50": [0.1] * 6,
            "recall_50": [0.5, 0.5, 0.6, 0.6, 0.7, 0.8],
            "lookalikes_50": [0.0] * 6,
        }
    )
    result = LearningComparison(weeks=[WEEK], learning_weeks=1, weekly=weekly, groups=groups)
    s = summarise(result, max_ratio=1.25, small=5)
    assert s["weeks_measured"] == 2 and s["weeks_active"] == 2
    assert s["rules_precision_25"] == pytest.approx(0.3) and s["learned_precision_25"] == pytest.approx(0.4)
    assert s["learned_recall_50"] == pytest.approx(0.7)  # (0.6 + 0.8) / 2
    # North 6/5 = 1.2 within 1.25; South (4 listed with it on) is too small to assess
    assert s["worst_group_ratio"] == pytest.approx(1.2) and s["groups_within_fairness"]
    assert not summarise(result, max_ratio=1.1, small=5)["groups_within_fairness"]
    # the fairness audit's disparity: North and South listed alike by the rules (5 of 10 each)
    assert s["rules_worst_disparity"] == pytest.approx(1.0)
    uneven = groups.with_columns(
        listed_off=pl.when(pl.col("group") == "South").then(8).otherwise(pl.col("listed_off")),
        rate_off=pl.when(pl.col("group") == "South").then(800.0).otherwise(pl.col("rate_off")),
    )
    assert summarise(LearningComparison([WEEK], 1, weekly, uneven), 1.25, 5)["rules_worst_disparity"] == (
        pytest.approx(1.6)
    )


def test_compare_without_a_file_needs_the_answer_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli.main import LEARNING_COMPARE, build_parser, main

    args = [
        "backtest",
        "--extracts",
        str(tmp_path),
        "--mapping",
        "m",
        "--from",
        "2025-01-05",
        "--to",
        "2025-03-09",
    ]
    assert build_parser().parse_args([*args, "--compare"]).compare == LEARNING_COMPARE
    assert build_parser().parse_args([*args, "--compare", "other.yaml"]).compare == "other.yaml"
    assert main([*args, "--compare"]) != 0
    err = capsys.readouterr().err
    assert "simulates reviewers from a synthetic landlord's answer key" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_compare_on_a_small_synthetic_landlord(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.cli.main import main
    from pipelines.synth.standard import write_landlord

    landlord = write_landlord(tmp_path / "landlord", homes=400, years=2, seed=5, as_of=dt.date(2025, 6, 29))
    config = tmp_path / "learning.yaml"
    config.write_text(
        "version: learning\noutcomes:\n  learning_min_outcomes: 20\n"
        "teams:\n  repairs_admin:\n    label: Repairs administrators\n    capacity_per_week: 2\n"
        "  tst:\n    label: Tenancy Support Team\n    capacity_per_week: 1\n"
    )
    out = tmp_path / "bt"
    code = main([
        "backtest", "--extracts", str(landlord.out_dir), "--mapping", str(landlord.mapping_path),
        "--from", "2025-03-02", "--to", "2025-06-29", "--out", str(out), "--config", str(config), "--compare",
    ])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "Rules only against rules + re-ranker, 18 week(s)" in printed
    weekly = pl.read_csv(out / "learning_weekly.csv")
    assert sorted(set(weekly["config"])) == sorted([RULES, LEARNED])
    rules = weekly.filter(pl.col("config") == RULES).sort("week_number")
    learned = weekly.filter(pl.col("config") == LEARNED).sort("week_number")
    # until the re-ranker is active the two orders are the same list
    off = ~learned["active"]
    assert off.any()
    assert rules.filter(off)["precision_25"].equals(learned.filter(off)["precision_25"])
    # outcomes grow week by week and arrive at least a week after listing
    outcomes = learned["outcomes"].to_list()
    assert outcomes == sorted(outcomes) and outcomes[0] == 0
    assert (out / "learning_curve.png").stat().st_size > 0
    assert (out / "learning_groups.csv").stat().st_size > 0
    assert not list(out.glob("*.duckdb*"))


def test_both_replays_check_their_inputs_alike_before_loading_anything(tmp_path: Path) -> None:
    """``backtest`` and ``backtest --compare`` say a missing folder or mapping, or a range without a Sunday, in
    the same one sentence (``replay.replay_weeks``), before any warehouse is made."""
    from pipelines.backtest.learning import learning_backtest_folder
    from pipelines.backtest.replay import backtest_folder
    from pipelines.core.errors import ConfigError, UserError
    from pipelines.core.settings import load_settings

    extracts, mapping = tmp_path / "extracts", tmp_path / "mapping.yaml"
    sunday, monday = dt.date(2025, 6, 29), dt.date(2025, 6, 30)
    settings = load_settings()
    runs = {
        "backtest": lambda e, m, a, b: backtest_folder(
            e, m, a, b, {"main": settings}, out_dir=tmp_path / "o"
        ),
        "compare": lambda e, m, a, b: learning_backtest_folder(
            e, m, a, b, settings, out_dir=tmp_path / "o", answer_key=tmp_path / "key.csv"
        ),
    }
    for run in runs.values():
        with pytest.raises(ConfigError, match=f"the extracts folder {extracts} does not exist"):
            run(extracts, mapping, sunday, sunday)
        extracts.mkdir(exist_ok=True)
        with pytest.raises(ConfigError, match=f"the mapping file {mapping} does not exist"):
            run(extracts, mapping, sunday, sunday)
        mapping.write_text("landlord: T\n", encoding="utf-8")
        with pytest.raises(UserError, match="there is no week-ending Sunday from 2025-06-30 to 2025-06-30"):
            run(extracts, mapping, monday, monday)
        extracts.rmdir()
        mapping.unlink()
        assert not (tmp_path / "o").exists()
