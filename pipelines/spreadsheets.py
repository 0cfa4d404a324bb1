"""The one place that writes CSV and Excel files for people to open.

Every file is owner-only (0o600) from its first byte: it is written under a temporary name in the same
folder (created by ``os.open(..., 0o600)``) and renamed over the target, so nobody ever sees a half-written
list or a readable one. Folders are owner-only (0o700).

Text is neutralised against formula injection (OWASP "CSV injection"): a repair description such as
``=HYPERLINK("http://...")`` or ``+cmd|' /C calc'!A0`` must stay text in Excel and LibreOffice. A text
cell starting with ``= + - @``, a tab, a carriage return or a line feed (or the fullwidth ``＝ ＋ － ＠``,
which some spreadsheet programs fold to the ASCII ones) gets a leading single quote. Numbers, dates and
booleans stay what they are. In xlsx, strings are written with ``write_string`` only: no cell is a formula.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
import os
import secrets
from collections.abc import Mapping, Sequence
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


def write_csv(frame: pl.DataFrame, path: Path) -> Path:
    """Write ``frame`` as UTF-8 CSV with a byte-order mark (so Excel shows £ correctly), owner-only."""
    buffer = io.BytesIO()
    _people_frame(frame).write_csv(buffer, include_bom=True, date_format="%Y-%m-%d", quote_style="necessary")
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
) -> Path:
    """Write one sheet per frame (header row frozen and filterable, readable widths), plus a last sheet
    "Notes" holding ``notes`` one line per row; owner-only. No cell is ever a formula."""
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
    for sheet_name, frame in sheets.items():
        if frame.height + 1 > _EXCEL_MAX_ROWS:
            raise ValueError(f"sheet {sheet_name!r} has {frame.height} rows, more than Excel can hold")
        people = _people_frame(frame)
        ws = workbook.add_worksheet(sheet_name)
        for c, (original, name) in enumerate(zip(frame.columns, people.columns, strict=True)):
            is_wrapped = original in wrap
            ws.write_string(0, c, name, header)
            ws.set_column(
                c, c, _column_width(original, people[name], is_wrapped, fixed), wrapped if is_wrapped else top
            )
            cell_format = wrapped if is_wrapped else top
            for r, value in enumerate(people[name].to_list(), start=1):
                _write_cell(ws, r, c, value, cell_format, dates, stamps)
        ws.freeze_panes(1, 0)
        if people.width:
            ws.autofilter(0, 0, max(people.height, 1), people.width - 1)
    if notes is not None:
        ws = workbook.add_worksheet(NOTES_SHEET)
        ws.set_column(0, 0, 110, wrapped)
        for r, line in enumerate(notes.splitlines()):
            ws.write_string(r, 0, neutralise_cell(line), wrapped)
    workbook.close()
    return _write_private(Path(path), buffer.getvalue())


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
