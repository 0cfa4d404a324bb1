"""The report's sections about the lists and what reviewers did with them: list size against capacity,
reviews on time, outcomes and precision, referrals to the Tenancy Support Team.

Per team and week; never summed over teams beside per-team figures (a sum could reveal a suppressed part).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from models import monitoring as mon
from pipelines.report.charts import stacked_weekly_bars, weekly_lines
from pipelines.report.model import ROLLING_PRECISION_WEEKS, Cell, Column, Context, Section, Table
from pipelines.report.sections import capacity_line, frame_rows, team_keys, team_week_columns, team_week_row


def lists_section(data: dict[str, Any], ctx: Context) -> Section:
    """Households listed per team and week against capacity, carried forward and waiting 2+ weeks."""
    weeks = ctx.week_endings
    by = {(r["week_ending"], r["team"]): r for r in frame_rows(data["lists"])}
    rows: list[dict[str, Cell]] = []
    for w in weeks:
        for team in team_keys(data, ctx):
            r = by.get((w, team), {})
            rows.append(
                {
                    **team_week_row(w, team, r.get("households_listed", 0), ctx),
                    "capacity": ctx.capacity(team),
                    "carried_forward": ctx.count(r.get("carried_forward", 0)),
                    "waiting_2plus_weeks": ctx.count(r.get("waiting_2plus_weeks", 0)),
                    "complex_cases": ctx.count(r.get("complex_cases", 0)),
                    "lists_published": r.get("lists_published", 0),
                }
            )
    section = Section(
        "lists",
        "Review list size against capacity",
        "Households on each team's list (the last list published for the week) against the team's weekly "
        "capacity, and households above the threshold carried forward because the list was full.",
    )
    for team in team_keys(data, ctx):
        mine = [r for r in rows if r["team"] == team]
        cap = ctx.capacity(team)
        section.charts.append(
            weekly_lines(
                f"{ctx.team_label(team)}: households listed and carried forward",
                "Households",
                weeks,
                [
                    ("listed", [r["households_listed"] for r in mine]),
                    ("carried forward", [r["carried_forward"] for r in mine]),
                    ("waiting 2+ weeks", [r["waiting_2plus_weeks"] for r in mine]),
                ],
                f"Dashed line: capacity per week. Weeks with {mon.suppressed_label(ctx.threshold)} are "
                "left blank.",
                hlines=capacity_line("capacity", cap),
            )
        )
        last = by.get((ctx.last_day, team), {})
        carried = last.get("carried_forward", 0)
        if carried:
            section.warnings.append(
                f"{ctx.team_label(team)}: {ctx.count(carried)} households above the threshold were carried "
                "forward this week because the list was at capacity: consider more review time or a higher "
                "threshold."
            )
    section.tables.append(
        Table(
            "lists_weekly",
            "List size, capacity and carried forward",
            [
                *team_week_columns("the list's week (its as-of date's week)", "team key in the settings"),
                Column(
                    "capacity", "Capacity", "capacity", "households the team can review per week (settings)"
                ),
                Column("carried_forward", "Carried forward", "count", "households above threshold left off"),
                Column(
                    "waiting_2plus_weeks",
                    "Waiting 2+ weeks",
                    "count",
                    "carried forward this week and the week before (the backlog not moving)",
                ),
                Column(
                    "complex_cases", "Complex cases", "count", "listed households with several complex issues"
                ),
                Column(
                    "lists_published", "Lists published", "machine", "lists published for the week (re-runs)"
                ),
            ],
            rows,
        )
    )
    return section


def reviews_section(data: dict[str, Any], ctx: Context) -> Section:
    """Reviews per team and week: on time, late, overdue, awaiting; the share of due ones on time."""
    weeks = ctx.week_endings
    within = ctx.settings.outcomes.review_within_working_days
    by = {(r["week_ending"], r["team"]): r for r in frame_rows(data["reviews"])}
    rows: list[dict[str, Cell]] = []
    for w in weeks:
        for team in team_keys(data, ctx):
            r = by.get((w, team))
            if r is None:
                continue
            due = r["households_listed"] - r["awaiting_review"]
            rows.append(
                {
                    **team_week_row(w, team, r["households_listed"], ctx),
                    "reviewed": ctx.count(r["reviewed"]),
                    "reviewed_on_time": ctx.count(r["reviewed_on_time"]),
                    "reviewed_late": ctx.count(r["reviewed_late"]),
                    "overdue": ctx.count(r["overdue"]),
                    "awaiting_review": ctx.count(r["awaiting_review"]),
                    "share_on_time": ctx.rate(
                        mon.ratio(r["reviewed_on_time"], due), r["reviewed_on_time"], due
                    ),
                }
            )
    section = Section(
        "reviews",
        "Reviews completed and on time",
        f"A household counts as reviewed on time when its first outcome is dated within {within} working "
        "days after the list was published (Monday to Friday, not counting England and Wales bank "
        "holidays). Overdue: not reviewed and past that deadline today; awaiting: not yet due.",
    )
    section.charts.append(
        weekly_lines(
            f"Share of due reviews done within {within} working days",
            "Reviewed on time (%)",
            weeks,
            [
                (
                    ctx.team_label(t),
                    [
                        next(
                            (r["share_on_time"] for r in rows if r["team"] == t and r["week_ending"] == w),
                            None,
                        )
                        for w in weeks
                    ],
                )
                for t in team_keys(data, ctx)
            ],
            "Of households whose deadline has passed. Blank where a count behind the share is "
            f"{mon.suppressed_label(ctx.threshold)} or nothing was due.",
            percent=True,
        )
    )
    section.tables.append(
        Table(
            "reviews_weekly",
            "Review completion and timeliness",
            [
                *team_week_columns(),
                Column("reviewed", "Reviewed", "count", "households with an outcome"),
                Column("reviewed_on_time", "On time", "count", f"first outcome within {within} working days"),
                Column("reviewed_late", "Late", "count", "first outcome after the deadline"),
                Column("overdue", "Overdue", "count", "no outcome, deadline passed"),
                Column("awaiting_review", "Awaiting", "count", "no outcome, not yet due"),
                Column("share_on_time", "On time (share of due)", "share", "on time / (listed - awaiting)"),
            ],
            rows,
        )
    )
    for team in team_keys(data, ctx):
        # Weeks, not households: a sum over weeks could reveal a suppressed week.
        overdue_weeks = sum(1 for w in weeks if (w, team) in by and by[(w, team)]["overdue"])
        if overdue_weeks:
            section.warnings.append(
                f"{ctx.team_label(team)}: in {overdue_weeks} of these {len(weeks)} weeks, listed households "
                f"have no outcome recorded and are past the {within}-working-day deadline."
            )
    return section


def outcome_counts(
    data: dict[str, Any], ctx: Context
) -> tuple[list[str], dict[tuple[dt.date, str], dict[str, int]]]:
    """The outcome columns (the settings' values, any others seen, then not_reviewed) and the
    households per outcome for every week and team of the report (zero where none)."""
    values = list(ctx.settings.outcomes.values)
    seen = set(data["outcomes"]["outcome"].to_list()) - set(values) - {"not_reviewed"}
    columns = [*values, *sorted(seen), "not_reviewed"]
    counts: dict[tuple[dt.date, str], dict[str, int]] = {
        (w, team): dict.fromkeys(columns, 0) for w in ctx.week_endings for team in team_keys(data, ctx)
    }
    for r in frame_rows(data["outcomes"]):
        if (r["week_ending"], r["team"]) in counts:
            counts[(r["week_ending"], r["team"])][r["outcome"]] += r["households"]
    return columns, counts


def outcomes_section(data: dict[str, Any], ctx: Context) -> tuple[Section, dict[str, tuple[int, int]]]:
    # Per team, never summed over teams beside per-team figures (a sum could reveal a suppressed part).
    """Outcomes per team and week with precision (weekly and pooled over four weeks), and per team
    the report's new_concern_referred and no_concern totals (for the summary's precision)."""
    weeks = ctx.week_endings
    teams = team_keys(data, ctx)
    columns, counts = outcome_counts(data, ctx)
    rows: list[dict[str, Cell]] = []
    period: dict[str, tuple[int, int]] = {}
    pooled_series: list[tuple[str, list[Cell]]] = []
    for team in teams:
        pooled_values: list[Cell] = []
        for i, w in enumerate(weeks):
            c = counts[(w, team)]
            if not any(c.values()):
                pooled_values.append(None)
                continue
            ref, no = c["new_concern_referred"], c["no_concern"]
            window = [counts[(x, team)] for x in weeks[max(0, i - ROLLING_PRECISION_WEEKS + 1) : i + 1]]
            p_ref = sum(x["new_concern_referred"] for x in window)
            p_no = sum(x["no_concern"] for x in window)
            pooled = ctx.rate(mon.precision(p_ref, p_no), p_ref, p_no)
            pooled_values.append(pooled)
            rows.append(
                {
                    **team_week_row(w, team, sum(c.values()), ctx),
                    **{k: ctx.count(v) for k, v in c.items()},
                    "precision": ctx.rate(mon.precision(ref, no), ref, no),
                    "precision_4_weeks": pooled,
                }
            )
        period[team] = (
            sum(counts[(w, team)]["new_concern_referred"] for w in weeks),
            sum(counts[(w, team)]["no_concern"] for w in weeks),
        )
        pooled_series.append((ctx.team_label(team), pooled_values))
    section = Section(
        "outcomes",
        "Outcomes and the list's precision",
        "What reviewers decided for each week's list (the latest outcome per household). Precision is "
        "new concerns referred / (new concerns referred + no concern): of the households a reviewer could "
        "decide either way, the share where the flag led to a referral. 'Already known' and 'unable to "
        "assess' are left out of it.",
    )
    mix = [
        (
            k.replace("_", " "),
            [mon.shown_total([counts[(w, team)][k] for team in teams], ctx.threshold) for w in weeks],
        )
        for k in columns
    ]
    section.charts.append(
        stacked_weekly_bars(
            "Outcome of each week's list (all teams)",
            "Households",
            weeks,
            mix,
            "A segment is not drawn when it, or one team's part of it, is "
            f"{mon.suppressed_label(ctx.threshold)}.",
        )
    )
    section.charts.append(
        weekly_lines(
            f"Precision of the list, last {ROLLING_PRECISION_WEEKS} weeks pooled",
            "Precision (%)",
            weeks,
            pooled_series,
            f"Each week with the {ROLLING_PRECISION_WEEKS - 1} before it. Blank where a count behind it is "
            "suppressed or nobody was decided yet.",
            percent=True,
        )
    )
    section.tables.append(
        Table(
            "outcomes_weekly",
            "Outcomes per week and team",
            [
                *team_week_columns(),
                *[
                    Column(k, k.replace("_", " "), "count", f"households whose latest outcome is {k}")
                    for k in columns
                ],
                Column(
                    "precision",
                    "Precision",
                    "share",
                    "new_concern_referred / (new_concern_referred + no_concern)",
                ),
                Column(
                    "precision_4_weeks",
                    f"Precision, {ROLLING_PRECISION_WEEKS} weeks",
                    "share",
                    "the same over this and the previous three weeks pooled",
                ),
            ],
            rows,
        )
    )
    return section, period


def tst_section(data: dict[str, Any], ctx: Context) -> Section:
    """Households routed to the Tenancy Support Team per week, and those taken on as new concerns."""
    weeks = ctx.week_endings
    tst = ctx.settings.routing.tst_team
    lists = {r["week_ending"]: r for r in frame_rows(data["lists"]) if r["team"] == tst}
    reviews = {r["week_ending"]: r for r in frame_rows(data["reviews"]) if r["team"] == tst}
    _, outcomes = outcome_counts(data, ctx)
    rows: list[dict[str, Cell]] = []
    for w in weeks:
        listed = lists.get(w, {}).get("households_listed", 0)
        referred = outcomes.get((w, tst), {}).get("new_concern_referred", 0)
        rows.append(
            {
                "week_ending": w,
                "routed_to_tst": ctx.count(listed),
                "tst_capacity": ctx.capacity(tst),
                "tst_reviewed_on_time": ctx.count(reviews.get(w, {}).get("reviewed_on_time", 0)),
                "new_concerns_referred": ctx.count(referred),
            }
        )
    section = Section(
        "tst",
        "Referrals to the Tenancy Support Team",
        "Households the list routed straight to the Tenancy Support Team (repairs red flags with ASB, "
        "arrears or recharge signals), and of those, the ones the team took on as a new concern.",
    )
    section.charts.append(
        weekly_lines(
            "Referrals to the Tenancy Support Team",
            "Households",
            weeks,
            [
                ("routed to the TST by the list", [r["routed_to_tst"] for r in rows]),
                ("taken on as a new concern", [r["new_concerns_referred"] for r in rows]),
            ],
            f"Dashed line: TST capacity per week. Weeks with {mon.suppressed_label(ctx.threshold)} are "
            "left blank.",
            hlines=capacity_line("TST capacity", ctx.capacity(tst)),
        )
    )
    section.tables.append(
        Table(
            "tst_referrals",
            "Referrals to the Tenancy Support Team",
            [
                Column("week_ending", "Week ending", "date", "the list's week"),
                Column("routed_to_tst", "Routed to the TST", "count", "households on the TST's list"),
                Column("tst_capacity", "TST capacity", "capacity", "households per week (settings)"),
                Column(
                    "tst_reviewed_on_time",
                    "TST reviewed on time",
                    "count",
                    "first outcome within the deadline",
                ),
                Column(
                    "new_concerns_referred",
                    "New concerns referred",
                    "count",
                    "TST households whose outcome is new_concern_referred",
                ),
            ],
            rows,
        )
    )
    return section
