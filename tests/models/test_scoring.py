"""models/scoring.py: points by hand, Poisson surprise, anomaly determinism, routing, ranking and capacity."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import pytest

from models.scoring import (
    COMPONENTS,
    REPAIR_COMPONENTS,
    RoutingRules,
    ScoringRules,
    anomaly_percentiles,
    points_components,
    poisson_surprise,
    rank_households,
    score_households,
    suppression_counts,
)
from pipelines.core.settings import load_settings

WEIGHTS = load_settings().scoring.weights.model_dump()
RULES = ScoringRules(weights=WEIGHTS, min_points=4.0, burst_min_repairs=3, max_counted_other_signals=3)
ROUTING = RoutingRules(
    capacities={"repairs_admin": 2, "tst": 1}, tst_min_other_signals=1, complex_case_min_signals=3
)


def household(ref: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {f"{c}_weighted": 0.0 for c in REPAIR_COMPONENTS}
    row |= {
        "tenancy_ref": ref,
        "property_ref": "P" + ref,
        "flags_short": 0,
        "flags_recent": 0,
        "flags_long": 0,
        "flags_weighted": 0.0,
        "expected_flags_recent": 0.5,
        "max_burst_flags": 0,
        "distinct_categories_recent": 0,
        "days_since_last_flag": None,
        "lock_change_external_long": 0,
        "lock_change_internal_long": 0,
        "door_damage_internal_long": 0,
        "window_damage_long": 0,
        "lost_keys_long": 0,
        "forced_entry_long": 0,
        "damage_recharges_long": 0,
        "damage_recharges_weighted": 0.0,
        "asb_lens_cases_long": 0,
        "asb_lens_weighted": 0.0,
        "has_arrears_onset": False,
        "is_arrears_near_pattern": False,
        "arrears_rise_gbp": None,
        "suppression_reason": None,
        "incident_extra_weighted": 0.0,
        "max_incident_categories_recent": 1,
        "corroborating_signals": 0,
        "corroborating_signals_long": 0,
        "independent_signals_long": 0,
    }
    row |= values
    # Unless a test says otherwise, each red flag is its own incident (separate occasions, one category each).
    for incident_column, flag_column in (
        ("incidents_short", "flags_short"),
        ("incidents_recent", "flags_recent"),
        ("incidents_long", "flags_long"),
        ("incidents_weighted", "flags_weighted"),
        ("max_burst_incidents", "max_burst_flags"),
        ("expected_incidents_recent", "expected_flags_recent"),
    ):
        row.setdefault(incident_column, row[flag_column])
    return row


def frame(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), infer_schema_length=None)


def test_points_add_up_by_hand() -> None:
    row = household(
        "T1",
        lock_change_external_weighted=2.5,  # 2.5 x 2.0 = 5.0
        door_damage_internal_weighted=1.0,  # 1.0 x 2.0 = 2.0
        max_burst_flags=3,  # burst: 2.0
        distinct_categories_recent=2,  # one extra category: 1.0
        damage_recharges_weighted=5.0,  # capped at 3 x 1.0 = 3.0
        asb_lens_weighted=1.0,  # 1.0 x 1.5 = 1.5
        is_arrears_near_pattern=True,  # 2.0
    )
    out = points_components(frame(row), RULES).row(0, named=True)
    assert out["pts_lock_change_external"] == pytest.approx(5.0)
    assert out["pts_damage_recharge"] == pytest.approx(3.0)
    assert out["points_score"] == pytest.approx(5.0 + 2.0 + 2.0 + 1.0 + 3.0 + 1.5 + 2.0)
    assert {f"pts_{c}" for c in COMPONENTS} <= set(out)


def test_a_component_is_capped_at_max_counted_per_component() -> None:
    out = points_components(frame(household("T1", lost_keys_weighted=10.0)), RULES)
    assert out["pts_lost_keys"][0] == pytest.approx(6 * 1.0)


def test_poisson_surprise_by_hand() -> None:
    # P(X >= 2 | mu = 0.5) = 1 - e^-0.5 (1 + 0.5) = 0.090204; -log10 = 1.0447
    expected = -math.log10(1 - math.exp(-0.5) * 1.5)
    got = poisson_surprise(np.array([0, 2, 1]), np.array([0.5, 0.5, 0.0]))
    assert got[0] == 0.0
    assert got[1] == pytest.approx(expected)
    assert math.isinf(got[2])  # seen where nothing at all is expected: capped by the caller


def test_anomaly_percentiles_are_deterministic_and_rank_the_outlier_highest() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    x[7] = [12.0, 12.0, 12.0]
    first = anomaly_percentiles(x, trees=50, seed=3)
    assert np.array_equal(first, anomaly_percentiles(x, trees=50, seed=3))
    assert first[7] == 1.0 and first.min() == pytest.approx(1 / 40)
    assert np.array_equal(anomaly_percentiles(x[:5], trees=50, seed=3), np.zeros(5))


def test_routing_and_complex_case() -> None:
    rows = frame(
        household("T1", flags_long=2, flags_recent=2, lock_change_external_weighted=2.0),
        household(
            "T2", flags_long=2, flags_recent=2, lock_change_external_weighted=2.0, asb_lens_cases_long=1
        ),
        household(
            "T3",
            flags_long=2,
            flags_recent=2,
            lock_change_external_weighted=2.0,
            asb_lens_cases_long=1,
            is_arrears_near_pattern=True,
        ),
    )
    out = {r["tenancy_ref"]: r for r in score_households(rows, RULES, ROUTING).to_dicts()}
    assert (out["T1"]["team"], out["T1"]["is_complex_case"], out["T1"]["signal_kinds"]) == (
        "repairs_admin",
        False,
        "repairs",
    )
    assert (out["T2"]["team"], out["T2"]["is_complex_case"]) == ("tst", False)  # repairs + ASB
    assert (out["T3"]["team"], out["T3"]["is_complex_case"]) == ("tst", True)  # repairs + ASB + arrears
    assert out["T3"]["signal_kinds"] == "repairs, asb, arrears"


def test_eligibility_is_the_policies_rule_not_points() -> None:
    # Separate occasions (incidents) in the counting period plus a corroborating signal in it, or 3+ alone.
    # Recency and points do not decide: T4's two occasions are months old (recency 0.1 each).
    policy = ScoringRules(weights=WEIGHTS)  # min_points 0: the rule alone
    rows = frame(
        household("T1", flags_long=1, flags_recent=1, lock_change_external_weighted=1.0),  # 1 occasion
        household(
            "T2", asb_lens_weighted=3.0, asb_lens_cases_long=3, damage_recharges_weighted=3.0
        ),  # no repair
        # 2 fresh occasions, 2 x 2.0 + 0.75 = 4.75 points, nothing else: was eligible at min_points 4.0, is
        # not now (2 occasions need a corroborating signal)
        household("T3", flags_long=2, flags_recent=2, lock_change_external_weighted=2.0),
        # 2 old occasions: 2 x 2.0 x 0.1 = 0.4 points, plus an ASB case as victim in the year: eligible
        household(
            "T4",
            flags_long=2,
            flags_recent=0,
            lock_change_external_weighted=0.2,
            asb_lens_cases_long=1,
            corroborating_signals_long=1,
            independent_signals_long=1,
        ),
        # 3 old occasions alone (lost keys, 3 x 1.0 x 0.05 = 0.15 points): eligible
        household("T5", flags_long=3, flags_recent=0, lost_keys_weighted=0.15),
        # 1 occasion with two corroborating signals: still one occasion, not eligible
        household(
            "T6",
            flags_long=2,
            incidents_long=1,
            lock_change_external_weighted=1.0,
            corroborating_signals_long=2,
        ),
    )
    out = {r["tenancy_ref"]: r for r in score_households(rows, policy, ROUTING).to_dicts()}
    assert {ref: r["is_eligible"] for ref, r in out.items()} == {
        "T1": False,
        "T2": False,
        "T3": False,
        "T4": True,
        "T5": True,
        "T6": False,
    }
    assert out["T4"]["points_score"] == pytest.approx(0.4 + 3.0)  # + 1 corroborating signal x 3.0
    assert out["T5"]["points_score"] == pytest.approx(0.15 + 2 * 0.0)  # no recent incident: no repeat points
    # a landlord's min_points floor still applies on top of the rule: at 4.0, T4 and T5 drop off
    floored = {r["tenancy_ref"]: r["is_eligible"] for r in score_households(rows, RULES, ROUTING).to_dicts()}
    assert not floored["T4"] and not floored["T5"]


def scored_for_ranking() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "tenancy_ref": ["T5", "T1", "T3", "T2", "T4", "T6"],
            "team": ["repairs_admin", "repairs_admin", "repairs_admin", "repairs_admin", "tst", "tst"],
            "score": [9.0, 7.0, 7.0, 3.0, 8.0, 6.0],
            "is_eligible": [True, True, True, True, True, True],
            "is_listable": [True, True, True, False, True, True],
            "suppression_reason": [None, None, None, "live_marker", None, None],
        }
    )


def test_rank_within_team_cut_at_capacity_and_carry_the_rest() -> None:
    listed, carried = rank_households(scored_for_ranking(), {"repairs_admin": 2, "tst": 1})
    assert listed.select("team", "rank", "tenancy_ref").rows() == [
        ("repairs_admin", 1, "T5"),
        ("repairs_admin", 2, "T1"),  # T1 and T3 tie on 7.0: tenancy_ref breaks the tie
        ("tst", 1, "T4"),
    ]
    assert carried.select("tenancy_ref", "team", "score").rows() == [
        ("T3", "repairs_admin", 7.0),
        ("T6", "tst", 6.0),
    ]


def test_ranking_is_stable_whatever_the_input_order() -> None:
    frame_ = scored_for_ranking()
    first = rank_households(frame_, {"repairs_admin": 2, "tst": 1})
    for seed in range(5):
        shuffled = frame_.sample(fraction=1.0, shuffle=True, seed=seed)
        again = rank_households(shuffled, {"repairs_admin": 2, "tst": 1})
        assert again[0].equals(first[0]) and again[1].equals(first[1])


def test_a_team_without_capacity_carries_everything() -> None:
    listed, carried = rank_households(scored_for_ranking(), {"repairs_admin": 0})
    assert listed.height == 0 and carried.height == 5


def test_suppression_counts_only_households_that_met_the_rules() -> None:
    scored = scored_for_ranking().with_columns(
        suppression_reason=pl.Series([None, "outcome_no_concern", None, "live_marker", "live_marker", None]),
        is_eligible=pl.Series([True, True, True, True, False, True]),
    )
    assert suppression_counts(scored) == {"live_marker": 1, "outcome_no_concern": 1}


def test_one_incident_is_not_a_pattern_however_many_categories_without_corroboration() -> None:
    # a lock-out: lock change external (strongest, 2.0) + lost keys + door damage in one incident, fresh
    lockout = {"flags_long": 3, "flags_recent": 3, "incidents_long": 1, "incidents_recent": 1}
    rows = frame(
        household("T1", **lockout, lock_change_external_weighted=1.0, incident_extra_weighted=2.0),
        household(
            "T2",
            **lockout,
            lock_change_external_weighted=1.0,
            incident_extra_weighted=2.0,
            asb_lens_weighted=1.0,
            asb_lens_cases_long=1,
            corroborating_signals=1,  # an ASB case with the household as subject, near the incident
            corroborating_signals_long=1,
        ),
    )
    out = {r["tenancy_ref"]: r for r in score_households(rows, RULES, ROUTING).to_dicts()}
    # T1: 2.0 x 1.0 + 0.5 x 2 extra components = 3.0 points; one incident, nothing else: never eligible
    assert out["T1"]["pts_incident_extra_category"] == pytest.approx(0.5 * 2)
    assert out["T1"]["points_score"] == pytest.approx(3.0)
    assert not out["T1"]["is_eligible"]
    # T2: 3.0 + ASB 1.5 x 1.0 = 4.5 points and an ASB case as subject, but one occasion: the policies ask for
    # red flags on 2 separate occasions beside the signal (this was eligible under the single-incident rule)
    assert out["T2"]["points_score"] == pytest.approx(4.5) and not out["T2"]["is_eligible"]
    policy = ScoringRules(weights=WEIGHTS, min_points=0.0)
    assert not score_households(rows.head(1), policy, ROUTING)["is_eligible"][0]  # points alone never do it


def test_repetition_and_the_mix_across_incidents() -> None:
    row = household(
        "T1",
        flags_recent=4,
        incidents_recent=3,  # 2 beyond the first: 2 x 0.75 = 1.5
        distinct_categories_recent=3,
        max_incident_categories_recent=2,  # the other incidents add 3 - 2 = 1 category: 1.0
        max_burst_flags=4,
        max_burst_incidents=2,  # four jobs but two occasions in 28 days: no burst
    )
    out = points_components(frame(row), RULES).row(0, named=True)
    assert out["pts_repeat_incident"] == pytest.approx(2 * 0.75)
    assert out["pts_extra_category"] == pytest.approx(1.0)
    assert out["pts_burst"] == 0.0
    assert out["points_score"] == pytest.approx(1.5 + 1.0)


def test_surprise_counts_incidents_not_jobs() -> None:
    # five jobs on one visit: 1 incident where 0.5 are expected: P(X >= 1) = 1 - e^-0.5; -log10 = 0.4102
    rows = frame(household("T1", flags_recent=5, incidents_recent=1, expected_incidents_recent=0.5))
    out = score_households(rows, RULES, ROUTING).row(0, named=True)
    assert out["surprise_score"] == pytest.approx(-math.log10(1 - math.exp(-0.5)))


def test_spare_capacity_on_the_default_team_takes_the_overflow() -> None:
    # repairs_admin holds 3 (T5, T1, T3; T2 suppressed): capacity 5 leaves 2 places for tst's overflow
    listed, carried = rank_households(
        scored_for_ranking(), {"repairs_admin": 5, "tst": 1}, overflow_team="repairs_admin"
    )
    assert listed.select("team", "rank", "tenancy_ref").rows() == [
        ("repairs_admin", 1, "T5"),  # 9.0
        ("repairs_admin", 2, "T1"),  # 7.0 (ties with T3: tenancy_ref)
        ("repairs_admin", 3, "T3"),  # 7.0
        ("repairs_admin", 4, "T6"),  # 6.0: did not fit tst (capacity 1), listed for repairs admin
        ("tst", 1, "T4"),  # 8.0
    ]
    assert carried.height == 0
    # no spare room: the overflow is carried as before
    listed, carried = rank_households(
        scored_for_ranking(), {"repairs_admin": 3, "tst": 1}, overflow_team="repairs_admin"
    )
    assert carried.select("tenancy_ref", "team").rows() == [("T6", "tst")]


def test_households_waiting_come_before_newer_ones_of_equal_or_lower_score() -> None:
    # T1 and T3 both score 7.0 (T3 7.004: 7.00 as published); T3 has waited 2 weeks, T1 is new
    scored = scored_for_ranking().with_columns(
        score=pl.Series([9.0, 7.0, 7.004, 3.0, 8.0, 6.0]),
        weeks_waited=pl.Series([0, 0, 2, 0, 0, 1]),
    )
    listed, carried = rank_households(scored, {"repairs_admin": 2, "tst": 1})
    assert listed.select("team", "rank", "tenancy_ref").rows() == [
        ("repairs_admin", 1, "T5"),
        ("repairs_admin", 2, "T3"),  # waiting: before T1 of equal published score
        ("tst", 1, "T4"),
    ]
    assert carried.select("tenancy_ref", "rank", "weeks_waiting").rows() == [
        ("T1", 3, 1),  # new this week: waiting 1 week
        ("T6", 2, 2),  # carried last week too
    ]
    # a newer household of a higher score still comes first: waiting breaks ties, never reorders scores
    higher = scored.with_columns(score=pl.Series([9.0, 7.02, 7.004, 3.0, 8.0, 6.0]))
    listed, _ = rank_households(higher, {"repairs_admin": 2, "tst": 1})
    assert listed["tenancy_ref"].to_list() == ["T5", "T1", "T4"]


def test_the_default_team_takes_the_strongest_of_its_own_and_the_overflow() -> None:
    # repairs_admin holds 2: its own T5 (9.0), T1 (7.0), T3 (7.0) compete with tst's overflow T6 (6.0 -> 7.5 here)
    scored = scored_for_ranking().with_columns(score=pl.Series([9.0, 7.0, 7.0, 3.0, 8.0, 7.5]))
    listed, carried = rank_households(scored, {"repairs_admin": 2, "tst": 1}, overflow_team="repairs_admin")
    assert listed.select("team", "rank", "tenancy_ref").rows() == [
        ("repairs_admin", 1, "T5"),  # 9.0
        ("repairs_admin", 2, "T6"),  # 7.5: waiting for the TST, stronger than repairs-only T1 and T3 (7.0)
        ("tst", 1, "T4"),
    ]
    assert carried.select("tenancy_ref", "team").rows() == [("T1", "repairs_admin"), ("T3", "repairs_admin")]


def _run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter (imports are per process) from the repository's root; its stdout."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_prefetch_imports_the_statistics_libraries_on_a_side_thread_before_they_are_used() -> None:
    out = _run_python(
        "import sys, threading\n"
        "import models.scoring as s\n"
        "assert 'sklearn.ensemble' not in sys.modules and 'scipy.stats' not in sys.modules\n"
        "s.prefetch_imports()\n"
        "assert s._prefetch is not None and s._prefetch.name == 'redflags-imports'\n"
        "assert not s._prefetch.daemon\n"
        "s.prefetch_imports()  # a second call starts nothing more\n"
        "assert sum(t.name == 'redflags-imports' for t in threading.enumerate()) <= 1\n"
        "s._await_prefetch()\n"
        "print('sklearn.ensemble' in sys.modules, 'scipy.stats' in sys.modules)\n"
        "import numpy as np\n"
        "print(s.anomaly_percentiles(np.arange(40.0).reshape(20, 2), trees=10, seed=1)[-1])\n"
    )
    assert out.splitlines() == ["True True", "1.0"]


def test_a_failed_prefetch_is_quiet_and_the_first_use_still_raises() -> None:
    out = _run_python(
        "import models.scoring as s\n"
        "s._STATS_MODULES = ('redflags_no_such_module',)\n"
        "s.prefetch_imports(); s._await_prefetch()\n"
        "try:\n"
        "    __import__('redflags_no_such_module')\n"
        "except ImportError:\n"
        "    print('raised at use')\n"
    )
    assert out == "raised at use"
