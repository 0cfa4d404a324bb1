"""Publishing the week's review list: files for each team, the evidence behind each row, and the audit record.

Layout under ``<out>/<as-of>/`` (folders owner-only):
- ``review_list.csv`` / ``review_list.xlsx``: every team's rows (the contract's files, for the list coordinator);
- ``<team>/review_list.csv|.xlsx`` and ``<team>/evidence.csv``: one team's rows and evidence only, so each folder
  can be shared with that team alone (need to know);
- ``carried_forward.csv`` (contract v1.1) and the coordinator's "Carried forward" sheet: the eligible households
  that did not fit this week's capacity, ranked after the list's last rank, with the weeks each has waited.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.core.spreadsheets import InputColumn, private_dir, write_csv, write_xlsx
from pipelines.warehouse.connection import Warehouse

log = logging.getLogger(__name__)

# What a reviewer reads, then what they fill in, then the technical columns (grouped, foldable) last.
LIST_COLUMNS = ["rank", "tenancy_ref", "property_ref", "score", "team", "reasons"]
CARRIED_COLUMNS = ["rank", "tenancy_ref", "team", "score", "weeks_waiting"]
OUTCOME_COLUMNS = ["outcome", "reviewer", "rationale", "reviewed_on"]
TECHNICAL_COLUMNS = ["points_score", "surprise_score", "anomaly_score", "list_id", "as_of"]
REVIEW_COLUMNS = [*LIST_COLUMNS, *OUTCOME_COLUMNS, "is_complex_case", *TECHNICAL_COLUMNS]
# Facts from the record (facts) are kept apart from the words staff typed (text_as_recorded).
EVIDENCE_COLUMNS = [
    "tenancy_ref",
    "on",
    "source",
    "record_ref",
    "categories",
    "location",
    "counted",
    "note",
    "facts",
    "text_as_recorded",
]

# The default outcome values (conf/settings.yaml outcomes.values); the caller passes the configured ones.
OUTCOME_VALUES = ("no_concern", "already_known", "new_concern_referred", "unable_to_assess")


def about_text(outcome_values: tuple[str, ...]) -> str:
    """The Notes sheet's first paragraph, naming the configured outcome values."""
    return (
        "This list is a prompt for professional curiosity, never a decision about anyone. Each row says which "
        "records put the household here; check them, and record what you decided in the outcome, reviewer, "
        f"rationale and reviewed_on columns (outcome: one of {', '.join(outcome_values)}; the other cells are "
        "locked so the evidence is not changed by mistake), then load the file with `redflags outcomes import`. "
        "Share only on a need-to-know basis: never contact the household in a way that another member of it "
        "could see."
    )


@dataclass(frozen=True)
class PublishedList:
    list_id: str
    folder: Path
    csv: Path
    xlsx: Path
    team_folders: dict[str, Path] = field(default_factory=dict)
    listed: int = 0
    carried: dict[str, int] = field(default_factory=dict)


def _review_frame(listed: pl.DataFrame, list_id: str, as_of: dt.date) -> pl.DataFrame:
    frame = listed.with_columns(pl.lit(list_id).alias("list_id"), pl.lit(as_of).alias("as_of"))
    frame = frame.with_columns(
        pl.col("score").round(2),
        pl.col("points_score").round(2),
        pl.col("surprise_score").round(2),
        pl.col("anomaly_score").round(2),
    )
    frame = frame.with_columns(
        [pl.lit(None, dtype=pl.String).alias(c) for c in OUTCOME_COLUMNS if c != "reviewed_on"]
    ).with_columns(pl.lit(None, dtype=pl.Date).alias("reviewed_on"))
    return frame.select(REVIEW_COLUMNS).sort(["team", "rank"])


def review_inputs(outcome_values: tuple[str, ...] | list[str]) -> list[InputColumn]:
    """The four columns a reviewer fills, with the sheet's checks and input messages."""
    values = tuple(outcome_values)
    return [
        InputColumn(
            "outcome",
            "What you decided after looking at the records: choose from the list.",
            allowed=values,
        ),
        InputColumn("reviewer", "Your name, as your team knows you."),
        InputColumn(
            "rationale",
            "Why, in a sentence: what you checked and what you found. Stored encrypted.",
        ),
        InputColumn(
            "reviewed_on",
            "The date you reviewed the household (leave blank for the day the file is imported).",
            is_date=True,
        ),
    ]


