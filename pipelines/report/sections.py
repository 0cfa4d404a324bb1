"""The report's data sections (extracts, red flags, drift, run health) and the helpers every section shares.

Each section function takes the frames of ``data.read_marts`` and the report's ``Context`` and returns a
``Section``: its charts, its tables (one CSV each) and its warnings. Counts go through ``ctx.count`` and rates
through ``ctx.rate``, so small numbers are suppressed before anything is drawn or written.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from models import monitoring as mon
from pipelines.report.charts import runs_chart, weekly_bars, weekly_lines
from pipelines.report.model import (
    FAILED_STATUSES,
    MAX_RUNS,
    Cell,
    Column,
    Context,
    Section,
    Table,
    week_label,
)


def frame_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as dicts."""
    return frame.to_dicts()


def within_weeks(rows: list[dict[str, Any]], ctx: Context) -> list[dict[str, Any]]:
    """The rows whose ``week_ending`` is one of the report's weeks."""
    first = ctx.week_endings[0]
    return [r for r in rows if first <= r["week_ending"] <= ctx.last_day]


def _kind_key(extract: str, reason_kind: str) -> str:
    return f"{extract}__{reason_kind.replace(' ', '_')}"


def unless_small(value: Cell, small: bool) -> Cell:
    """A rate or mean as shown: "suppressed" when a count behind it is small."""
    return mon.SUPPRESSED_RATE if small else value


def capacity_line(label: str, capacity: int | None) -> list[tuple[str, float, str]]:
    """The dashed capacity line of a weekly chart; none when the team has no capacity set."""
    return [(label, float(capacity), "#555555")] if capacity is not None else []


def team_week_row(week: dt.date, team: str, listed: int, ctx: Context) -> dict[str, Cell]:
    """The leading cells of a row of a per-team weekly table (see :func:`team_week_columns`)."""
    return {
        "week_ending": week,
        "team": team,
        "team_label": ctx.team_label(team),
        "households_listed": ctx.count(listed),
    }


def team_week_columns(week_meaning: str = "the list's week", team_meaning: str = "team key") -> list[Column]:
    """The leading columns of a per-team weekly table: the week, the team (key and name), households listed."""
    return [
        Column("week_ending", "Week ending", "date", week_meaning),
        Column("team", "Team", "label", team_meaning, in_html=False),
        Column("team_label", "Team name", "label", "team name"),
        Column("households_listed", "Listed", "count", "households on the list"),
    ]


def ingest_section(data: dict[str, Any], ctx: Context) -> Section:
    """Extract files and rows loaded and quarantined per week, and quarantine problems by kind."""
    weeks = ctx.week_endings
    ingest = {r["week_ending"]: r for r in frame_rows(data["ingest"])}
    rows: list[dict[str, Cell]] = []
    for w in weeks:
        r = ingest.get(w, {})
        rows.append(
            {
                "week_ending": w,
                "files_loaded": r.get("files_loaded", 0),
                "extracts_loaded": r.get("extracts_loaded", 0),
                "rows_loaded": ctx.count(r.get("rows_loaded", 0)),
                "rows_quarantined": ctx.count(r.get("rows_quarantined", 0)),
            }
        )
    problems = frame_rows(data["quarantine"])
    kinds = sorted({(r["extract"], r["reason_kind"]) for r in problems})
    by_kind = {(r["week_ending"], r["extract"], r["reason_kind"]): r["problems"] for r in problems}
    reasons: list[dict[str, Cell]] = [
        {"week_ending": w, **{_kind_key(e, k): ctx.count(by_kind.get((w, e, k), 0)) for e, k in kinds}}
        for w in weeks
        if kinds  # no problems at all: an empty table says so
    ]
    section = Section(
        "extracts",
        "Extracts loaded and rows quarantined",
        "Each week's extract files (by the date in their name) and the rows set aside because a value was "
        "blank or unreadable. Reasons are grouped by kind; the values themselves are never shown.",
    )
    section.charts.append(
        weekly_bars(
            "Extract files loaded per week",
            "Files loaded",
            weeks,
            [r["files_loaded"] for r in rows],
            "Number of extract files loaded, by the week of the extract date.",
        )
    )
    section.charts.append(
        weekly_lines(
            "Rows quarantined per week",
            "Rows quarantined",
            weeks,
            [("rows quarantined", [r["rows_quarantined"] for r in rows])],
            f"Rows set aside at loading. Weeks with {mon.suppressed_label(ctx.threshold)} are left blank.",
        )
    )
    section.tables.append(
        Table(
            "extracts_weekly",
            "Extract files and rows per week",
            [
                Column(
                    "week_ending", "Week ending", "date", "last day of the week (the extract date's week)"
                ),
                Column("files_loaded", "Files loaded", "machine", "extract files loaded"),
                Column(
                    "extracts_loaded", "Kinds of extract", "machine", "distinct extracts (repairs, rent, ...)"
                ),
                Column("rows_loaded", "Rows loaded", "count", "rows stored"),
                Column("rows_quarantined", "Rows quarantined", "count", "rows set aside with a reason"),
            ],
            rows,
        )
    )
    section.tables.append(
        Table(
            "quarantine_reasons",
            "Quarantined problems per week, by extract and kind of problem",
            [
                Column("week_ending", "Week ending", "date", "week of the file's extract date"),
                *[
                    Column(
                        _kind_key(e, k),
                        f"{e}: {k}",
                        "count",
                        f"{e} quarantine entries of this kind (never the value; a row with two problems "
                        "counts twice)",
                    )
                    for e, k in kinds
                ],
            ],
            reasons,
        )
    )
    last = rows[-1]
    if any(by_kind.get((ctx.last_day, e, k)) for e, k in kinds if k == "whole file refused"):
        section.warnings.append(
            "A whole extract file was refused this week (a required column missing or the file unreadable): "
            "see the ingest log; the week's list was built without it."
        )
    if last["files_loaded"] == 0:
        section.warnings.append(
            f"No extract files were loaded for the week ending {week_label(ctx.last_day)}: "
            "check the export schedule and the extracts folder."
        )
    return section


