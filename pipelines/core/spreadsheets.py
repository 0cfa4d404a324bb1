"""The one place that writes CSV and Excel files for people to open.

Every file is owner-only (0o600) from its first byte: it is written under a temporary name in the same
folder (created by ``os.open(..., 0o600)``) and renamed over the target, so nobody ever sees a half-written
list or a readable one. Folders are owner-only (0o700).

Text is neutralised against formula injection (OWASP "CSV injection"): a repair description such as
``=HYPERLINK("http://...")`` or ``+cmd|' /C calc'!A0`` must stay text in Excel and LibreOffice. A text
cell starting with ``= + - @``, a tab, a carriage return or a line feed (or the fullwidth ``＝ ＋ － ＠``,
which some spreadsheet programs fold to the ASCII ones) gets a leading single quote. Numbers, dates and
booleans stay what they are. In xlsx, strings are written with ``write_string`` only: no cell is a formula.

A sheet with columns for people to fill (:class:`InputColumn`) is protected without a password: those cells
are unlocked and checked (a dropdown of allowed values, or a date), every other cell is locked. The protection
guides reviewers away from editing the evidence by mistake; it does not secure anything (anyone can lift it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

FILE_MODE = 0o600
DIR_MODE = 0o700
# Characters that make a spreadsheet program read a cell as a formula (or that hide one after them).
TRIGGER_CHARS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
_TRIGGER_PATTERN = r"^[=+\-@\t\r\n\uff1d\uff0b\uff0d\uff20]"
_EXCEL_MAX_ROWS = 1_048_576
_SHEET_FORBIDDEN = set("[]:*?/\\")
_MIN_WIDTH, _MAX_WIDTH, _WRAP_WIDTH = 8, 60, 60
NOTES_SHEET = "Notes"
# The earliest and latest date a date-checked cell accepts: wide enough for any review, narrow enough to catch
# a day and month typed the wrong way round into a two-digit year.
_DATE_CHECK_RANGE = (dt.date(2000, 1, 1), dt.date(2099, 12, 31))
_PROMPT_TITLE_MAX, _PROMPT_MAX = 32, 255  # Excel's limits for an input message


@dataclass(frozen=True)
class InputColumn:
    """A column people fill in: unlocked on a protected sheet, with a check and an input message.

    ``allowed`` gives a dropdown of those values (and refuses others); ``is_date`` accepts only a date.
    """

    name: str
    prompt: str
    allowed: tuple[str, ...] = ()
    is_date: bool = False


def neutralise_cell(value: Any) -> Any:
    """``value`` as a spreadsheet program will show it and never evaluate it: text starting with a formula
    trigger gets a leading single quote; anything that is not text is returned unchanged."""
    if isinstance(value, str) and value and value[0] in TRIGGER_CHARS:
        return "'" + value
    return value


def restore_cell(value: Any) -> Any:
    """The inverse of :func:`neutralise_cell`, for reading a published file back (outcomes import)."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and value[1] in TRIGGER_CHARS:
        return value[1:]
    return value


def private_dir(path: Path) -> Path:
    """Create ``path`` (and any missing parents) owner-only, or tighten an existing folder to owner-only."""
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile: tightened below
            folder.mkdir(mode=DIR_MODE)
    for folder in (path, *missing):
        if folder.stat().st_mode & 0o077:
            os.chmod(folder, DIR_MODE)
    return path


