"""pipelines/flows/weekly_review.py: the run's summary says how many households wait, and how many for 2+ weeks."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import polars as pl
import pytest

from pipelines.cli.run import print_summary
from pipelines.flows.weekly_review import weekly_result


def test_the_summary_says_how_many_wait(capsys: pytest.CaptureFixture[str]) -> None:
    carried = pl.DataFrame(
        {
            "tenancy_ref": ["T1", "T2", "T3"],
            "team": ["tst", "tst", "repairs_admin"],
            "score": [5.0, 4.0, 3.0],
            "rank": [11, 12, 26],
            "weeks_waiting": [1, 3, 2],
        }
    )
    week = SimpleNamespace(carried=carried, suppressed={})
    published = SimpleNamespace(
        list_id="L", folder="/out/2025-06-29", listed=35, carried={"tst": 2, "repairs_admin": 1}
    )
    result = weekly_result(dt.date(2025, 6, 29), published, week, None)
    assert result.waiting_weeks_2plus == 2  # T2 (3 weeks) and T3 (2 weeks); T1 is new this week
    print_summary(result)
    out = capsys.readouterr().out
    assert "Listed 35 household(s) for review; 3 carried forward beyond capacity." in out
    assert "Waiting (carried_forward.csv): 3 household(s), 2 of them for 2+ weeks." in out


def test_nobody_waiting() -> None:
    week = SimpleNamespace(carried=pl.DataFrame(schema={"weeks_waiting": pl.Int64}), suppressed={})
    published = SimpleNamespace(list_id="L", folder="/out", listed=4, carried={})
    assert weekly_result(dt.date(2025, 6, 29), published, week, None).waiting_weeks_2plus == 0


def test_the_summary_says_whether_the_re_ranker_ordered_the_list(capsys: pytest.CaptureFixture[str]) -> None:
    sentence = "The re-ranker is off (outcomes.learning_enabled is false): the list is in the rules' order."
    week = SimpleNamespace(
        carried=pl.DataFrame(schema={"weeks_waiting": pl.Int64}),
        suppressed={},
        learning=SimpleNamespace(active=False, sentence=sentence),
    )
    published = SimpleNamespace(list_id="L", folder="/out", listed=4, carried={})
    result = weekly_result(dt.date(2025, 6, 29), published, week, None)
    assert result.learning == sentence
    print_summary(result)
    assert sentence in capsys.readouterr().out