def flags_sections(data: dict[str, Any], ctx: Context) -> tuple[Section, Section, pl.DataFrame]:
    """The red-flag section and the drift section, and the drift table they came from."""
    weeks = ctx.week_endings
    mset = ctx.settings.monitoring
    flags = data["flags"]
    categories = list(dict.fromkeys(flags["category"].to_list()))
    by = {(r["week_ending"], r["category"]): r["flags"] for r in frame_rows(flags)}
    rows: list[dict[str, Cell]] = [
        {"week_ending": w, **{c: ctx.count(by.get((w, c), 0)) for c in categories}} for w in weeks
    ]
    flags_section = Section(
        "flags",
        "Red-flag repairs by category",
        "Repairs with a red-flag category, in the week they were reported and as that week's run saw them "
        "(known by the week's end; cancelled jobs excluded). A repair with two categories counts under each.",
    )
    flags_section.charts.append(
        weekly_lines(
            "Red-flag repairs reported per week, by category",
            "Repairs",
            weeks,
            [(c, [r[c] for r in rows]) for c in categories],
            f"Weeks with {mon.suppressed_label(ctx.threshold)} in a category are left blank.",
        )
    )
    flags_section.tables.append(
        Table(
            "flags_weekly",
            "Red-flag repairs per week",
            [
                Column(
                    "week_ending", "Week ending", "date", "last day of the week the repair was reported in"
                ),
                *[Column(c, c, "count", f"repairs classified {c}") for c in categories],
            ],
            rows,
        )
    )

    table = mon.drift(
        flags,
        trailing_weeks=mset.drift_trailing_weeks,
        band_ratio=mset.drift_band_ratio,
        min_count=ctx.threshold,
        history_start=data["history_start"],
    )
    in_weeks = within_weeks(frame_rows(table), ctx)
    drift_rows: list[dict[str, Cell]] = []
    for r in in_weeks:
        drift_rows.append(
            {
                "week_ending": r["week_ending"],
                "category": r["category"],
                "flags": ctx.count(r["flags"]),
                "trailing_mean": unless_small(r["trailing_mean"], r["trailing_has_small"]),
                "ratio": ctx.rate(r["ratio"], r["flags"]),
                "status": r["status"],
            }
        )
    drift_columns = [
        Column("week_ending", "Week ending", "date", "the week compared"),
        Column("category", "Category", "label", "red-flag category"),
        Column("flags", "Repairs this week", "count", "red-flag repairs reported that week"),
        Column(
            "trailing_mean",
            f"{mset.drift_trailing_weeks}-week average",
            "rate",
            "average repairs per week over the previous weeks (suppressed when one of them was small)",
        ),
        Column("ratio", "Ratio", "ratio", "this week / the average"),
        Column("status", "Status", "label", "above band, below band, within band, new, too few to tell, ..."),
    ]
    drift_section = Section(
        "drift",
        "Drift: is a category moving away from its usual level?",
        "Each category's repairs this week against its average over the previous "
        f"{mset.drift_trailing_weeks} weeks. Outside the band (more than {mset.drift_band_ratio:g}x or under "
        f"1/{mset.drift_band_ratio:g} of the average) usually means something changed in how repairs are "
        "written or classified, not in households: a new contractor, a new schedule of rates, a vocabulary "
        "change, or a missing extract.",
    )
    series = []
    for c in categories:
        mine = {r["week_ending"]: r for r in drift_rows if r["category"] == c}
        series.append((c, [mine[w]["ratio"] if w in mine else None for w in weeks]))
    drift_section.charts.append(
        weekly_lines(
            "Red-flag repairs against their trailing average",
            "Ratio to trailing average (log scale)",
            weeks,
            series,
            "1 = the usual level. Blank where a week's count is suppressed or there is no history yet.",
            log_band=mset.drift_band_ratio,
        )
    )
    latest = [r for r in drift_rows if r["week_ending"] == ctx.last_day]
    drift_section.tables.append(
        Table("drift_this_week", "This week against the trailing average", drift_columns, latest)
    )
    drift_section.tables.append(
        Table("drift_weekly", "Drift, every week", drift_columns, drift_rows, in_html=False)
    )
    for r in in_weeks:
        if r["week_ending"] == ctx.last_day:
            message = mon.drift_warning(
                r["category"], r["flags"], r["ratio"], r["status"], mset.drift_trailing_weeks, ctx.threshold
            )
            if message:
                drift_section.warnings.append(message)
    return flags_section, drift_section, table