def carried_frame(listed: pl.DataFrame, carried: pl.DataFrame) -> pl.DataFrame:
    """The backlog as published: one row per household carried forward, ranked across teams.

    ``rank`` continues after the list's last rank (the largest rank on the list, 0 when nobody is listed), in
    the scorer's order: score as published (two decimals) descending, the longest waiting first among equal
    scores, then score and tenancy_ref. Columns: CARRIED_COLUMNS.
    """
    if carried.is_empty():
        return pl.DataFrame(
            schema={
                "rank": pl.Int64,
                "tenancy_ref": pl.String,
                "team": pl.String,
                "score": pl.Float64,
                "weeks_waiting": pl.Int64,
            }
        )
    last = int(listed["rank"].max() or 0) if listed.height else 0  # type: ignore[arg-type]
    frame = carried if "weeks_waiting" in carried.columns else carried.with_columns(weeks_waiting=pl.lit(1))
    return (
        frame.with_columns(pl.col("score").round(2).alias("_shown"), pl.col("weeks_waiting").cast(pl.Int64))
        .sort(["_shown", "weeks_waiting", "score", "tenancy_ref"], descending=[True, True, True, False])
        .with_columns(rank=pl.int_range(last + 1, last + 1 + pl.len()).cast(pl.Int64), score=pl.col("_shown"))
        .select(CARRIED_COLUMNS)
    )


def evidence_text(wh: Warehouse, evidence: pl.DataFrame) -> pl.DataFrame:
    """The evidence for the listed households only, in date order, with the free text decrypted."""
    if evidence.is_empty():
        return pl.DataFrame(schema=dict.fromkeys(EVIDENCE_COLUMNS, pl.String))
    text = pl.Series(
        "text_as_recorded", wh.cipher.decrypt_many(evidence["summary_enc"].to_list()), dtype=pl.String
    )
    categories = evidence["categories"]
    if isinstance(categories.dtype, pl.List):
        categories = categories.list.join("; ")
    return (
        evidence.with_columns(
            text,
            categories.alias("categories"),
            pl.when(pl.col("is_counted")).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("counted"),
            pl.col("summary").alias("facts"),
        )
        .select(EVIDENCE_COLUMNS)
        .sort(["tenancy_ref", "on", "source"], maintain_order=True)
    )


def publish_list(
    wh: Warehouse,
    week: Any,
    *,
    as_of: dt.date,
    out_dir: Path,
    list_id: str,
    team_labels: dict[str, str],
    about_lines: list[str],
    outcome_values: tuple[str, ...] = OUTCOME_VALUES,
) -> PublishedList:
    """Write the week's files. ``week`` is a ``ScoredWeek`` (listed, carried, evidence)."""
    folder = private_dir(Path(out_dir) / as_of.isoformat())
    review = _review_frame(week.listed, list_id, as_of)
    evidence = evidence_text(wh, week.evidence)
    carried = (
        {t: int(n) for t, n in week.carried.group_by("team").len().iter_rows()}
        if not week.carried.is_empty()
        else {}
    )
    notes = "\n".join([about_text(tuple(outcome_values)), "", *about_lines])
    widths = {
        "reasons": 90,
        "facts": 60,
        "text_as_recorded": 70,
        "note": 30,
        "rationale": 40,
        "tenancy_ref": 14,
        "property_ref": 14,
    }

    inputs = review_inputs(outcome_values)

    def sheets_for(frame: pl.DataFrame, ev: pl.DataFrame) -> dict[str, pl.DataFrame]:
        sheets = {
            team_labels.get(team, team)[:31]: frame.filter(pl.col("team") == team)
            for team in sorted(set(frame["team"].to_list()) | set(team_labels))
        }
        sheets["Evidence"] = ev
        return sheets

    backlog = carried_frame(week.listed, week.carried)
    csv_path = write_csv(review, folder / "review_list.csv")
    write_csv(backlog, folder / "carried_forward.csv")
    xlsx_path = write_xlsx(
        {**sheets_for(review, evidence), "Carried forward": backlog},
        folder / "review_list.xlsx",
        wrap_columns=("reasons", "facts", "text_as_recorded", "note", "rationale"),
        column_widths=widths,
        notes=notes,
        inputs=inputs,
        grouped_columns=TECHNICAL_COLUMNS,
    )
    team_folders: dict[str, Path] = {}
    for team in team_labels:
        team_dir = private_dir(folder / team)
        rows = review.filter(pl.col("team") == team)
        refs = rows["tenancy_ref"]
        ev = evidence.filter(pl.col("tenancy_ref").is_in(refs.implode()))
        write_csv(rows, team_dir / "review_list.csv")
        write_csv(ev, team_dir / "evidence.csv")
        write_xlsx(
            {team_labels[team][:31]: rows, "Evidence": ev},
            team_dir / "review_list.xlsx",
            wrap_columns=("reasons", "facts", "text_as_recorded", "note", "rationale"),
            column_widths=widths,
            notes=notes,
            inputs=inputs,
            grouped_columns=TECHNICAL_COLUMNS,
        )
        team_folders[team] = team_dir
    log.info("published %d listed households (%s carried) to %s", review.height, carried, folder)
    return PublishedList(
        list_id=list_id,
        folder=folder,
        csv=csv_path,
        xlsx=xlsx_path,
        team_folders=team_folders,
        listed=review.height,
        carried=carried,
    )
