"""The re-ranker inside the weekly scoring (pipelines/scoring/learning.py, score_week): it re-orders eligible
households only, keeps suppression, says every week whether it is active, and explains the moves."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
from warehouse_rows import Landlord

from models.reranker import EXAMPLE_COLUMNS, LEARNING_FEATURES
from pipelines.core.settings import Settings, load_settings
from pipelines.scoring.learning import record_features, warehouse_examples
from pipelines.scoring.week import score_week

AS_OF = dt.date(2025, 6, 29)
DAYS = ["2025-04-02", "2025-05-07", "2025-06-11"]


def _settings(*, enabled: bool, min_outcomes: int = 20, repairs_admin: int = 4) -> Settings:
    data = load_settings().model_dump()
    data["teams"]["repairs_admin"]["capacity_per_week"] = repairs_admin
    data["outcomes"]["learning_enabled"] = enabled
    data["outcomes"]["learning_min_outcomes"] = min_outcomes
    data["outcomes"]["learning_min_similar"] = 3
    return Settings.model_validate(data)


def _landlord(settings: Settings) -> Landlord:
    """Four households with external lock changes (the rules' favourites), four with lost keys, one of each
    suppressed (a live marker), all on three occasions: eligible by the rules alone."""
    ll = Landlord(settings)
    for kind, categories in (("L", ("lock_change",)), ("K", ("lost_keys",))):
        for i in range(5):
            ref = f"{kind}{i}"
            ll.home(ref, f"P{ref}", block=f"B{ref}")
            for j, day in enumerate(DAYS):
                # a day apart per household so the scores differ a little and the order is fixed
                on = (dt.date.fromisoformat(day) + dt.timedelta(days=i)).isoformat()
                ll.repair(f"{ref}-{j}", f"P{ref}", ref, on, categories, "external")
        ll.known_case(f"{kind}4", "MARAC", "2025-03-01")
    return ll


def _examples(features: pl.DataFrame, *, weeks_before: int = 4) -> pl.DataFrame:
    """Past reviews of households shaped like these: lost-keys patterns referred, lock-change patterns not
    (the opposite of the rules' order), 12 of each, reviewed before the as-of date."""
    rows = []
    for kind, outcome in (("K", "new_concern_referred"), ("L", "no_concern")):
        shapes = features.filter(pl.col("tenancy_ref").str.starts_with(kind) & pl.col("is_listable"))
        for n in range(12):
            row = shapes.row(n % shapes.height, named=True)
            listed_on = AS_OF - dt.timedelta(weeks=weeks_before + n % 6)
            rows.append(
                {
                    "tenancy_ref": f"past-{kind}{n}",
                    "listed_on": listed_on,
                    "reviewed_on": listed_on + dt.timedelta(weeks=1),
                    "outcome": outcome
                    if n % 6
                    else ("no_concern" if kind == "K" else "new_concern_referred"),
                    **{c: float(row[c]) if row.get(c) is not None else 0.0 for c in LEARNING_FEATURES},
                }
            )
    return pl.DataFrame(rows).select(*EXAMPLE_COLUMNS, *LEARNING_FEATURES)


def _rules_week() -> tuple[Landlord, object]:
    settings = _settings(enabled=False)
    ll = _landlord(settings)
    return ll, score_week(ll.con, settings, AS_OF)


def test_off_or_too_few_outcomes_is_the_rules_list_exactly_and_says_why() -> None:
    ll, rules = _rules_week()
    examples = _examples(rules.features)  # type: ignore[attr-defined]
    too_few = score_week(ll.con, _settings(enabled=True, min_outcomes=25), AS_OF, learning_examples=examples)
    for week in (rules, too_few):
        assert week.listed.equals(rules.listed)  # type: ignore[attr-defined]
        assert week.carried.equals(rules.carried)  # type: ignore[attr-defined]
    assert rules.learning.sentence.startswith("The re-ranker is off")  # type: ignore[attr-defined]
    assert too_few.learning is not None and not too_few.learning.active
    assert "24 referral or no-concern outcomes" in too_few.learning.sentence
    assert "fewer than the 25" in too_few.learning.sentence


def test_active_it_reorders_the_eligible_only_and_explains_each_move() -> None:
    ll, rules = _rules_week()
    examples = _examples(rules.features)  # type: ignore[attr-defined]
    learned = score_week(ll.con, _settings(enabled=True), AS_OF, learning_examples=examples)
    assert learned.learning is not None and learned.learning.active
    assert "The re-ranker is active: trained on 24 outcomes" in learned.learning.sentence

    def eligible(week: object) -> set[str]:
        return set(week.listed["tenancy_ref"]) | set(week.carried["tenancy_ref"])  # type: ignore[attr-defined]

    # the same households are eligible and suppressed; only who fits the capacity of 4 changes
    assert eligible(learned) == eligible(rules) == {f"{k}{i}" for k in "LK" for i in range(4)}
    assert learned.suppressed == rules.suppressed == {"live_marker": 2}  # type: ignore[attr-defined]
    assert learned.discounted == rules.discounted  # type: ignore[attr-defined]
    assert set(rules.listed["tenancy_ref"]) == {"L0", "L1", "L2", "L3"}  # type: ignore[attr-defined]
    assert set(learned.listed["tenancy_ref"]) == {"K0", "K1", "K2", "K3"}
    # the published score is still the rules'; the reasons keep the rules' evidence first
    by_ref = {r["tenancy_ref"]: r for r in learned.listed.iter_rows(named=True)}
    rules_scores = dict(rules.features.select("tenancy_ref", "score").iter_rows())  # type: ignore[attr-defined]
    for ref, row in by_ref.items():
        assert row["score"] == rules_scores[ref]
        assert row["reasons"].startswith("3 lost keys")
        assert row["reasons"].endswith(
            "Moved up by reviewers' outcomes: reviewers referred 10 of 12 households with a similar pattern."
        )
    assert learned.learning.moved == 4
    assert learned.rules_listed is not None and set(learned.rules_listed) == {"L0", "L1", "L2", "L3"}


def test_outcomes_reviewed_after_the_as_of_date_are_not_used() -> None:
    ll, rules = _rules_week()
    late = _examples(rules.features).with_columns(  # type: ignore[attr-defined]
        reviewed_on=pl.lit(AS_OF + dt.timedelta(days=1))
    )
    week = score_week(ll.con, _settings(enabled=True), AS_OF, learning_examples=late)
    assert week.learning is not None and not week.learning.active
    assert "0 referral or no-concern outcomes" in week.learning.sentence
    assert week.listed.equals(rules.listed)  # type: ignore[attr-defined]


def test_features_kept_with_the_list_come_back_as_training_examples() -> None:
    ll, rules = _rules_week()
    features = rules.features  # type: ignore[attr-defined]
    listed = ["L0", "K0"]
    n = record_features(
        ll.con,
        list_id="2025-06-01-r1",
        as_of=dt.date(2025, 6, 1),
        scored=features,
        listed=listed,
        rules_listed=["L0", "L1"],
        learning_active=True,
    )
    assert n == 3
    kept = ll.con.execute(
        "select tenancy_ref, is_listed, rules_listed, features from review_list_features order by tenancy_ref"
    ).fetchall()
    assert [(r, a, b) for r, a, b, _ in kept] == [
        ("K0", True, False),
        ("L0", True, True),
        ("L1", False, True),
    ]
    assert set(json.loads(kept[0][3])) == set(LEARNING_FEATURES)
    ll.outcome("K0", "new_concern_referred", "2025-06-05")
    ll.con.execute("update outcomes set list_id = '2025-06-01-r1'")
    examples = warehouse_examples(ll.con)
    assert examples.select(EXAMPLE_COLUMNS).rows() == [
        ("K0", dt.date(2025, 6, 1), dt.date(2025, 6, 5), "new_concern_referred")
    ]
    k0 = features.filter(pl.col("tenancy_ref") == "K0")
    assert examples["pts_lost_keys"][0] == round(float(k0["pts_lost_keys"][0]), 6)