def team_keys(data: dict[str, Any], ctx: Context) -> list[str]:
    """The settings' teams in their order, then any other team seen on a list (sorted)."""
    seen = set(data["lists"]["team"].to_list()) | set(data["reviews"]["team"].to_list())
    return list(ctx.settings.teams) + sorted(seen - set(ctx.settings.teams))


def runs_section(data: dict[str, Any], ctx: Context) -> Section:
    """The last ``MAX_RUNS`` runs: kind, status, duration, files and rows; failed or interrupted runs
    and the latest weekly review's warnings as warnings."""
    runs = frame_rows(data["runs"])
    rows: list[dict[str, Cell]] = [
        {
            "started_at": r["started_at"],
            "kind": r["kind"],
            "as_of": r["as_of"],
            "status": r["status"],
            "duration_minutes": None if r["duration_seconds"] is None else r["duration_seconds"] / 60,
            "files_loaded": r["files_loaded"],
            "files_failed": r["files_failed"],
            "rows_loaded": ctx.count(r["rows_loaded"]),
            "rows_quarantined": ctx.count(r["rows_quarantined"]),
        }
        for r in runs
    ]
    section = Section(
        "runs",
        "Pipeline run health",
        f"The last {MAX_RUNS} runs of the pipeline (loading, weekly review, backtest, report, purge): what "
        "ran, whether it worked and how long it took. The run's detail text is not shown here; see the logs.",
    )
    section.charts.append(runs_chart(runs, "Each point is a run; a ringed point failed."))
    section.tables.append(
        Table(
            "runs",
            "Latest runs",
            [
                Column("started_at", "Started", "timestamp", "when the run started"),
                Column("kind", "Kind", "label", "which pipeline"),
                Column("as_of", "As of", "date", "the week-ending date it ran for"),
                Column("status", "Status", "label", "as the run recorded it"),
                Column("duration_minutes", "Minutes", "minutes", "finished - started"),
                Column("files_loaded", "Files loaded", "machine", "extract files loaded"),
                Column("files_failed", "Files failed", "machine", "extract files refused"),
                Column("rows_loaded", "Rows loaded", "count", "rows stored"),
                Column("rows_quarantined", "Rows quarantined", "count", "rows set aside"),
            ],
            rows,
        )
    )
    first = dt.datetime.combine(ctx.week_endings[0] - dt.timedelta(days=6), dt.time())
    failed = [r for r in runs if r["status"] in FAILED_STATUSES and r["started_at"] >= first]
    if failed:
        kinds = ", ".join(sorted({str(r["kind"]) for r in failed}))
        section.warnings.append(
            f"{len(failed)} of the last {len(runs)} pipeline runs in these weeks failed ({kinds}): see the "
            "logs."
        )
    interrupted = [r for r in runs if r["status"] == "interrupted"]
    if interrupted:
        section.warnings.append(
            f"{len(interrupted)} of the last {len(runs)} runs were interrupted: the process ended before the "
            "run finished (killed, or the machine stopped), noticed when the next run started."
        )
    latest = next((r for r in runs if r["kind"] == "weekly-review" and r["status"] != "running"), None)
    if latest is not None:
        for warning in latest.get("warnings") or []:
            section.warnings.append(
                f"The latest weekly review (week ending {latest['as_of']}) warned: {warning}"
            )
    unfinished = [
        r
        for r in runs
        if r["finished_at"] is None and r["status"] not in FAILED_STATUSES and r["status"] != "interrupted"
    ]
    if unfinished:
        section.warnings.append(
            f"{len(unfinished)} recorded runs have no finish time (still running or killed)."
        )
    return section


# ----------------------------------------------------------------------------------------------------
# Summary
