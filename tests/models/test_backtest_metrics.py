"""Backtest metrics against hand arithmetic."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from models.backtest_metrics import (
    TRUTH_SCHEMA,
    answer_key_truth,
    outcome_truth,
    pooled,
    ratio,
    summarise_time_to_flag,
    sweep_thresholds,
    threshold_sweep,
    top_k,
    week_metrics,
    weeks_to_first_listing,
)

W1 = dt.date(2025, 3, 2)  # Sundays
W2 = dt.date(2025, 3, 9)
W3 = dt.date(2025, 3, 16)


def truth(rows: list[tuple[str, bool | None, bool, bool, bool]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=TRUTH_SCHEMA, orient="row")


def test_ratio_of_nothing_is_none() -> None:
    assert ratio(1, 4) == 0.25
    assert ratio(0, 0) is None


def test_week_metrics_answer_key() -> None:
    t = truth(
        [
            # ref, positive, live, look-alike, known case
            ("A", True, True, False, False),
            ("B", True, False, False, False),  # pattern started, now ended: still a right listing, not live
            ("C", False, False, True, False),
            ("D", True, True, False, False),  # live, not listed: missed
            ("K", False, False, False, True),
        ]
    )
    m = week_metrics(["A", "B", "C", "X", "K"], t, missing_is_negative=True)
    # listed 5 (X is not in the key: a negative); right: A, B -> precision 2/5
    assert (m.list_size, m.labelled, m.positives_listed) == (5, 5, 2)
    assert m.precision == pytest.approx(2 / 5)
    # live: A, D; listed live: A -> recall 1/2
    assert (m.live, m.live_listed, m.recall) == (2, 1, 0.5)
    assert (m.lookalikes_listed, m.known_cases_listed) == (1, 1)


def test_week_metrics_outcomes_leave_unknowns_out() -> None:
    t = truth(
        [
            ("A", True, False, False, False),
            ("B", False, False, False, False),
            ("C", None, False, False, True),  # already_known: says nothing about the list
        ]
    )
    m = week_metrics(["A", "B", "C", "U"], t, missing_is_negative=False)  # U: unreviewed
    # labelled A, B; right A -> 1/2; no recall without planted truth
    assert (m.list_size, m.labelled, m.positives_listed, m.precision) == (4, 2, 1, 0.5)
    assert (m.live, m.recall) == (0, None)


def test_empty_list_has_no_precision() -> None:
    m = week_metrics([], truth([("A", True, True, False, False)]), missing_is_negative=True)
    assert (m.list_size, m.precision, m.recall) == (0, None, 0.0)


def test_answer_key_truth_by_week() -> None:
    key = pl.DataFrame(
        {
            "tenancy_ref": ["A", "B", "C", "D", "E", "E"],
            "kind": ["da_pattern", "known_case_lapsed", "lookalike_burglary", "known_case", "da_pattern",
                     "lookalike_vandalism"],
            "pattern_start": [dt.date(2025, 3, 5), dt.date(2025, 1, 1), dt.date(2025, 2, 1), None,
                              dt.date(2025, 3, 20), dt.date(2025, 1, 5)],
            "pattern_end": [None, dt.date(2025, 3, 1), dt.date(2025, 2, 10), None, None, None],
        }
    )  # fmt: skip
    at_w1 = answer_key_truth(key, W1).rows()
    assert at_w1 == [
        ("A", False, False, False, False),  # starts 5 March: not yet
        ("B", True, False, False, False),  # started 1 Jan, ended 1 March: positive, not live
        ("C", False, False, True, False),
        ("D", False, False, False, True),
        ("E", False, False, True, False),  # its pattern starts 20 March; a look-alike row too
    ]
    at_w2 = dict((r[0], r[1:3]) for r in answer_key_truth(key, W2).rows())
    assert at_w2["A"] == (True, True)  # started 5 March, no end: live on 9 March


def test_outcome_truth() -> None:
    outcomes = ["new_concern_referred", "no_concern", "already_known", "unable_to_assess"]
    latest = pl.DataFrame({"tenancy_ref": ["A", "B", "C", "D"], "outcome": outcomes})
    t = outcome_truth(latest, positive_values=["new_concern_referred"], negative_values=["no_concern"])
    assert t.select("tenancy_ref", "is_positive", "is_known_case").rows() == [
        ("A", True, False),
        ("B", False, False),
        ("C", None, True),
        ("D", None, False),
    ]


def test_weeks_to_first_listing() -> None:
    starts = pl.DataFrame(
        {
            "tenancy_ref": ["A", "B", "C", "D", "E"],
            "pattern_start": [
                dt.date(2025, 2, 26),  # Wed before W1: in the window (W1 - 6 days = 24 Feb)
                dt.date(2025, 3, 3),  # Mon after W1
                dt.date(2025, 3, 10),  # never listed
                dt.date(2025, 1, 1),  # before the backtest: left out
                dt.date(2025, 3, 4),  # listed in W1, before its start, then in W3
            ],
        }
    )
    listings = pl.DataFrame(
        {
            "tenancy_ref": ["A", "A", "B", "D", "E", "E"],
            "week": [W1, W2, W3, W1, W1, W3],
        }
    )
    out = weeks_to_first_listing(starts, listings, first_week=W1, last_week=W3)
    assert out.rows() == [
        ("A", dt.date(2025, 2, 26), W1, pytest.approx(4 / 7)),  # 26 Feb -> 2 Mar: 4 days
        ("B", dt.date(2025, 3, 3), W3, pytest.approx(13 / 7)),  # 3 Mar -> 16 Mar: 13 days
        ("E", dt.date(2025, 3, 4), W3, pytest.approx(12 / 7)),  # the W1 listing predates the pattern
        ("C", dt.date(2025, 3, 10), None, None),
    ]
    summary = summarise_time_to_flag(out)
    # listed: 4/7, 12/7, 13/7 -> median 12/7; never: 1 of 4
    assert summary.patterns == 4 and summary.listed == 3
    assert summary.median_weeks == pytest.approx(12 / 7)
    assert summary.share_never_listed == 0.25


def test_threshold_sweep_by_hand() -> None:
    scored = pl.DataFrame(
        {
            "week": [W1, W1, W1, W2, W2],
            "tenancy_ref": ["A", "B", "C", "A", "D"],
            "score": [9.0, 5.0, 2.0, 8.0, 4.0],
        }
    )
    t = pl.concat(
        [
            truth([("A", True, True, False, False), ("C", True, True, False, False)]).with_columns(
                week=pl.lit(W1)
            ),
            truth([("A", True, True, False, False), ("E", True, True, False, False)]).with_columns(
                week=pl.lit(W2)
            ),
        ]
    )
    sweep = threshold_sweep(scored, t, [0.0, 4.5, 8.5], weeks=2, missing_is_negative=True)
    # t=0: all 5 scored; right A(W1), C, A(W2) = 3/5; live total 4 (A, C in W1; A, E in W2), caught 3 -> 3/4
    # t=4.5: A(W1) 9, B 5, A(W2) 8 -> right 2/3; live caught A, A -> 2/4
    # t=8.5: A(W1) only -> 1/1; 1/4
    assert sweep.rows() == [
        (0.0, 2.5, 3 / 5, 3 / 4),
        (4.5, 1.5, 2 / 3, 2 / 4),
        (8.5, 0.5, 1.0, 1 / 4),
    ]


def test_sweep_thresholds_are_distinct_and_sorted() -> None:
    # percentiles 0, 25, 50, 75, 100 (lower): 1, 1, 1, 2, 3; even steps from 1 to 3: 1, 1.5, 2, 2.5, 3
    assert sweep_thresholds(pl.Series([1.0, 1.0, 2.0, 3.0]), steps=4) == [1.0, 1.5, 2.0, 2.5, 3.0]
    assert sweep_thresholds(pl.Series([], dtype=pl.Float64)) == []


def test_top_k_is_stable() -> None:
    frame = pl.DataFrame({"tenancy_ref": ["B", "A", "C", "D"], "n": [2, 2, 5, 1]})
    assert top_k(frame, 3, by=["n"], descending=[True]) == ["C", "A", "B"]
    assert top_k(frame, 0, by=["n"], descending=[True]) == []


def test_pooled() -> None:
    weekly = pl.DataFrame(
        {
            "positives_listed": [1, 3],
            "labelled": [4, 4],
            "live_listed": [1, 2],
            "live": [2, 4],
            "list_size": [4, 6],
        }
    )
    # (1 + 3) / (4 + 4) = 0.5; (1 + 2) / (2 + 4) = 0.5; (4 + 6) / 2 = 5
    assert pooled(weekly) == {"precision": 0.5, "recall": 0.5, "mean_list_size": 5.0}
