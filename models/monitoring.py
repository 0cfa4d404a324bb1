"""Pure helpers for the managers' monitoring report: small-number suppression, drift and fairness ratios.

Nothing here reads files, databases or configuration: the report writer passes plain values in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

SUPPRESSED_RATE = "suppressed"

# Drift statuses, in the words the report shows.
ABOVE = "above band"
BELOW = "below band"
WITHIN = "within band"
NEW = "new this week"
TOO_FEW = "too few to tell"
NO_HISTORY = "not enough history"


def suppressed_label(threshold: int) -> str:
    """What a suppressed count shows instead of its value: "fewer than 5" for a threshold of 5."""
    return f"fewer than {threshold}"


def is_small(count: int | None, threshold: int) -> bool:
    """True for counts from 1 to threshold - 1, the ones that could point to a person; zero is not small."""
    return count is not None and 0 < count < threshold


def shown_count(count: int | None, threshold: int) -> int | str | None:
    """A count as it may be shown: the count itself, or "fewer than N" for 1 to N - 1."""
    if count is None:
        return None
    return suppressed_label(threshold) if is_small(count, threshold) else int(count)


def shown_total(parts: Iterable[int], threshold: int) -> int | str:
    """The sum of parts shown beside them: suppressed when any part is small, so it cannot reveal it."""
    values = list(parts)
    if any(is_small(v, threshold) for v in values):
        return SUPPRESSED_RATE
    return shown_count(sum(values), threshold) or 0


def shown_rate(value: float | None, parts: Iterable[int | None], threshold: int) -> float | str | None:
    """A rate derived from counts: "suppressed" when any of those counts is small (no back-calculation)."""
    if any(is_small(p, threshold) for p in parts):
        return SUPPRESSED_RATE
    return value


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is zero."""
    return None if denominator == 0 else numerator / denominator


def precision(referred: int, no_concern: int) -> float | None:
    """new_concern_referred / (new_concern_referred + no_concern); None before any decision."""
    return ratio(referred, referred + no_concern)


def rate_per_1000(count: int, population: int) -> float | None:
    """count per 1,000 of population (homes or households); None for an empty population."""
    value = ratio(count, population)
    return None if value is None else 1000 * value


def last_week_ending(today: dt.date, weekday: int = 6) -> dt.date:
    """The last day on or before ``today`` that is ``weekday`` (Monday 0 .. Sunday 6)."""
    return today - dt.timedelta(days=(today.weekday() - weekday) % 7)


def bank_holidays(first: dt.date, last: dt.date) -> list[dt.date]:
    """England and Wales bank holidays from ``first`` to ``last`` (inclusive), in date order.

    The one calendar of non-working weekdays: :func:`working_days_after` uses it, and the report passes it to
    sql/marts/monitoring_reviews_weekly.sql as ``$bank_holidays`` (a substitute day for a holiday on a weekend
    is included, as the ``holidays`` package lists it).
    """
    import holidays

    if last < first:
        return []
    calendar = holidays.country_holidays("GB", subdiv="ENG", years=range(first.year, last.year + 1))
    return sorted(d for d in calendar if first <= d <= last)


