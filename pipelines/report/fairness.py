"""The report's listing rates by estate and property type, and its fairness audit (Aequitas-style
disparity of listing rate and precision against the largest group; household age band when recorded).

Protected characteristics and their stand-ins are used here for auditing only, never for scoring.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from models import monitoring as mon
from pipelines.report.charts import disparity_chart, group_bars
from pipelines.report.model import Cell, Column, Context, Section, Table
from pipelines.report.sections import frame_rows, unless_small

_ATTRIBUTE_TITLES = {"estate": "Estate", "property_type": "Property type", "age_band": "Household age band"}


def groups_sections(data: dict[str, Any], ctx: Context) -> tuple[Section, Section, int]:
    """The listing-rate section and the fairness section, and the number of fairness findings."""
    mset = ctx.settings.monitoring
    table = mon.disparity(data["groups"], max_ratio=mset.fairness_max_ratio, threshold=ctx.threshold)
    rates = Section(
        "rates",
        "Listing rates by estate and property type",
        f"Households listed at least once in these {ctx.weeks} weeks per 1,000 homes in the group "
        "(homes known on the last day; communal references excluded). The dashed line is the whole landlord.",
    )
    fair = Section(
        "fairness",
        "Fairness audit",
        "Aequitas-style disparity: each group's listing rate and precision divided by the reference group's "
        f"(the largest group). Beyond {mset.fairness_max_ratio:g}x or under 1/{mset.fairness_max_ratio:g} is "
        "flagged. A difference is a question to look into, not proof of bias: repairs are recorded "
        "differently by estate, contractor and building type. Groups too small for a ratio to mean anything "
        "are marked so.",
    )
    attributes = list(dict.fromkeys(table["attribute_name"].to_list()))
    for attribute in ("estate", "property_type"):
        if attribute not in attributes:
            attributes.append(attribute)
    all_homes = data["groups"].filter(pl.col("attribute_name") == "property_type")
    homes_total = int(all_homes["homes"].sum() or 0)
    listed_total = int(all_homes["households_listed"].sum() or 0)
    overall = mon.rate_per_1000(listed_total, homes_total)
    fair_rows: list[dict[str, Cell]] = []
    for attribute in attributes:
        title = _ATTRIBUTE_TITLES.get(attribute, attribute)
        mine = [r for r in frame_rows(table) if r["attribute_name"] == attribute]
        if attribute in ("estate", "property_type"):
            rate_rows: list[dict[str, Cell]] = [
                {
                    "group": r["group_name"],
                    "homes": ctx.count(r["homes"]),
                    "households_listed": ctx.count(r["households_listed"]),
                    "listing_rate_per_1000": unless_small(r["listing_rate_per_1000"], r["listing_small"]),
                }
                for r in mine
            ]
            rates.charts.append(
                group_bars(
                    f"Households listed per 1,000 homes, by {title.lower()}",
                    "Households listed per 1,000 homes",
                    title,
                    [str(r["group"]) for r in rate_rows],
                    [r["listing_rate_per_1000"] for r in rate_rows],
                    f"Over the {ctx.weeks} weeks of this report. Groups with "
                    f"{mon.suppressed_label(ctx.threshold)} homes or listings show no bar.",
                    threshold=ctx.threshold,
                    reference=overall if not ctx.small(listed_total) else None,
                )
            )
            rates.tables.append(
                Table(
                    f"rates_by_{attribute}",
                    f"Listing rate by {title.lower()}",
                    [
                        Column("group", title, "label", f"the {title.lower()} ('not recorded' when blank)"),
                        Column("homes", "Homes", "count", "homes in the group on the last day"),
                        Column("households_listed", "Households listed", "count", "listed at least once"),
                        Column(
                            "listing_rate_per_1000",
                            "Per 1,000 homes",
                            "rate",
                            "households listed per 1,000 homes",
                        ),
                    ],
                    rate_rows,
                )
            )
        chart_rows = []
        for r in mine:
            row: dict[str, Cell] = {
                "attribute": attribute,
                "group": r["group_name"],
                "is_reference": "yes" if r["is_reference"] else "",
                "listing_rate_per_1000": unless_small(r["listing_rate_per_1000"], r["listing_small"]),
                "listing_disparity": _assessed(r["listing_disparity"], r["listing_flag"], r["listing_small"]),
                "listing_assessment": r["listing_flag"],
                "precision": unless_small(r["precision"], r["precision_small"]),
                "precision_disparity": _assessed(
                    r["precision_disparity"], r["precision_flag"], r["precision_small"]
                ),
                "precision_assessment": r["precision_flag"],
            }
            fair_rows.append(row)
            chart_rows.append(
                {
                    "group_name": r["group_name"],
                    "listing_disparity_shown": row["listing_disparity"],
                    "precision_disparity_shown": row["precision_disparity"],
                }
            )
        if mine:
            fair.charts.append(
                disparity_chart(
                    f"Disparity against the reference group, by {title.lower()}",
                    title,
                    chart_rows,
                    mset.fairness_max_ratio,
                    "Only groups large enough to assess are plotted; the shaded band is acceptable.",
                )
            )
    fair.tables.append(
        Table(
            "fairness",
            "Disparity by group",
            [
                Column("attribute", "Attribute", "label", "estate, property_type or age_band"),
                Column("group", "Group", "label", "the group"),
                Column("is_reference", "Reference", "label", "yes for the reference (largest) group"),
                Column(
                    "listing_rate_per_1000",
                    "Listed per 1,000",
                    "rate",
                    "households listed per 1,000 in the group",
                ),
                Column("listing_disparity", "Listing disparity", "ratio", "group rate / reference rate"),
                Column(
                    "listing_assessment", "Listing check", "label", "ok, higher, lower or too small to assess"
                ),
                Column("precision", "Precision", "share", "new_concern_referred / (that + no_concern)"),
                Column(
                    "precision_disparity",
                    "Precision disparity",
                    "ratio",
                    "group precision / reference precision",
                ),
                Column(
                    "precision_assessment",
                    "Precision check",
                    "label",
                    "ok, higher, lower or too small to assess",
                ),
            ],
            fair_rows,
        )
    )
    findings = mon.fairness_findings(table)
    fair.warnings.extend(mon.fairness_warning(f, mset.fairness_max_ratio) for f in findings)
    if not data["has_age_band"]:
        fair.notes.append(
            "No household age band is recorded in the tenancies extract, so the audit cannot look at age. "
            "If a landlord adds an age_band column to tenancies, this section includes it automatically."
        )
    return rates, fair, len(findings)


def _assessed(value: float | None, flag: str, small: bool) -> Cell:
    if small:
        return mon.SUPPRESSED_RATE
    if flag == "too small to assess":
        return None
    return value
