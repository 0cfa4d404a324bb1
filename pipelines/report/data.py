"""Reading the report's marts (``sql/marts/monitoring_*.sql``) for one report's weeks.

Returns polars frames of aggregates only; which list is each week's and each listed household's outcomes are
worked out once, in the temporary tables of ``LIST_MODELS``, before the marts that read them run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import duckdb
import polars as pl

from models import monitoring as mon
from pipelines.report.model import MAX_RUNS, Context
from pipelines.warehouse.connection import materialise_model, model_sql, query

# The weekly lists and their rows, shared by the list, review, outcome and group marts, and the properties and
# tenancies as known on the last day, shared by the group marts: materialised as temporary tables, in this
# order, before those marts run.
LIST_MODELS = (
    "intermediate/monitoring__weekly_lists",
    "intermediate/monitoring__list_rows",
    "intermediate/monitoring__properties",
    "intermediate/monitoring__tenancies",
)


def materialise_list_models(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any]) -> None:
    """Create the temporary tables the list marts read (``$last_day`` and ``$weeks`` set the weeks)."""
    for model in LIST_MODELS:
        materialise_model(con, model, params)


def _model(con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any]) -> pl.DataFrame:
    text = model_sql(f"marts/{name}")
    return query(con, text, {k: v for k, v in params.items() if f"${k}" in text})


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    found = query(
        con,
        "select count(*) as n from information_schema.columns where table_name = $t and column_name = $c",
        {"t": table, "c": column},
    )
    return bool(found["n"][0])


def read_marts(con: duckdb.DuckDBPyConnection, ctx: Context) -> dict[str, Any]:
    """The monitoring marts for the report's weeks, as frames keyed by topic (one row per week and
    team, category, extract or group; counts unsuppressed: sections suppress them), plus ``has_age_band``
    and ``history_start`` (the first repairs extract date)."""
    mset = ctx.settings.monitoring
    params = {
        "last_day": ctx.last_day,
        "weeks": ctx.weeks,
        "today": ctx.today,
        "within_working_days": ctx.settings.outcomes.review_within_working_days,
        # Lists of the report's weeks were published after their week ended; a week's margin either side.
        "bank_holidays": mon.bank_holidays(ctx.last_day - dt.timedelta(weeks=ctx.weeks + 1), ctx.today),
        "max_runs": MAX_RUNS,
    }
    materialise_list_models(con, params)
    data: dict[str, Any] = {
        "ingest": _model(con, "monitoring_ingest_weekly", params),
        "quarantine": _model(con, "monitoring_quarantine_reasons", params),
        "flags": _model(
            con, "monitoring_flags_weekly", {**params, "weeks": ctx.weeks + mset.drift_trailing_weeks}
        ),
        "lists": _model(con, "monitoring_lists_weekly", params),
        "reviews": _model(con, "monitoring_reviews_weekly", params),
        "outcomes": _model(con, "monitoring_outcomes_weekly", params),
        "groups": _model(con, "monitoring_groups", params),
        "runs": _model(con, "monitoring_runs", params),
        "learning_weekly": _model(
            con,
            "monitoring_learning_weekly",
            {
                "positive_values": [v.lower() for v in ctx.settings.outcomes.positive_values],
                "negative_values": [v.lower() for v in ctx.settings.outcomes.negative_values],
            },
        ),
        "learning_groups": _model(con, "monitoring_learning_groups", params),
        "has_age_band": _has_column(con, "raw_tenancies", "age_band"),
    }
    if data["has_age_band"]:
        data["groups"] = pl.concat([data["groups"], _model(con, "monitoring_groups_age_band", params)])
    first = query(con, "select min(known_on) as first_known_on from raw_repairs")["first_known_on"][0]
    data["history_start"] = first
    return data


# ----------------------------------------------------------------------------------------------------
# Charts