def working_days_after(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]: Mondays to Fridays that are not England and Wales bank holidays;
    0 when end is not after start. The same rule as sql/marts/monitoring_reviews_weekly.sql."""
    days = (end - start).days
    if days <= 0:
        return 0
    closed = set(bank_holidays(start + dt.timedelta(days=1), end))
    return sum(
        1
        for i in range(1, days + 1)
        if (day := start + dt.timedelta(days=i)).weekday() < 5 and day not in closed
    )


def drift(
    weekly: pl.DataFrame,
    *,
    trailing_weeks: int,
    band_ratio: float,
    min_count: int,
    history_start: dt.date | None = None,
) -> pl.DataFrame:
    """Each category's weekly count against the mean of its previous ``trailing_weeks`` weeks.

    Input: ``week_ending`` (date), ``category`` (str), ``flags`` (int), one row per week and category,
    every week present (zero-filled). Weeks before ``history_start`` (when data begins) are not zeros.
    Output, one row per input row: ``trailing_weeks_used``; ``trailing_mean`` (flags per week, None
    without history); ``ratio`` (flags / trailing_mean, None when the mean is 0); ``trailing_has_small``
    (a trailing week had 1 to min_count - 1 flags, so showing the mean could reveal it); ``status``:
    above / below band (ratio beyond ``band_ratio`` or under its reciprocal), within band, new this week
    (none before, at least ``min_count`` now), too few to tell (this week and the mean both under
    ``min_count``), not enough history (fewer than max(2, trailing_weeks // 2) earlier weeks).
    """
    need = max(2, trailing_weeks // 2)
    rows: list[dict[str, object]] = []
    for (category,), group in weekly.sort("week_ending").group_by(["category"], maintain_order=True):
        weeks = group["week_ending"].to_list()
        counts = [int(c) for c in group["flags"].to_list()]
        for i, (week, flags) in enumerate(zip(weeks, counts, strict=True)):
            window = [
                counts[j]
                for j in range(max(0, i - trailing_weeks), i)
                if history_start is None or weeks[j] >= history_start
            ]
            mean = sum(window) / len(window) if window else None
            value = None if not mean else flags / mean
            if len(window) < need or mean is None:
                status = NO_HISTORY
            elif max(flags, mean) < min_count:
                status = TOO_FEW
            elif value is None:
                status = NEW
            elif value > band_ratio:
                status = ABOVE
            elif value < 1 / band_ratio:
                status = BELOW
            else:
                status = WITHIN
            rows.append(
                {
                    "week_ending": week,
                    "category": category,
                    "flags": flags,
                    "trailing_weeks_used": len(window),
                    "trailing_mean": mean,
                    "ratio": value,
                    "trailing_has_small": any(is_small(c, min_count) for c in window),
                    "status": status,
                }
            )
    schema = {
        "week_ending": pl.Date,
        "category": pl.String,
        "flags": pl.Int64,
        "trailing_weeks_used": pl.Int64,
        "trailing_mean": pl.Float64,
        "ratio": pl.Float64,
        "trailing_has_small": pl.Boolean,
        "status": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


_DRIFT_CAUSE_UP = "check for a new contractor's wording or a classifier change"
_DRIFT_CAUSE_DOWN = "check whether a repairs extract is missing or late, or a classifier change"


def drift_warning(
    category: str, flags: int, ratio_: float | None, status: str, trailing_weeks: int, threshold: int
) -> str | None:
    """The plain-language warning for one category's week, or None when it is within its band.

    A ratio is quoted only when this week's count is not suppressed (ratio x mean would reveal it).
    """
    label = category.replace("_", " ")
    span = f"{trailing_weeks}-week average"
    if status == ABOVE and ratio_ is not None:
        return f"{category} flags this week are {ratio_:.1f}x their {span}: {_DRIFT_CAUSE_UP}"
    if status == NEW:
        return (
            f"{category} flags: {flags} this week after none in the previous {trailing_weeks} weeks: "
            f"{_DRIFT_CAUSE_UP}"
        )
    if status == BELOW:
        if flags == 0:
            return f"no {label} flags this week, against their {span}: {_DRIFT_CAUSE_DOWN}"
        if is_small(flags, threshold) or ratio_ is None:
            return (
                f"{category} flags this week are {suppressed_label(threshold)}, far under their "
                f"{trailing_weeks}-week average: {_DRIFT_CAUSE_DOWN}"
            )
        return f"{category} flags this week are {ratio_:.1f}x their {span}: {_DRIFT_CAUSE_DOWN}"
    return None


@dataclass(frozen=True)
class FairnessFinding:
    attribute: str
    group: str
    measure: str
    disparity: float
    reference: str


def disparity(groups: pl.DataFrame, *, max_ratio: float, threshold: int) -> pl.DataFrame:
    """Aequitas-style disparity of listing rate and precision of each group against a reference group.

    Input, one row per ``attribute_name`` and ``group_name``: ``homes`` (the group's population),
    ``households_listed``, ``reviews_referred``, ``reviews_no_concern``. The reference group is the
    largest population in the attribute ('not recorded' never is).

    Output adds: ``listing_rate_per_1000``; ``precision``; ``is_reference``; ``reference_group``;
    ``listing_disparity`` = group rate / reference rate; ``precision_disparity`` likewise;
    ``listing_small`` / ``precision_small`` (a count behind the value is 1 to threshold - 1, so the
    value must be suppressed); ``listing_flag`` / ``precision_flag``: "higher" beyond ``max_ratio``,
    "lower" under ``1 / max_ratio``, "ok", or "too small to assess" (fewer than ``threshold`` listings
    expected at the reference rate, or fewer than ``threshold`` decided reviews, or a suppressed value:
    a warning must not reveal one).
    """
    out: list[dict[str, object]] = []
    for _, group in groups.group_by(["attribute_name"], maintain_order=True):
        records = group.to_dicts()
        candidates = [r for r in records if r["group_name"] != "not recorded" and r["homes"] > 0]
        # The largest group; ties go to the first name alphabetically.
        ref = min(candidates, key=lambda r: (-r["homes"], r["group_name"]), default=None)
        ref_rate = rate_per_1000(ref["households_listed"], ref["homes"]) if ref else None
        ref_prec = precision(ref["reviews_referred"], ref["reviews_no_concern"]) if ref else None
        ref_listing_small = ref is None or any(
            is_small(ref[k], threshold) for k in ("homes", "households_listed")
        )
        ref_prec_small = ref is None or any(
            is_small(ref[k], threshold) for k in ("reviews_referred", "reviews_no_concern")
        )
        for r in records:
            rate = rate_per_1000(r["households_listed"], r["homes"])
            prec = precision(r["reviews_referred"], r["reviews_no_concern"])
            listing_small = any(is_small(r[k], threshold) for k in ("homes", "households_listed"))
            precision_small = any(
                is_small(r[k], threshold) for k in ("reviews_referred", "reviews_no_concern")
            )
            is_ref = ref is not None and r["group_name"] == ref["group_name"]
            l_disp = None if rate is None or not ref_rate else rate / ref_rate
            p_disp = None if prec is None or not ref_prec else prec / ref_prec
            expected = (r["homes"] * ref_rate / 1000) if ref_rate else 0.0
            decided = r["reviews_referred"] + r["reviews_no_concern"]
            out.append(
                {
                    **r,
                    "listing_rate_per_1000": rate,
                    "precision": prec,
                    "is_reference": is_ref,
                    "listing_disparity": l_disp,
                    "precision_disparity": p_disp,
                    "listing_small": listing_small,
                    "precision_small": precision_small,
                    "listing_flag": _flag(
                        l_disp, max_ratio, blocked=listing_small or ref_listing_small or expected < threshold
                    ),
                    "precision_flag": _flag(
                        p_disp, max_ratio, blocked=precision_small or ref_prec_small or decided < threshold
                    ),
                    "reference_group": ref["group_name"] if ref else None,
                }
            )
    schema = {
        "attribute_name": pl.String,
        "group_name": pl.String,
        "homes": pl.Int64,
        "households_listed": pl.Int64,
        "reviews_referred": pl.Int64,
        "reviews_no_concern": pl.Int64,
        "listing_rate_per_1000": pl.Float64,
        "precision": pl.Float64,
        "is_reference": pl.Boolean,
        "listing_disparity": pl.Float64,
        "precision_disparity": pl.Float64,
        "listing_small": pl.Boolean,
        "precision_small": pl.Boolean,
        "listing_flag": pl.String,
        "precision_flag": pl.String,
        "reference_group": pl.String,
    }
    return pl.DataFrame(out, schema=schema, orient="row")


def _flag(value: float | None, max_ratio: float, *, blocked: bool) -> str:
    if blocked or value is None:
        return "too small to assess"
    if value > max_ratio:
        return "higher"
    if value < 1 / max_ratio:
        return "lower"
    return "ok"


def fairness_findings(table: pl.DataFrame) -> list[FairnessFinding]:
    """The groups whose listing rate or precision is beyond the band, from :func:`disparity`'s output."""
    findings = []
    for r in table.iter_rows(named=True):
        for measure, flag_col, disp_col in (
            ("listing rate", "listing_flag", "listing_disparity"),
            ("precision", "precision_flag", "precision_disparity"),
        ):
            if r[flag_col] in ("higher", "lower"):
                findings.append(
                    FairnessFinding(
                        r["attribute_name"], r["group_name"], measure, r[disp_col], r["reference_group"]
                    )
                )
    return findings


def fairness_warning(f: FairnessFinding, max_ratio: float) -> str:
    """One sentence for a manager about a disparity beyond ``max_ratio`` (or under its reciprocal)."""
    attribute = f.attribute.replace("_", " ")
    direction = "higher" if f.disparity > 1 else "lower"
    if f.measure == "listing rate":
        advice = (
            "check whether repairs are recorded differently there (a contractor, a planned programme) "
            "before reading it as a difference in need"
        )
    else:
        advice = "check whether reviewers there decide differently, or the list is less accurate there"
    return (
        f"{f.measure.capitalize()} for {attribute} '{f.group}' is {f.disparity:.2f}x that of the "
        f"reference group '{f.reference}' ({direction} than the {max_ratio:g}x band allows): {advice}"
    )
