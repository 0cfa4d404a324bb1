"""The outcome-trained re-ranker (models/reranker.py): learns only from what was known, moves only listable
households, keeps the rules' order where nothing similar was reviewed, and says why it moved one."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from models.reranker import (
    LearningRules,
    Reranker,
    evidence_share,
    fit_reranker,
    moved_reason,
    pattern_distance,
    pattern_matrix,
    rerank,
    status_sentence,
    time_split_auc,
    training_examples,
)

AS_OF = dt.date(2025, 6, 1)
RULES = LearningRules(enabled=True, min_outcomes=20, weight=8.0, neighbours=10, min_similar=3)


def _examples(n_per_kind: int = 20, *, start: dt.date = dt.date(2025, 1, 5)) -> pl.DataFrame:
    """Internal lock changes (reviewers refer 4 in 5) and lost keys alone (reviewers refer 1 in 10)."""
    rows = []
    for i in range(n_per_kind):
        week = start + dt.timedelta(weeks=i % 15)
        rows.append(
            {
                "tenancy_ref": f"L{i:03d}",
                "listed_on": week,
                "reviewed_on": week + dt.timedelta(weeks=2),
                "outcome": "new_concern_referred" if i % 5 else "no_concern",
                "pts_lock_change_internal": 5.0 + (i % 3) * 0.1,
                "lock_change_internal_long": 3.0,
                "incidents_long": 3.0,
            }
        )
        rows.append(
            {
                "tenancy_ref": f"K{i:03d}",
                "listed_on": week,
                "reviewed_on": week + dt.timedelta(weeks=2),
                "outcome": "new_concern_referred" if i % 10 == 0 else "no_concern",
                "pts_lost_keys": 5.0 + (i % 3) * 0.1,
                "lost_keys_long": 3.0,
                "incidents_long": 3.0,
            }
        )
    return pl.DataFrame(rows).fill_null(0.0)


def _week(rows: list[dict[str, object]]) -> pl.DataFrame:
    base = {"pts_lock_change_internal": 0.0, "pts_lost_keys": 0.0, "incidents_long": 3.0, "is_listable": True}
    frame = pl.DataFrame([base | r for r in rows])
    # the year's counts behind the points: what "a similar pattern" compares
    return frame.with_columns(
        lock_change_internal_long=(pl.col("pts_lock_change_internal") > 0).cast(pl.Float64) * 3,
        lost_keys_long=(pl.col("pts_lost_keys") > 0).cast(pl.Float64) * 3,
    )


def _fitted(examples: pl.DataFrame | None = None) -> Reranker:
    fitted = fit_reranker(
        training_examples(examples if examples is not None else _examples(), AS_OF, RULES), RULES
    )
    assert isinstance(fitted, Reranker)
    return fitted


def test_training_uses_only_outcomes_reviewed_by_the_as_of_date_and_only_referral_or_no_concern() -> None:
    examples = pl.DataFrame(
        {
            "tenancy_ref": ["A", "B", "C", "D", "E"],
            "listed_on": [
                dt.date(2025, 5, 4),
                dt.date(2025, 5, 4),
                dt.date(2025, 5, 25),
                dt.date(2025, 6, 8),
                dt.date(2025, 5, 4),
            ],
            "reviewed_on": [
                dt.date(2025, 5, 10),
                dt.date(2025, 6, 2),
                dt.date(2025, 6, 1),
                dt.date(2025, 6, 9),
                dt.date(2025, 5, 6),
            ],
            "outcome": ["new_concern_referred", "no_concern", " No_Concern ", "no_concern", "already_known"],
        }
    )
    train = training_examples(examples, AS_OF, RULES)
    # B was reviewed the day after the as-of date, D listed after it, E's outcome says nothing about the list
    assert train["tenancy_ref"].to_list() == ["A", "C"]
    assert train["label"].to_list() == [1, 0]


def test_outcomes_recorded_after_the_as_of_date_change_nothing() -> None:
    """Leakage: adding outcomes reviewed after the as-of date (all contradicting the earlier ones) leaves the
    model's ordering of this week's households exactly as it was."""
    known = _examples()
    later = known.with_columns(
        pl.col("tenancy_ref") + "-later",
        reviewed_on=pl.lit(AS_OF + dt.timedelta(days=1)),
        outcome=pl.when(pl.col("outcome") == "no_concern")
        .then(pl.lit("new_concern_referred"))
        .otherwise(pl.lit("no_concern")),
    )
    week = _week(
        [
            {"tenancy_ref": "N1", "score": 10.0, "pts_lost_keys": 5.1},
            {"tenancy_ref": "N2", "score": 9.0, "pts_lock_change_internal": 5.1},
        ]
    )
    a = rerank(week, _fitted(known), RULES)
    b = rerank(week, _fitted(pl.concat([known, later])), RULES)
    assert a["rank_score"].to_list() == b["rank_score"].to_list()


def test_it_moves_listable_households_by_what_reviewers_referred_and_never_others() -> None:
    week = _week(
        [
            {"tenancy_ref": "N1", "score": 10.0, "pts_lost_keys": 5.1},
            {"tenancy_ref": "N2", "score": 9.0, "pts_lock_change_internal": 5.1},
            # suppressed (not listable) though it looks like the referred ones: untouched
            {"tenancy_ref": "S1", "score": 12.0, "pts_lock_change_internal": 5.0, "is_listable": False},
            # unlike anything reviewed (forced entry, ten occasions): keeps its rules score
            {"tenancy_ref": "U1", "score": 9.5, "pts_forced_entry": 9.0, "incidents_long": 10.0},
        ]
    )
    week = week.with_columns(
        pl.col("pts_forced_entry").fill_null(0.0), forced_entry_long=pl.col("pts_forced_entry")
    )
    out = rerank(week, _fitted(), RULES)
    adj = dict(zip(out["tenancy_ref"], out["learning_adjustment"], strict=True))
    assert adj["N2"] > 0 > adj["N1"]
    assert adj["S1"] == 0.0 and adj["U1"] == 0.0
    order = out.filter(pl.col("is_listable")).sort("rank_score", descending=True)["tenancy_ref"].to_list()
    assert order == ["N2", "U1", "N1"]
    # eligibility and the published score are the rules'
    assert out["is_listable"].to_list() == week["is_listable"].to_list()
    assert out["score"].to_list() == week["score"].to_list()
    support = out.filter(pl.col("tenancy_ref") == "N2").row(0, named=True)
    assert support["similar_reviewed"] == 10 and 7 <= support["similar_referred"] <= 9


def test_one_kind_of_outcome_is_not_enough_to_learn() -> None:
    only_no = _examples().with_columns(outcome=pl.lit("no_concern"))
    problem = fit_reranker(training_examples(only_no, AS_OF, RULES), RULES)
    assert isinstance(problem, str) and "no referrals" in problem


def test_time_split_validation_trains_on_earlier_weeks_and_measures_later_ones() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    weeks = np.repeat(np.arange(10), 20)
    # the pattern that predicts a referral flips after week 6: fitting on the early weeks, the later ones
    # are predicted backwards (a validation that shuffled weeks together would not see it)
    y = np.where(weeks <= 6, x[:, 0] > 0, x[:, 0] < 0).astype(int)
    auc = time_split_auc(x, y, weeks, seed=0)
    assert auc is not None and auc < 0.2
    steady = (x[:, 0] > 0).astype(int)
    steady_auc = time_split_auc(x, steady, weeks, seed=0)
    assert steady_auc is not None and steady_auc > 0.95
    assert time_split_auc(x, steady, np.zeros(200), seed=0) is None


def test_sentences_say_whether_it_is_active_and_why_not() -> None:
    assert "off" in status_sentence(enabled=False, outcomes=0, min_outcomes=200, as_of=AS_OF)
    few = status_sentence(enabled=True, outcomes=43, min_outcomes=200, as_of=AS_OF)
    assert "not active" in few and "43" in few and "200" in few and "01 Jun 2025" in few
    on = status_sentence(
        enabled=True, outcomes=250, min_outcomes=200, as_of=AS_OF, referred=80, moved=6, auc=0.71
    )
    assert on.startswith("The re-ranker is active") and "250" in on and "6 listed" in on and "71%" in on
    for sentence in (few, on):
        assert sentence.count(". ") == 0 and sentence.endswith(".")
    assert moved_reason(9, 7, up=True) == (
        "Moved up by reviewers' outcomes: reviewers referred 7 of 9 households with a similar pattern."
    )
    assert moved_reason(1, 0, up=False) == (
        "Moved down by reviewers' outcomes: reviewers referred 0 of 1 household with a similar pattern."
    )


@pytest.mark.parametrize("min_similar", [3, 11])
def test_min_similar_decides_whether_a_household_is_compared(min_similar: int) -> None:
    rules = LearningRules(enabled=True, min_outcomes=20, neighbours=10, min_similar=min_similar)
    week = _week([{"tenancy_ref": "N2", "score": 9.0, "pts_lock_change_internal": 5.1}])
    out = rerank(week, _fitted(), rules)
    moved = out["learning_adjustment"][0] != 0.0
    assert moved is (min_similar <= 10)


def test_shrinkage_moves_a_household_by_the_evidence_behind_it() -> None:
    """With ``shrinkage`` k a household's adjustment is the model's times n / (n + k), n its similar reviewed
    households: less evidence, a smaller move, never a larger one; with no similar household, none at all."""
    assert evidence_share(np.array([0, 1, 2, 6, 18]), 2.0).tolist() == [0.0, 1 / 3, 0.5, 0.75, 0.9]
    assert evidence_share(np.array([0, 3]), 0.0).tolist() == [1.0, 1.0]
    week = _week(
        [
            {"tenancy_ref": "N2", "score": 9.0, "pts_lock_change_internal": 5.1},
            {"tenancy_ref": "U1", "score": 9.5, "pts_forced_entry": 9.0, "incidents_long": 10.0},
        ]
    ).with_columns(pl.col("pts_forced_entry").fill_null(0.0), forced_entry_long=pl.col("pts_forced_entry"))
    fitted = _fitted()
    full = rerank(week, fitted, replace(RULES, min_similar=1, shrinkage=0.0))
    shrunk = rerank(week, fitted, replace(RULES, min_similar=1, shrinkage=10.0))
    # N2 has 10 similar reviewed households (neighbours=10): half its adjustment with k = 10
    assert shrunk["similar_reviewed"][0] == 10
    assert shrunk["learning_adjustment"][0] == pytest.approx(full["learning_adjustment"][0] / 2)
    assert 0 < shrunk["learning_adjustment"][0] < full["learning_adjustment"][0]
    # unlike anything reviewed: no similar household, no move, whatever the shrinkage
    assert shrunk["similar_reviewed"][1] == 0 and shrunk["learning_adjustment"][1] == 0.0
    assert shrunk["rank_score"][1] == 9.5


def test_a_similar_pattern_is_the_same_kinds_and_about_as_many_occasions() -> None:
    frame = pl.DataFrame(
        {
            "lock_change_external_long": [2.0, 0.0, 2.0, 2.0],
            "lock_change_internal_long": [0.0, 3.0, 0.0, 0.0],  # another lock change column: the same kind
            "lost_keys_long": [0.0, 0.0, 1.0, 0.0],
            "asb_lens_cases_long": [0.0, 0.0, 0.0, 1.0],
            "is_arrears_near_pattern": [False, False, False, True],
            "incidents_long": [3.0, 3.0, 3.0, 5.0],
        }
    )
    m = pattern_matrix(frame)
    d = pattern_distance(m[:1], m)[0]
    # itself; internal instead of external lock changes (the same kind); one kind more (lost keys); two other
    # signals more and two occasions more
    assert d.tolist() == [0.0, 0.0, 1.0, 3.0]
