"""The report's "this week" box: one line per topic for the week ending the report's last day, and the same
facts as the ``summary`` table (label values: counts already shown as "fewer than N" where small).
"""

from __future__ import annotations

from typing import Any

from models import monitoring as mon
from pipelines.report.model import Cell, Column, Context, Table, week_label
from pipelines.report.sections import frame_rows, team_keys


def this_week_summary(
    data: dict[str, Any], ctx: Context, precision_counts: dict[str, tuple[int, int]]
) -> tuple[list[str], Table]:
    """The "this week" lines and the ``summary`` table of the same facts."""
    w = ctx.last_day
    facts: list[tuple[str, Cell]] = []
    ingest = {r["week_ending"]: r for r in frame_rows(data["ingest"])}.get(w, {})
    files = ingest.get("files_loaded", 0)
    quarantined = ctx.count(ingest.get("rows_quarantined", 0))
    lines = [f"{files} extract files loaded; {quarantined} rows quarantined."]
    facts += [("extract files loaded this week", files), ("rows quarantined this week", quarantined)]

    flags = {r["category"]: r["flags"] for r in frame_rows(data["flags"]) if r["week_ending"] == w}
    lines.append(
        "Red-flag repairs reported: " + ", ".join(f"{c} {ctx.count(n)}" for c, n in flags.items()) + "."
    )
    facts += [(f"{c} repairs this week", ctx.count(n)) for c, n in flags.items()]

    lists = {r["team"]: r for r in frame_rows(data["lists"]) if r["week_ending"] == w}
    parts = []
    for team in team_keys(data, ctx):
        r = lists.get(team, {})
        listed, carried = ctx.count(r.get("households_listed", 0)), ctx.count(r.get("carried_forward", 0))
        cap = ctx.capacity(team)
        parts.append(
            f"{ctx.team_label(team)} {listed} of capacity {cap if cap is not None else 'not set'}"
            f" ({carried} carried forward)"
        )
        facts += [
            (f"{team} listed this week", listed),
            (f"{team} capacity", cap),
            (f"{team} carried forward this week", carried),
        ]
    lines.append("Review list: " + "; ".join(parts) + ".")

    within = ctx.settings.outcomes.review_within_working_days
    reviews = frame_rows(data["reviews"])
    due_weeks = sorted({r["week_ending"] for r in reviews if r["awaiting_review"] < r["households_listed"]})
    if due_weeks:
        dw = due_weeks[-1]
        parts = []
        for r in (r for r in reviews if r["week_ending"] == dw):
            due = ctx.count(r["households_listed"] - r["awaiting_review"])
            on_time, late, overdue = (
                ctx.count(r[k]) for k in ("reviewed_on_time", "reviewed_late", "overdue")
            )
            parts.append(
                f"{ctx.team_label(r['team'])} {on_time} of {due} on time, {late} late, {overdue} overdue"
            )
            facts += [
                (f"{r['team']} reviews due for the week ending {dw}", due),
                (f"{r['team']} reviewed on time", on_time),
                (f"{r['team']} reviewed late", late),
                (f"{r['team']} overdue", overdue),
            ]
        lines.append(
            f"Reviews of the list for the week ending {week_label(dw)} (due within {within} working days): "
            + "; ".join(parts)
            + "."
        )
    awaiting = [r for r in reviews if r["week_ending"] == w and r["awaiting_review"]]
    if awaiting:
        lines.append(
            "This week's list, not yet due: "
            + "; ".join(f"{ctx.team_label(r['team'])} {ctx.count(r['awaiting_review'])}" for r in awaiting)
            + " households awaiting review."
        )
    parts = []
    for team, (ref, no) in precision_counts.items():
        if ref + no == 0:
            continue
        prec = ctx.rate(mon.precision(ref, no), ref, no)
        parts.append(
            f"{ctx.team_label(team)} {_fmt_share(prec)} ({ctx.count(ref)} new concerns referred, "
            f"{ctx.count(no)} no concern)"
        )
        facts += [
            (f"{team} precision over the report", prec),
            (f"{team} new concerns referred", ctx.count(ref)),
        ]
    lines.append(
        f"Precision over the {ctx.weeks} weeks: " + ("; ".join(parts) if parts else "no decisions yet") + "."
    )
    tst = ctx.settings.routing.tst_team
    routed = lists.get(tst, {}).get("households_listed", 0)
    lines.append(f"Routed to the Tenancy Support Team this week: {ctx.count(routed)}.")
    facts.append(("routed to the TST this week", ctx.count(routed)))
    runs = frame_rows(data["runs"])
    if runs:
        r = runs[0]
        lines.append(
            f"Last pipeline run: {r['kind']}, {r['status']}, started {r['started_at']:%d %b %Y %H:%M}."
        )
        facts.append(("last run status", f"{r['kind']}: {r['status']}"))
    else:
        lines.append("No pipeline runs are recorded.")
    table = Table(
        "summary",
        "This week at a glance",
        [
            Column("measure", "Measure", "label", "what is counted (week ending the report's last day)"),
            Column("value", "Value", "label", "counts 1 to threshold - 1 shown as 'fewer than N'"),
        ],
        [{"measure": m, "value": v} for m, v in facts],
        in_html=False,
    )
    return lines, table


# ----------------------------------------------------------------------------------------------------
# Writing


def _fmt_share(value: Cell) -> str:
    return (
        f"{100 * value:.0f}%"
        if isinstance(value, float)
        else ("not yet known" if value is None else str(value))
    )
