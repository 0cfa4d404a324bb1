"""The report's "Learning from outcomes" section: the outcome-trained re-ranker week by week (whether it ordered
the list, whom it moved on and off, reviewers' precision of the list and of those it moved on), and listing rates
by estate and property type with it on (the published lists) against off (what the rules alone would have listed).
"""

from __future__ import annotations

from typing import Any

from models import monitoring as mon
from pipelines.report.model import Cell, Column, Context, Section, Table, week_label
from pipelines.report.sections import frame_rows


def learning_section(data: dict[str, Any], ctx: Context) -> Section:
    """The section from ``data["learning_weekly"]`` and ``data["learning_groups"]`` (and ``data["groups"]`` for
    the homes per group)."""
    section = Section(
        "learning",
        "Learning from outcomes",
        "The outcome-trained re-ranker (off unless outcomes.learning_enabled is on and enough outcomes exist) "
        "only reorders the households the rules made eligible. Outcomes exist only for listed households, so it "
        "learns only from what the rules showed reviewers; households unlike any reviewed keep the rules' order. "
        "Here: each week whether it ordered the list, the households it moved onto the list and off it, and "
        "reviewers' precision (new concerns referred / (that + no concern)) of the whole list and of the "
        "households it moved on.",
    )
    weekly = data["learning_weekly"]
    rows: list[dict[str, Cell]] = []
    for r in frame_rows(weekly):
        ref, no = int(r["referred"]), int(r["no_concern"])
        mref, mno = int(r["moved_on_referred"]), int(r["moved_on_no_concern"])
        rows.append(
            {
                "week_ending": week_label(r["week_ending"]),
                "active": "yes" if r["learning_active"] else "no",
                "listed": ctx.count(int(r["listed"])),
                "moved_on": ctx.count(int(r["moved_on"])),
                "moved_off": ctx.count(int(r["moved_off"])),
                "precision": ctx.rate(mon.precision(ref, no), ref, no),
                "moved_on_precision": ctx.rate(mon.precision(mref, mno), mref, mno),
            }
        )
    section.tables.append(
        Table(
            "learning_weekly",
            "The re-ranker week by week",
            [
                Column("week_ending", "Week ending", "label", "the list's week"),
                Column("active", "Active", "label", "yes when the re-ranker ordered the week's list"),
                Column("listed", "Listed", "count", "households on the week's list"),
                Column("moved_on", "Moved on", "count", "listed with the re-ranker, not by the rules alone"),
                Column(
                    "moved_off", "Moved off", "count", "listed by the rules alone, carried with the re-ranker"
                ),
                Column("precision", "Precision", "share", "of the list: referred / (referred + no concern)"),
                Column(
                    "moved_on_precision",
                    "Precision of those moved on",
                    "share",
                    "of the households it moved onto the list",
                ),
            ],
            rows,
        )
    )
    if weekly.height == 0:
        section.notes.append(
            "No list in these weeks kept its households' features (published before issue 22)."
        )
    elif not bool(weekly["learning_active"].any()):
        section.notes.append(
            "The re-ranker did not order any list in these weeks (switched off, or too few outcomes): the lists "
            "were the rules' alone."
        )
    homes = data["groups"].select("attribute_name", "group_name", "homes")
    groups = data["learning_groups"].join(homes, on=["attribute_name", "group_name"], how="left")
    group_rows: list[dict[str, Cell]] = []
    max_ratio = ctx.settings.monitoring.fairness_max_ratio
    for r in frame_rows(groups):
        on, off, n = int(r["listed_on"]), int(r["listed_off"]), r["homes"]
        rate_on = ctx.rate(mon.rate_per_1000(on, n) if n else None, on)
        rate_off = ctx.rate(mon.rate_per_1000(off, n) if n else None, off)
        small = ctx.small(on) or ctx.small(off)
        change = None if small or off == 0 else on / off
        group_rows.append(
            {
                "attribute": r["attribute_name"],
                "group": r["group_name"],
                "homes": ctx.count(n),
                "rate_on": rate_on,
                "rate_off": rate_off,
                "ratio": mon.SUPPRESSED_RATE if small else change,
                "check": "too small to assess"
                if change is None
                else ("ok" if 1 / max_ratio <= change <= max_ratio else "changed"),
            }
        )
        if change is not None and not 1 / max_ratio <= change <= max_ratio:
            section.warnings.append(
                f"With the re-ranker on, {r['attribute_name'].replace('_', ' ')} '{r['group_name']}' was listed "
                f"{change:.2f} times as often as the rules alone would have listed it (beyond {max_ratio:g}x)."
            )
    section.tables.append(
        Table(
            "learning_groups",
            "Listing rates with the re-ranker on against off",
            [
                Column("attribute", "Attribute", "label", "estate or property_type"),
                Column("group", "Group", "label", "the group"),
                Column("homes", "Homes", "count", "homes in the group on the last day"),
                Column(
                    "rate_on", "Listed per 1,000 (on)", "rate", "households listed at least once, published"
                ),
                Column(
                    "rate_off", "Listed per 1,000 (off)", "rate", "as the rules alone would have listed them"
                ),
                Column("ratio", "On / off", "ratio", "listed on / listed off"),
                Column("check", "Check", "label", f"ok within {max_ratio:g}x either way"),
            ],
            group_rows,
            html_recent_weeks=None,
        )
    )
    return section
