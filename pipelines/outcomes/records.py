"""Reviewers' outcomes: imported from a filled-in review list (``redflags outcomes import``) or recorded one
at a time from the web page (pipelines.outcomes.history reads them back).

Reviewers fill ``outcome``, ``reviewer`` and ``rationale`` (and optionally ``reviewed_on``) in the published
``review_list.xlsx`` (any team sheet) or ``review_list.csv``. An import records every good row and names each
bad one by file, row, column and reason (a bad row is not recorded); the import is one transaction, so the
database holds either all of the good rows or none. Outcomes are only ever added: the same outcome imported
twice is recorded once, so re-importing the corrected file adds only the rows that were missing. A changed
outcome is a new entry (a correction), never an edit.
The rationale is free text: it is stored encrypted and never logged.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import io
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.core.errors import UserError
from pipelines.core.spreadsheets import restore_cell
from pipelines.warehouse.audit import atomic, record_event, utc_now
from pipelines.warehouse.connection import Warehouse, query
from pipelines.warehouse.references import pseudonymise

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("tenancy_ref", "list_id", "outcome", "reviewer", "rationale")
MAX_ERRORS_SHOWN = 25
_HEADER_SEARCH_ROWS = 30  # notes may sit above the header
_UK_DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y")
MAX_RATIONALE_CHARS = 2000  # a few paragraphs: enough to say why; a case file belongs in the case system


class OutcomesError(UserError):
    """Rows an import could not record: every problem found, each naming file, row and column.

    Raised by ``redflags outcomes import`` after the good rows were recorded (exit code 1).
    """

    def __init__(self, problems: Sequence[str], rows: int | None = None) -> None:
        self.problems = list(problems)
        rows = len(self.problems) if rows is None else rows
        shown = self.problems[:MAX_ERRORS_SHOWN]
        more = len(self.problems) - len(shown)
        lines = [
            f"{rows} row(s) were not recorded ({len(self.problems)} problem(s)). Fix them in the file and "
            "import it again; rows already recorded are skipped:"
        ]
        lines += [f"  {p}" for p in shown]
        if more:
            lines.append(f"  ... and {more} more")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class SheetRow:
    """One data row of a filled-in list, with where a person finds it."""

    file: str
    sheet: str | None
    row: int
    values: dict[str, Any]

    def where(self, column: str | None = None) -> str:
        place = f"{self.file}" + (f", sheet '{self.sheet}'" if self.sheet else "") + f", row {self.row}"
        return place + (f", column {column}" if column else "")

    @property
    def source_file(self) -> str:
        return self.file + (f"[{self.sheet}]" if self.sheet else "")


@dataclass(frozen=True)
class Outcome:
    list_id: str
    as_of: dt.date
    tenancy_ref: str
    outcome: str
    reviewer: str
    rationale: str
    reviewed_on: dt.date
    reviewed_on_given: bool
    source: SheetRow


@dataclass
class ImportResult:
    applied: Counter[str] = field(default_factory=Counter)
    already_recorded: int = 0
    rows_without_outcome: int = 0
    rows_half_filled: int = 0  # a reviewer or rationale but no outcome: skipped, and said so
    already_known_rows: list[str] = field(default_factory=list)
    corrections: int = 0
    audit_id: int | None = None
    # Bad rows are not recorded; each problem names file, row, column and reason.
    problems: list[str] = field(default_factory=list)
    rows_rejected: int = 0

    @property
    def applied_total(self) -> int:
        return sum(self.applied.values())


# --- reading the filled-in file ------------------------------------------------------------


def _normalise_header(value: Any) -> str:
    return str(value).strip().lower().replace(" ", "_").replace("-", "_") if value is not None else ""


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def read_csv_rows(path: Path) -> list[SheetRow]:
    """Rows of a CSV list: the header is row 1, the first data row is row 2 (as a spreadsheet shows it)."""
    text = _decode(path.read_bytes())
    try:
        frame = pl.read_csv(io.StringIO(text), infer_schema=False, truncate_ragged_lines=True)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise UserError(f"{path.name} cannot be read as a CSV file ({type(exc).__name__})") from None
    frame = frame.rename({c: _normalise_header(c) for c in frame.columns})
    _check_columns(frame.columns, path.name, None)
    return [
        SheetRow(path.name, None, i + 2, {k: _cell_text(v) for k, v in row.items()})
        for i, row in enumerate(frame.iter_rows(named=True))
    ]


def read_xlsx_rows(path: Path) -> list[SheetRow]:
    """Rows of every sheet that has the list's header (team sheets); others (Evidence, notes) are skipped."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or non-xlsx file
        raise UserError(f"{path.name} cannot be read as an Excel workbook ({type(exc).__name__})") from None
    rows: list[SheetRow] = []
    found_sheet = False
    try:
        for sheet in book.worksheets:
            lines = sheet.iter_rows(values_only=True)
            header: list[str] | None = None
            for number, values in enumerate(lines, start=1):
                if header is None:
                    names = [_normalise_header(v) for v in values]
                    if "tenancy_ref" in names and "outcome" in names:
                        header = names
                        _check_columns(names, path.name, sheet.title)
                        found_sheet = True
                    elif number >= _HEADER_SEARCH_ROWS:
                        break
                    continue
                cells = dict(zip(header, values, strict=False))
                if all(v is None or _cell_text(v) == "" for v in cells.values()):
                    continue
                rows.append(
                    SheetRow(
                        path.name, sheet.title, number, {k: _xlsx_value(k, v) for k, v in cells.items() if k}
                    )
                )
    finally:
        book.close()
    if not found_sheet:
        raise UserError(
            f"{path.name} has no sheet with tenancy_ref and outcome columns: is it a review list?"
        )
    return rows


