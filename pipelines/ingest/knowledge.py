"""What a weekly list knew, and why a list is empty or stale: the run summary's knowledge lines and warnings.

``extract_knowledge(con, known_by)`` reads ``sql/marts/knowledge_by_extract.sql``; ``list_warnings`` turns it
and the scored week into one sentence per cause (EXTRACTS.md "Knowledge time": a list is never empty or stale
without saying why). Sentences hold extract names, dates and counts only, never a file name or a household.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingest.conversion import EARLIEST_EVENT
from pipelines.ingest.files import FileProblem
from pipelines.ingest.mapping import KnownOn
from pipelines.warehouse.connection import run_model


@dataclass(frozen=True)
class ExtractKnowledge:
    """One extract as the list for a week saw it (grain: extract)."""

    extract: str
    newest_known_on: dt.date | None  # the newest extract date used; None: no file known by then
    files_known: int
    files_not_yet_known: int  # files dated after the as-of date plus the lag: left out of this list
    rows_not_yet_known: int


def extract_knowledge(con: duckdb.DuckDBPyConnection, known_by: dt.date) -> list[ExtractKnowledge]:
    """Per extract with a loaded file: the newest extract date known by ``known_by`` and what was left out."""
    frame = run_model(con, "marts/knowledge_by_extract", {"known_by": known_by})
    return [ExtractKnowledge(**row) for row in frame.iter_rows(named=True)]


def knowledge_lines(knowledge: list[ExtractKnowledge]) -> list[str]:
    """One line per extract for the run summary: newest extract date used, files and rows not yet known."""
    lines = []
    for k in knowledge:
        newest = (
            f"newest file dated {k.newest_known_on:%d %b %Y}" if k.newest_known_on else "no file known yet"
        )
        later = (
            f"; left out as not yet known: {k.files_not_yet_known} file(s), {k.rows_not_yet_known:,} row(s)"
            if k.files_not_yet_known
            else ""
        )
        lines.append(f"{k.extract}: {newest}{later}")
    return lines


def list_warnings(
    knowledge: list[ExtractKnowledge],
    *,
    as_of: dt.date,
    known_by: dt.date,
    listed: int,
    carried: int,
    features: pl.DataFrame,
    suppressed: Mapping[str, int],
    long_window_days: int,
    stale_after_days: Mapping[str, int],
) -> list[str]:
    """One sentence per reason the list is empty or its data stale (empty when there is nothing to say).

    ``features``: every live household (``ScoredWeek.features``: ``flags_long`` red-flag repairs in the long
    window, ``suppression_reason``). ``stale_after_days``: extract -> the oldest its newest file may be, in
    days before ``as_of``.
    """
    by_name = {k.extract: k for k in knowledge}
    out: list[str] = []
    if listed == 0:
        repairs = by_name.get("repairs")
        if repairs is None or repairs.newest_known_on is None:
            later = f" ({repairs.files_not_yet_known} are dated later)" if repairs else ""
            out.append(
                f"The list is empty because nothing was known by then: no repairs file is dated on or before "
                f"{known_by:%d %b %Y} (the week's end plus the publication lag){later}."
            )
        elif features.height == 0 or int(features["flags_long"].fill_null(0).sum()) == 0:
            out.append(
                f"The list is empty because no red-flag repairs were reported in the {long_window_days} days "
                f"to {as_of:%d %b %Y}."
            )
        elif suppressed and sum(suppressed.values()) and carried == 0:
            counts = ", ".join(f"{reason} {n}" for reason, n in sorted(suppressed.items()))
            out.append(
                f"The list is empty because all {sum(suppressed.values())} household(s) that met the rules "
                f"were kept off it ({counts})."
            )
        else:
            with_flags = int((features["flags_long"].fill_null(0) > 0).sum())
            out.append(
                f"The list is empty because none of the {with_flags} household(s) with red-flag repairs in "
                f"the {long_window_days} days to {as_of:%d %b %Y} reached the threshold."
            )
    for name, days in sorted(stale_after_days.items()):
        k = by_name.get(name)
        if k is None or k.newest_known_on is None:
            if listed or name != "repairs":  # an empty list has said so above
                out.append(f"No {name} file is known by {known_by:%d %b %Y}: the list is made without it.")
            continue
        age = (as_of - k.newest_known_on).days
        if age > days:
            out.append(
                f"The newest {name} file used is dated {k.newest_known_on:%d %b %Y}, {age} days before the "
                f"week's end (more than the {days} allowed): is the export still running?"
            )
    return out


_NAME_DATES = (
    (re.compile(r"(?<!\d)(\d{4})[-_.](\d{2})[-_.](\d{2})(?!\d)"), ("y", "m", "d")),
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"), ("y", "m", "d")),
    (re.compile(r"(?<!\d)(\d{2})[-_.](\d{2})[-_.](\d{4})(?!\d)"), ("d", "m", "y")),
)


def known_on_from_name(name: str, today: dt.date) -> dt.date | None:
    """The extract date in a file name (YYYY-MM-DD, YYYYMMDD, DD-MM-YYYY, with - _ or .), else None.

    Conservative: only real calendar dates from 1990 up to ``today`` count, so a financial year or period
    (``FY2025-26``, ``2025-26``, ``Q3``) is not a date; several dates (a period export) give the latest, the day
    the period's data was known.
    """
    stem = Path(name).name
    found: list[dt.date] = []
    for pattern, order in _NAME_DATES:
        for m in pattern.finditer(stem):
            parts = dict(zip(order, (int(g) for g in m.groups()), strict=True))
            try:
                d = dt.date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                continue
            if EARLIEST_EVENT <= d <= today:
                found.append(d)
    return max(found) if found else None


def extract_date(path: Path, name: str, rule: KnownOn, today: dt.date) -> dt.date:
    """A file's extract date (EXTRACTS.md "Knowledge time"): the date in its name, else by the mapping's rule.

    ``modified``: the file's modification time as a local date (SFTP drops and copy tools keep it; a time
    after ``today`` counts as today); ``loaded``: ``today``, the day it is first loaded; ``name``: a name
    without a date is a file-level error (FileProblem).
    """
    named = known_on_from_name(name, today)
    if named is not None:
        return named
    if rule == "name":
        raise FileProblem(
            name,
            "has no extract date in its name, and the mapping says known_on: name "
            "(name it like repairs_2025-03-09.csv, or set known_on: modified)",
        )
    if rule == "loaded":
        return today
    try:
        modified = dt.datetime.fromtimestamp(path.stat().st_mtime).date()
    except OSError as exc:
        raise FileProblem(name, f"cannot be read ({exc.strerror})") from None
    return min(modified, today)