def _write_private(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path``, owner-only from creation; atomic (temporary name, then rename)."""
    path = Path(path)
    if not path.parent.exists():
        private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


def _people_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists joined with "; ", categoricals as text, every text column neutralised (vectorised)."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.List | pl.Array):
            col = col.cast(pl.List(pl.String)).list.join("; ")
            dtype = pl.String()
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            col = col.cast(pl.String)
            dtype = pl.String()
        if dtype == pl.String:
            col = pl.when(col.str.contains(_TRIGGER_PATTERN)).then(pl.lit("'") + col).otherwise(col)
        exprs.append(col.alias(str(neutralise_cell(name))))
    return frame.select(exprs)


def write_csv(frame: pl.DataFrame, path: Path, *, float_precision: int | None = None) -> Path:
    """Write ``frame`` as UTF-8 CSV with a byte-order mark (so Excel shows £ correctly), owner-only.
    ``float_precision``: decimal places for every float column (default: as many as needed)."""
    buffer = io.BytesIO()
    _people_frame(frame).write_csv(
        buffer,
        include_bom=True,
        date_format="%Y-%m-%d",
        quote_style="necessary",
        float_precision=float_precision,
    )
    return _write_private(Path(path), buffer.getvalue())


def _check_sheet_name(name: str) -> None:
    if (
        not name
        or len(name) > 31
        or _SHEET_FORBIDDEN & set(name)
        or name.startswith("'")
        or name.endswith("'")
    ):
        raise ValueError(f"{name!r} is not a valid Excel sheet name (1-31 characters, none of []:*?/\\)")


def _text_width(value: Any) -> int:
    text = value if isinstance(value, str) else str(value)
    return max((len(line) for line in text.splitlines()), default=0)


def _column_width(name: str, values: pl.Series, wrap: bool, fixed: Mapping[str, int]) -> int:
    if name in fixed:
        return fixed[name]
    if wrap:
        return _WRAP_WIDTH
    sample = values.drop_nulls().head(500).to_list()
    longest = max([_text_width(name), *(_text_width(v) for v in sample)])
    return max(_MIN_WIDTH, min(_MAX_WIDTH, longest + 2))


def write_xlsx(
    sheets: Mapping[str, pl.DataFrame],
    path: Path,
    *,
    wrap_columns: Sequence[str] = (),
    column_widths: Mapping[str, int] | None = None,
    notes: str | None = None,
    inputs: Sequence[InputColumn] = (),
    grouped_columns: Sequence[str] = (),
) -> Path:
    """Write one sheet per frame (header row frozen and filterable, readable widths), plus a last sheet
    "Notes" holding ``notes`` one line per row; owner-only. No cell is ever a formula.

    A sheet holding any of the ``inputs`` columns is protected (no password), those cells unlocked and checked;
    ``grouped_columns`` are put in one collapsible outline group (technical columns a reader can fold away).
    """
    import xlsxwriter  # only the commands that publish need it

    for name in sheets:
        _check_sheet_name(name)
    if notes is not None and NOTES_SHEET in sheets:
        raise ValueError(f"a sheet may not be called {NOTES_SHEET!r} when notes are given")
    fixed = dict(column_widths or {})
    wrap = set(wrap_columns)
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    header = workbook.add_format(
        {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#D9E1F2", "bottom": 1}
    )
    top = workbook.add_format({"valign": "top"})
    wrapped = workbook.add_format({"valign": "top", "text_wrap": True})
    dates = workbook.add_format({"valign": "top", "num_format": "yyyy-mm-dd"})
    stamps = workbook.add_format({"valign": "top", "num_format": "yyyy-mm-dd hh:mm"})
    unlocked = {
        "text": workbook.add_format({"valign": "top", "locked": False, "bg_color": "#FFF9E5"}),
        "wrapped": workbook.add_format(
            {"valign": "top", "text_wrap": True, "locked": False, "bg_color": "#FFF9E5"}
        ),
        "date": workbook.add_format(
            {"valign": "top", "num_format": "yyyy-mm-dd", "locked": False, "bg_color": "#FFF9E5"}
        ),
    }
    by_input = {i.name: i for i in inputs}
    grouped = set(grouped_columns)
    for sheet_name, frame in sheets.items():
        if frame.height + 1 > _EXCEL_MAX_ROWS:
            raise ValueError(f"sheet {sheet_name!r} has {frame.height} rows, more than Excel can hold")
        people = _people_frame(frame)
        ws = workbook.add_worksheet(sheet_name)
        for c, (original, name) in enumerate(zip(frame.columns, people.columns, strict=True)):
            is_wrapped = original in wrap
            ws.write_string(0, c, name, header)
            column = by_input.get(original)
            if column is not None:
                cell_format = unlocked["date" if column.is_date else "wrapped" if is_wrapped else "text"]
            else:
                cell_format = wrapped if is_wrapped else top
            width = _column_width(original, people[name], is_wrapped, fixed)
            options = {"level": 1, "hidden": False} if original in grouped else None
            ws.set_column(c, c, width, cell_format, options)
            for r, value in enumerate(people[name].to_list(), start=1):
                if column is not None and value is None:
                    ws.write_blank(r, c, None, cell_format)  # a blank input cell still carries "unlocked"
                else:
                    input_date = unlocked["date"] if column is not None else dates
                    _write_cell(ws, r, c, value, cell_format, input_date, stamps)
            if column is not None and people.height:
                _add_check(ws, people.height, c, column)
        ws.freeze_panes(1, 0)
        if people.width:
            ws.autofilter(0, 0, max(people.height, 1), people.width - 1)
        if any(c in by_input for c in frame.columns):
            # No password: the lock steers reviewers to the input columns; filtering, sorting and resizing
            # still work.
            ws.protect(
                "",
                {
                    "autofilter": True,
                    "sort": True,
                    "format_columns": True,
                    "format_rows": True,
                    "select_locked_cells": True,
                    "select_unlocked_cells": True,
                },
            )
    if notes is not None:
        ws = workbook.add_worksheet(NOTES_SHEET)
        ws.set_column(0, 0, 110, wrapped)
        for r, line in enumerate(notes.splitlines()):
            ws.write_string(r, 0, neutralise_cell(line), wrapped)
    workbook.close()
    return _write_private(Path(path), buffer.getvalue())


def _add_check(ws: Any, rows: int, col: int, column: InputColumn) -> None:
    """Data validation on rows 1..``rows`` (0-based; row 0 is the header) of ``col``, with its input message."""
    message = {
        "input_title": column.name[:_PROMPT_TITLE_MAX],
        "input_message": column.prompt[:_PROMPT_MAX],
        "error_title": f"Not a valid {column.name}"[:_PROMPT_TITLE_MAX],
    }
    if column.allowed:
        ws.data_validation(
            1,
            col,
            rows,
            col,
            {
                "validate": "list",
                "source": list(column.allowed),
                "error_message": ("Choose one of: " + ", ".join(column.allowed))[:_PROMPT_MAX],
                **message,
            },
        )
    elif column.is_date:
        first, last = _DATE_CHECK_RANGE
        ws.data_validation(
            1,
            col,
            rows,
            col,
            {
                "validate": "date",
                "criteria": "between",
                "minimum": dt.datetime.combine(first, dt.time()),
                "maximum": dt.datetime.combine(last, dt.time()),
                "error_message": "Type a date, for example 10/03/2025.",
                **message,
            },
        )
    elif column.prompt:
        ws.data_validation(1, col, rows, col, {"validate": "any", **message})


def _write_cell(ws: Any, row: int, col: int, value: Any, text: Any, dates: Any, stamps: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        ws.write_boolean(row, col, value, text)
    elif isinstance(value, int | float | Decimal):
        number = float(value)
        if math.isfinite(number):
            ws.write_number(row, col, number, text)
    elif isinstance(value, dt.datetime):
        ws.write_datetime(row, col, value.replace(tzinfo=None), stamps)
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()), dates)
    else:
        ws.write_string(row, col, str(neutralise_cell(str(value))), text)