def _xlsx_value(column: str, value: Any) -> Any:
    # A date typed into reviewed_on arrives as a date cell: keep it a date, not its text.
    if column == "reviewed_on" and isinstance(value, dt.date):
        return value
    return _cell_text(value)


def _check_columns(columns: Iterable[str], file: str, sheet: str | None) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in set(columns)]
    if missing:
        where = file + (f", sheet '{sheet}'" if sheet else "")
        raise UserError(
            f"{where} has no {', '.join(missing)} column(s): load the review list the pipeline published"
        )


def read_review_rows(path: Path) -> list[SheetRow]:
    if not path.is_file():
        raise UserError(f"the file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv_rows(path)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx_rows(path)
    raise UserError(f"{path.name}: outcomes are loaded from the review list as .csv or .xlsx")


# --- validating ------------------------------------------------------------


def normalise_outcome(value: str) -> str:
    return value.strip().lower().replace(" ", "_").replace("-", "_")


def parse_reviewed_on(value: Any) -> dt.date | None:
    """A date cell, ISO ``2025-03-10``, or UK ``10/03/2025``; None when it cannot be read."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    for fmt in _UK_DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _list_dates(
    wh: Warehouse, pairs: set[tuple[str, str]]
) -> tuple[dict[str, dt.date], set[tuple[str, str]]]:
    """The as-of date of each list named, and which (list_id, tenancy_ref) pairs were really on it."""
    if not pairs:
        return {}, set()
    refs = [p[1] for p in pairs]
    wanted = pl.DataFrame(
        {"list_id": [p[0] for p in pairs], "tenancy_ref": refs, "key": pseudonymise(wh.cipher, refs)},
        schema={"list_id": pl.String, "tenancy_ref": pl.String, "key": pl.String},
    )
    wh.con.register("_wanted_pairs", wanted)
    try:
        lists = query(
            wh.con,
            "select distinct list_id, as_of from review_list_rows"
            " where list_id in (select distinct list_id from _wanted_pairs)",
        )
        on_list = query(
            wh.con,
            "select distinct r.list_id, w.tenancy_ref from review_list_rows r"
            " join _wanted_pairs w on r.list_id = w.list_id and r.tenancy_ref = w.key",
        )
    finally:
        wh.con.unregister("_wanted_pairs")
    return dict(lists.iter_rows()), set(on_list.iter_rows())


def validate_rows(
    wh: Warehouse, rows: Sequence[SheetRow], *, values: Sequence[str], today: dt.date
) -> tuple[list[Outcome], list[str], int, int]:
    """Outcomes from filled rows, and every problem found. Also: rows without an outcome, half-filled rows."""
    problems: list[str] = []
    filled = [r for r in rows if r.values.get("outcome", "")]
    blank = [r for r in rows if not r.values.get("outcome", "")]
    half_filled = sum(1 for r in blank if r.values.get("reviewer") or r.values.get("rationale"))
    pairs = {
        (restore_cell(r.values.get("list_id", "")), restore_cell(r.values.get("tenancy_ref", "")))
        for r in filled
    }
    list_dates, on_list = _list_dates(wh, pairs)
    allowed = ", ".join(values)
    outcomes: list[Outcome] = []
    for row in filled:
        v = row.values
        outcome = normalise_outcome(str(v["outcome"]))
        row_problems: list[str] = []
        if outcome not in values:
            row_problems.append(f"{row.where('outcome')}: not one of the outcomes ({allowed})")
        for column in ("reviewer", "rationale"):
            if not v.get(column):
                row_problems.append(f"{row.where(column)}: blank; every outcome needs a {column}")
        if len(str(v.get("rationale") or "")) > MAX_RATIONALE_CHARS:
            row_problems.append(
                f"{row.where('rationale')}: {len(str(v['rationale'])):,} characters; keep it to "
                f"{MAX_RATIONALE_CHARS:,} (say why, and keep the case notes in the case system)"
            )
        list_id = restore_cell(v.get("list_id", ""))
        tenancy_ref = restore_cell(v.get("tenancy_ref", ""))
        if not list_id:
            row_problems.append(
                f"{row.where('list_id')}: blank; it says which published list the row is from"
            )
        elif list_id not in list_dates:
            row_problems.append(
                f"{row.where('list_id')}: no list with this id was published from this database"
            )
        if not tenancy_ref:
            row_problems.append(f"{row.where('tenancy_ref')}: blank")
        elif list_id in list_dates and (list_id, tenancy_ref) not in on_list:
            row_problems.append(f"{row.where('tenancy_ref')}: this household was not on list {list_id}")
        raw_date = v.get("reviewed_on", "")
        given = raw_date not in ("", None)
        reviewed_on = parse_reviewed_on(raw_date) if given else today
        if reviewed_on is None:
            row_problems.append(f"{row.where('reviewed_on')}: not a date (use YYYY-MM-DD or DD/MM/YYYY)")
        elif reviewed_on > today:
            row_problems.append(f"{row.where('reviewed_on')}: {reviewed_on:%d/%m/%Y} is in the future")
        elif list_id in list_dates and reviewed_on < list_dates[list_id]:
            row_problems.append(
                f"{row.where('reviewed_on')}: {reviewed_on:%d/%m/%Y} is before the list's week ending "
                f"{list_dates[list_id]:%d/%m/%Y}"
            )
        if row_problems:
            problems += row_problems
            continue
        assert reviewed_on is not None
        outcomes.append(
            Outcome(
                list_id=list_id,
                as_of=list_dates[list_id],
                tenancy_ref=tenancy_ref,
                outcome=outcome,
                reviewer=str(v["reviewer"]),
                rationale=str(v["rationale"]),
                reviewed_on=reviewed_on,
                reviewed_on_given=given,
                source=row,
            )
        )
    conflicts, conflicting = _conflicts_within_file(outcomes)
    problems += conflicts
    outcomes = [o for o in outcomes if (o.list_id, o.tenancy_ref) not in conflicting]
    return outcomes, problems, len(blank), half_filled


def _identity(o: Outcome) -> tuple[str, str, str, str, str]:
    return (o.list_id, o.tenancy_ref, o.outcome, o.reviewer, o.rationale)


def _conflicts_within_file(outcomes: Sequence[Outcome]) -> tuple[list[str], set[tuple[str, str]]]:
    """Problems for a household given two different outcomes on one list, and those (list, household) keys:
    neither row is recorded, as nobody can tell which one the reviewer meant."""
    first: dict[tuple[str, str], Outcome] = {}
    problems = []
    conflicting: set[tuple[str, str]] = set()
    for o in outcomes:
        key = (o.list_id, o.tenancy_ref)
        earlier = first.setdefault(key, o)
        if earlier is not o and (_identity(earlier), earlier.reviewed_on) != (_identity(o), o.reviewed_on):
            conflicting.add(key)
            problems.append(
                f"{o.source.where('outcome')}: the same household on the same list also has a different "
                f"outcome at {earlier.source.where()}; neither was recorded: keep one"
            )
    return problems, conflicting


# --- applying ------------------------------------------------------------


def _recorded(wh: Warehouse, outcomes: Sequence[Outcome]) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    """Outcomes already recorded for the households in the file, rationale decrypted for comparison only."""
    if not outcomes:
        return {}
    refs = [o.tenancy_ref for o in outcomes]
    keys = pl.DataFrame(
        {
            "list_id": [o.list_id for o in outcomes],
            "tenancy_ref": refs,
            "key": pseudonymise(wh.cipher, refs),
        }
    ).unique()
    wh.con.register("_import_keys", keys)
    try:
        existing = query(
            wh.con,
            "select o.list_id, k.tenancy_ref, o.outcome_enc, o.reviewer_enc, o.rationale_enc, o.reviewed_on"
            " from outcomes o join _import_keys k on o.list_id = k.list_id and o.tenancy_ref = k.key"
            " order by o.outcome_id",
        )
    finally:
        wh.con.unregister("_import_keys")
    rationales = wh.cipher.decrypt_many(existing["rationale_enc"].to_list())
    reviewers = wh.cipher.decrypt_many(existing["reviewer_enc"].to_list())
    values = wh.cipher.decrypt_many(existing["outcome_enc"].to_list())
    found: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row, value, reviewer, rationale in zip(
        existing.iter_rows(named=True), values, reviewers, rationales, strict=True
    ):
        found.setdefault((row["list_id"], row["tenancy_ref"]), []).append(
            (value, reviewer, rationale, row["reviewed_on"])
        )
    return found


def _key(wh: Warehouse, tenancy_ref: str) -> str:
    """The household's reference as the database holds it (its pseudonym)."""
    (key,) = pseudonymise(wh.cipher, [tenancy_ref])
    assert key is not None
    return key


def _is_recorded(o: Outcome, earlier: Sequence[tuple[Any, ...]]) -> bool:
    # A blank reviewed_on means "the import date": re-importing the same file another day is still the same.
    return any(
        (outcome, reviewer, rationale) == (o.outcome, o.reviewer, o.rationale)
        and (not o.reviewed_on_given or reviewed_on == o.reviewed_on)
        for outcome, reviewer, rationale, reviewed_on in earlier
    )


def import_outcomes(
    wh: Warehouse,
    path: str | Path,
    *,
    values: Sequence[str],
    actor: str | None = None,
    today: dt.date | None = None,
) -> ImportResult:
    """Check every filled row of a review list, then add the good rows' new outcomes and an audit event in one
    transaction. Bad rows are not recorded: ``result.problems`` names each (file, row, column, reason).
    """
    path = Path(path)
    today = today or dt.date.today()
    actor = actor or os_user()
    rows = read_review_rows(path)
    outcomes, problems, without, half = validate_rows(wh, rows, values=values, today=today)
    filled = sum(1 for r in rows if r.values.get("outcome", ""))
    result = ImportResult(
        rows_without_outcome=without,
        rows_half_filled=half,
        problems=problems,
        rows_rejected=filled - len(outcomes),
    )
    seen: set[tuple[Any, ...]] = set()
    with atomic(wh.con):
        recorded = _recorded(wh, outcomes)
        next_outcome_id = int(
            wh.con.sql("select coalesce(max(outcome_id), 0) + 1 from outcomes").fetchall()[0][0]
        )
        new_rows: list[list[Any]] = []
        imported_at = utc_now()
        for o in outcomes:
            key = (*_identity(o), o.reviewed_on)
            earlier = recorded.get((o.list_id, o.tenancy_ref), [])
            if key in seen or _is_recorded(o, earlier):
                result.already_recorded += 1
                continue
            seen.add(key)
            if earlier:
                result.corrections += 1
            result.applied[o.outcome] += 1
            if o.outcome == "already_known":
                result.already_known_rows.append(o.source.where())
            new_rows.append(
                [
                    next_outcome_id,
                    o.list_id,
                    o.as_of,
                    _key(wh, o.tenancy_ref),
                    wh.cipher.encrypt(o.outcome),
                    wh.cipher.encrypt(o.reviewer),
                    wh.cipher.encrypt(o.rationale),
                    o.reviewed_on,
                    imported_at,
                    o.source.source_file,
                    o.source.row,
                ]
            )
            next_outcome_id += 1
        if new_rows:
            wh.con.executemany(
                "insert into outcomes (outcome_id, list_id, as_of, tenancy_ref, outcome_enc, reviewer_enc,"
                " rationale_enc, reviewed_on, imported_at, source_file, source_row)"
                " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                new_rows,
            )
        result.audit_id = record_event(
            wh.con,
            cipher=wh.cipher,
            actor=actor,
            action="outcomes_imported",
            detail={
                "file": path.name,
                "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "rows_with_outcome": len(outcomes),
                # how many, not which outcomes: the values are stored encrypted, and an import's breakdown
                # beside its time would say which outcome its few households got
                "applied": sum(result.applied.values()),
                "corrections": result.corrections,
                "already_recorded": result.already_recorded,
                "rows_without_outcome": without,
                "rows_rejected": result.rows_rejected,
                "lists": sorted({o.list_id for o in outcomes}),
            },
        )
    log.info(
        "outcomes import: %d applied, %d already recorded, %d rejected",
        result.applied_total,
        result.already_recorded,
        result.rows_rejected,
    )
    return result


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


# --- one outcome from the web page ------------------------------------------------------------


class FormRow(SheetRow):
    """The web page's outcome form, named as such in problems (instead of a file, row and column)."""

    def where(self, column: str | None = None) -> str:
        return "the outcome form" + (f", {column}" if column else "")


@dataclass(frozen=True)
class OneOutcome:
    """What recording one outcome did: ``recorded``, ``correction`` (an earlier, different outcome for the same
    household and list is kept beside it) or ``already_recorded`` (the same outcome was there: nothing added)."""

    status: str
    audit_id: int


def record_one_outcome(
    wh: Warehouse,
    *,
    list_id: str,
    tenancy_ref: str,
    outcome: str,
    rationale: str,
    reviewer: str,
    values: Sequence[str],
    reviewed_on: str | dt.date | None = None,
    today: dt.date | None = None,
    source: str = "web",
) -> OneOutcome:
    """Record one reviewer's outcome through the same row rules as an import (:func:`validate_rows`), then the
    same duplicate and correction rules, and one ``outcomes_imported`` audit event naming the household.

    Raises :class:`OutcomesError` with every problem (the form's fields named) when the outcome is refused.
    """
    today = today or dt.date.today()
    row = FormRow(
        source,
        None,
        1,
        {
            "list_id": list_id,
            "tenancy_ref": tenancy_ref,
            "outcome": outcome,
            "reviewer": reviewer,
            "rationale": rationale,
            "reviewed_on": reviewed_on or "",
        },
    )
    if not outcome.strip():
        raise OutcomesError(
            [f"{row.where('outcome')}: blank; choose one of the outcomes ({', '.join(values)})"]
        )
    outcomes, problems, _, _ = validate_rows(wh, [row], values=values, today=today)
    if problems:
        raise OutcomesError(problems)
    (o,) = outcomes
    with atomic(wh.con):
        earlier = _recorded(wh, outcomes).get((o.list_id, o.tenancy_ref), [])
        status = "already_recorded" if _is_recorded(o, earlier) else "correction" if earlier else "recorded"
        if status != "already_recorded":
            wh.con.execute(
                "insert into outcomes (outcome_id, list_id, as_of, tenancy_ref, outcome_enc, reviewer_enc,"
                " rationale_enc, reviewed_on, imported_at, source_file, source_row)"
                " select coalesce(max(outcome_id), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? from outcomes",
                [
                    o.list_id,
                    o.as_of,
                    _key(wh, o.tenancy_ref),
                    wh.cipher.encrypt(o.outcome),
                    wh.cipher.encrypt(o.reviewer),
                    wh.cipher.encrypt(o.rationale),
                    o.reviewed_on,
                    utc_now(),
                    source,
                    row.row,
                ],
            )
        audit_id = record_event(
            wh.con,
            cipher=wh.cipher,
            actor=reviewer,
            action="outcomes_imported",
            tenancy_ref=_key(wh, o.tenancy_ref),
            detail={
                "file": source,
                "rows_with_outcome": 1,
                "applied": int(status != "already_recorded"),  # not the value: it is stored encrypted
                "corrections": int(status == "correction"),
                "already_recorded": int(status == "already_recorded"),
                "lists": [o.list_id],
            },
        )
    log.info("outcome from %s: %s", source, status)
    return OneOutcome(status, audit_id)
