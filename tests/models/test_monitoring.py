"""Suppression, drift and fairness helpers, with the arithmetic written out by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from models import monitoring as mon

MON = dt.date(2025, 6, 30)


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, 0), (1, "fewer than 5"), (4, "fewer than 5"), (5, 5), (123, 123), (None, None)],
)
def test_counts_from_one_to_four_are_suppressed(count: int | None, shown: int | str | None) -> None:
    assert mon.shown_count(count, 5) == shown


def test_rates_from_a_small_count_are_suppressed_and_others_kept() -> None:
    assert mon.shown_rate(0.4, [4, 6], 5) == "suppressed"  # 4 referred could be worked back from 0.4 x 10
    assert mon.shown_rate(0.4, [8, 12], 5) == 0.4
    assert mon.shown_rate(0.0, [0, 12], 5) == 0.0  # zero is not small


def test_a_total_beside_a_suppressed_part_is_suppressed() -> None:
    assert mon.shown_total([12, 3], 5) == "suppressed"  # 15 - 12 would reveal the 3
    assert mon.shown_total([12, 0, 5], 5) == 17


def test_precision_and_rate_per_1000() -> None:
    assert mon.precision(4, 6) == pytest.approx(0.4)  # 4 / (4 + 6)
    assert mon.precision(0, 0) is None
    assert mon.rate_per_1000(20, 40) == pytest.approx(500.0)  # 20 / 40 x 1000
    assert mon.rate_per_1000(3, 0) is None


def test_last_week_ending_is_the_sunday_on_or_before() -> None:
    assert mon.last_week_ending(MON) == dt.date(2025, 6, 29)
    assert mon.last_week_ending(dt.date(2025, 6, 29)) == dt.date(2025, 6, 29)
    assert mon.last_week_ending(dt.date(2025, 6, 28)) == dt.date(2025, 6, 22)


def test_working_days_skip_weekends() -> None:
    assert mon.working_days_after(MON, dt.date(2025, 7, 2)) == 2  # Tue, Wed
    assert mon.working_days_after(dt.date(2025, 6, 27), MON) == 1  # Fri -> Mon: Sat, Sun skipped
    assert mon.working_days_after(MON, MON) == 0


def test_working_days_skip_england_and_wales_bank_holidays() -> None:
    # Easter 2025: Good Friday 18 April and Easter Monday 21 April are closed.
    assert mon.working_days_after(dt.date(2025, 4, 17), dt.date(2025, 4, 22)) == 1  # Tue 22 only
    # Christmas 2026 falls on a Friday, Boxing Day on Saturday: Monday 28 December is the substitute day.
    assert mon.working_days_after(dt.date(2026, 12, 24), dt.date(2026, 12, 29)) == 1  # Tue 29 only
    assert mon.bank_holidays(dt.date(2025, 5, 1), dt.date(2025, 5, 31)) == [
        dt.date(2025, 5, 5),
        dt.date(2025, 5, 26),
    ]
    assert mon.bank_holidays(dt.date(2025, 6, 1), dt.date(2025, 5, 1)) == []


def _weekly(counts: list[int], category: str = "lock_change") -> pl.DataFrame:
    start = dt.date(2025, 1, 5)
    return pl.DataFrame(
        {
            "week_ending": [start + dt.timedelta(days=7 * i) for i in range(len(counts))],
            "category": [category] * len(counts),
            "flags": counts,
        }
    )


def _last(counts: list[int], **kwargs: object) -> dict[str, object]:
    table = mon.drift(_weekly(counts), trailing_weeks=8, band_ratio=2.0, min_count=5, **kwargs)  # type: ignore[arg-type]
    return table.row(-1, named=True)


def test_drift_above_band() -> None:
    row = _last([8] * 8 + [25])
    assert row["trailing_mean"] == pytest.approx(8.0)  # (8 x 8) / 8
    assert row["ratio"] == pytest.approx(3.125)  # 25 / 8
    assert row["status"] == mon.ABOVE
    assert mon.drift_warning("lock_change", 25, row["ratio"], row["status"], 8, 5) == (  # type: ignore[arg-type]
        "lock_change flags this week are 3.1x their 8-week average: "
        "check for a new contractor's wording or a classifier change"
    )


def test_drift_below_band_without_revealing_a_small_count() -> None:
    row = _last([10] * 8 + [4])
    assert row["ratio"] == pytest.approx(0.4)  # 4 / 10 < 1 / 2
    assert row["status"] == mon.BELOW
    message = mon.drift_warning("window_damage", 4, row["ratio"], row["status"], 8, 5)  # type: ignore[arg-type]
    assert message is not None and "fewer than 5" in message and "0.4" not in message


def test_drift_within_band_new_and_too_few() -> None:
    assert _last([8] * 8 + [12])["status"] == mon.WITHIN  # 12 / 8 = 1.5
    assert _last([0] * 8 + [6])["status"] == mon.NEW
    assert _last([1] * 8 + [3])["status"] == mon.TOO_FEW  # both under 5
    assert _last([1] * 8 + [3])["trailing_has_small"] is True
    assert mon.drift_warning("x", 3, 3.0, mon.TOO_FEW, 8, 5) is None


def test_drift_needs_history_and_ignores_weeks_before_the_data() -> None:
    assert _last([8, 25])["status"] == mon.NO_HISTORY  # one earlier week < max(2, 8 // 2)
    start = dt.date(2025, 1, 5)
    # Data starts in week 5: the four zero weeks before it are not averaged in.
    row = _last([0, 0, 0, 0, 8, 8, 8, 8, 8], history_start=start + dt.timedelta(days=28))
    assert row["trailing_weeks_used"] == 4
    assert row["trailing_mean"] == pytest.approx(8.0)
    assert row["status"] == mon.WITHIN


def _groups() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "attribute_name": ["estate"] * 5,
            "group_name": ["A", "B", "C", "D", "not recorded"],
            "homes": [100, 50, 3, 30, 500],
            "households_listed": [10, 10, 0, 0, 1],
            "reviews_referred": [5, 12, 0, 0, 0],
            "reviews_no_concern": [5, 8, 0, 0, 0],
        }
    )


def test_disparity_against_the_largest_recorded_group() -> None:
    table = mon.disparity(_groups(), max_ratio=1.25, threshold=5)
    rows = {r["group_name"]: r for r in table.iter_rows(named=True)}
    a, b, c, d = rows["A"], rows["B"], rows["C"], rows["D"]
    assert a["is_reference"] and a["reference_group"] == "A"  # 'not recorded' is never the reference
    assert a["listing_rate_per_1000"] == pytest.approx(100.0)  # 10 / 100 x 1000
    assert b["listing_rate_per_1000"] == pytest.approx(200.0)  # 10 / 50 x 1000
    assert b["listing_disparity"] == pytest.approx(2.0)  # 200 / 100
    assert b["listing_flag"] == "higher"
    assert b["precision_disparity"] == pytest.approx(1.2)  # (12 / 20) / (5 / 10), inside 1.25
    assert b["precision_flag"] == "ok"
    assert c["listing_small"] and c["listing_flag"] == "too small to assess"  # 3 homes
    # D: 30 homes x 100 per 1,000 = 3 listings expected, under 5: a zero there means nothing.
    assert d["listing_flag"] == "too small to assess"
    assert rows["not recorded"]["listing_small"]  # 1 listed


def test_precision_from_a_small_count_is_not_assessed() -> None:
    groups = _groups().with_columns(pl.Series("reviews_no_concern", [5, 4, 0, 0, 0]))
    b = mon.disparity(groups, max_ratio=1.25, threshold=5).row(1, named=True)
    assert b["precision_small"] and b["precision_flag"] == "too small to assess"  # 4 no_concern


def test_fairness_findings_and_warning_text() -> None:
    findings = mon.fairness_findings(mon.disparity(_groups(), max_ratio=1.25, threshold=5))
    assert [(f.group, f.measure) for f in findings] == [("B", "listing rate")]
    text = mon.fairness_warning(findings[0], 1.25)
    assert text.startswith("Listing rate for estate 'B' is 2.00x that of the reference group 'A'")


def test_lower_disparity_is_flagged_below_the_reciprocal() -> None:
    groups = pl.DataFrame(
        {
            "attribute_name": ["property_type"] * 2,
            "group_name": ["flat", "house"],
            "homes": [1000, 500],
            "households_listed": [100, 35],
            "reviews_referred": [0, 0],
            "reviews_no_concern": [0, 0],
        }
    )
    house = mon.disparity(groups, max_ratio=1.25, threshold=5).row(1, named=True)
    assert house["listing_disparity"] == pytest.approx(0.7)  # (35 / 500) / (100 / 1000) < 1 / 1.25 = 0.8
    assert house["listing_flag"] == "lower"
    assert house["precision_flag"] == "too small to assess"  # nobody decided
