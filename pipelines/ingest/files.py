"""A landlord's export files before reading: which files match, what each really holds (its format and
fingerprint), its encoding (transcoded to UTF-8 where needed) and its header line.

``SourceFile`` carries one file through the load; ``FileProblem`` is a file-level refusal naming the file (and the
row and column where there is one); ``RowReject`` one row set aside.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import glob
import hashlib
import io
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

pass

log = logging.getLogger(__name__)

_DELIMITERS = (",", ";", "\t", "|")

Format = Literal["csv", "xlsx", "parquet"]


_CHUNK = 8 * 1024 * 1024


_BLANK_LINE = re.compile(rb"\n\r?\n")


class FileProblem(Exception):
    """A file-level problem: nothing from this file loads. The message names the file (and row/column if "
    "any)."""

    def __init__(self, file_name: str, message: str) -> None:
        super().__init__(f"{file_name}: {message}")
        self.file_name = file_name
        self.detail = message


@dataclass
class SourceFile:
    """One export file as found on disk, fingerprinted; ``read_path`` is what DuckDB reads (UTF-8)."""

    path: Path
    name: str
    fmt: Format
    sha256: str
    size_bytes: int
    encoding: str | None = None
    read_path: Path | None = None
    has_blank_lines: bool = False
    headers: tuple[str, ...] = ()
    delimiter: str = ","
    # canonical column -> position in ``headers``
    positions: dict[str, int] = field(default_factory=dict)
    # the extract date (knowledge time), settled by ``knowledge.extract_date`` before the file is read
    known_on: dt.date | None = None


@dataclass
class RowReject:
    """A row the reader could not split into fields (truncated line, stray quote): quarantined, the rest "
    "loads."""

    file_idx: int
    row: int
    column: str | None
    reason: str


def quote_identifier(name: str) -> str:
    """A SQL identifier for any text (a landlord's header, a canonical name): double quotes, inner quotes "
    "doubled."""
    if "\x00" in name:
        raise ValueError("an identifier cannot contain a NUL character")
    return '"' + name.replace('"', '""') + '"'


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key putting ``file_2`` before ``file_10`` (case-insensitive)."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name.lower())
    )


def file_format(path: Path) -> Format | None:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv", ".psv"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    return None


def resolve_files(extracts_dir: Path, patterns: Sequence[str]) -> list[Path]:
    """Files matching the mapping's globs (relative to the extracts folder), in natural order of their "
    "names."""
    found: dict[Path, None] = {}
    for pattern in patterns:
        for match in glob.glob(str(extracts_dir / pattern), recursive=True):
            p = Path(match)
            if p.is_file() and not p.name.startswith(("~$", ".")):
                found[p] = None
    return sorted(found, key=lambda p: natural_key(str(p.relative_to(extracts_dir))))


def unmatched_files(extracts_dir: Path, patterns: Sequence[str], matched: Iterable[Path]) -> list[str]:
    """Data files (CSV, Excel, Parquet) lying in the folders the mapping's patterns look in that no pattern
    matched, as names relative to the extracts folder, in natural order.

    A new export named differently from the mapping ("Repairs Dec.csv" where the mapping says ``repairs_*.csv``)
    is otherwise never loaded and never mentioned. Only the extracts folder itself and the folders the patterns
    point into are looked at (a pattern's folder part, its wildcards expanded; a ``**`` part is not followed), so
    an archive folder beside them is not reported. Hidden files and Excel's lock files (``~$``) are left out, as
    ``resolve_files`` leaves them out."""
    seen = set(matched)
    folders: dict[Path, None] = {extracts_dir: None}  # a new export is often dropped at the top
    for pattern in patterns:
        parent = Path(pattern).parent
        if "**" in parent.parts:
            parent = Path(*parent.parts[: parent.parts.index("**")])
        for match in glob.glob(str(extracts_dir / parent)):
            if Path(match).is_dir():
                folders[Path(match)] = None
    found = [
        p
        for folder in folders
        for p in folder.iterdir()
        if p.is_file() and file_format(p) is not None and not p.name.startswith(("~$", ".")) and p not in seen
    ]
    return sorted((str(p.relative_to(extracts_dir)) for p in found), key=natural_key)


def fingerprint(path: Path, name: str, declared_encoding: str | None, tmp_dir: Path) -> SourceFile:
    """Hash the file and, for CSV, settle its encoding (transcoding to UTF-8 if needed) in as few passes as "
    "possible."""
    fmt = file_format(path)
    if fmt is None:
        raise FileProblem(name, "not a CSV, .xlsx or Parquet file (by its extension)")
    digest = hashlib.sha256()
    size = 0
    blank = False
    decoder = (
        codecs.getincrementaldecoder("utf-8")()
        if fmt == "csv" and declared_encoding in (None, "utf-8")
        else None
    )
    utf8_error: tuple[int, UnicodeDecodeError] | None = None
    tail = b""
    head = b""
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                if not size:
                    head = chunk[:_SNIFF_BYTES]
                digest.update(chunk)
                if fmt == "csv":
                    if not blank:
                        # (A regular expression: faster than `b"\n\n" in window`; docs/scaling.md.)
                        blank = _BLANK_LINE.search(tail + chunk) is not None
                        tail = chunk[-2:]
                    # An ASCII chunk with no character left open before it is UTF-8: no need to decode it.
                    if (
                        decoder is not None
                        and utf8_error is None
                        and not (chunk.isascii() and not decoder.getstate()[0])
                    ):
                        try:
                            decoder.decode(chunk)
                        except UnicodeDecodeError as exc:
                            utf8_error = (size + exc.start, exc)
                size += len(chunk)
            if decoder is not None and utf8_error is None:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError as exc:
                    utf8_error = (size, exc)
    except OSError as exc:
        raise FileProblem(name, f"cannot be read ({exc.strerror})") from None
    problem = content_problem(fmt, head)
    if problem is not None:
        raise FileProblem(name, problem)
    src = SourceFile(
        path=path, name=name, fmt=fmt, sha256=digest.hexdigest(), size_bytes=size, has_blank_lines=blank
    )
    if fmt != "csv":
        return src
    if size == 0:
        raise FileProblem(name, "is empty (no header row)")
    encoding = declared_encoding
    if utf8_error is not None:
        if declared_encoding == "utf-8":
            row, column = _locate_offset(path, utf8_error[0])
            raise FileProblem(
                name,
                f"row {row}{column}: bytes that are not UTF-8, but the mapping says encoding utf-8 "
                "(a Windows export? set `encoding: cp1252` for this extract)",
            )
        encoding = "cp1252"
        log.warning("%s is not UTF-8: reading it as Windows-1252", name)
    src.encoding = encoding or "utf-8"
    if src.encoding == "utf-8":
        src.read_path = path
    else:
        src.read_path = _transcode(path, name, src.encoding, tmp_dir)
    return src


# The first bytes of a file, enough to tell what it really holds.
_SNIFF_BYTES = 64 * 1024


_ZIP = b"PK\x03\x04"


_OLE = b"\xd0\xcf\x11\xe0"  # an old .xls workbook (or another Office 97 file)


def content_problem(fmt: Format, head: bytes) -> str | None:
    """What is wrong when a file's first bytes do not hold what its extension says (a zip or binary data named
    .csv, a CSV named .xlsx, a half-transferred file): the rest of the sentence after its name, else None."""
    if not head:
        return None if fmt == "csv" else "is empty"
    if fmt == "xlsx":
        if head.startswith(_OLE):
            return "is an old-style .xls workbook, not .xlsx: save it as .xlsx or CSV"
        if not head.startswith(_ZIP):
            return "is not an .xlsx workbook although its name says so: a CSV or another file renamed?"
        return None
    if fmt == "parquet":
        return None if head.startswith(b"PAR1") else "is not a Parquet file although its name says so"
    if head.startswith(_ZIP):
        return "is a zip archive or an .xlsx workbook, not CSV text: unzip it, or name a workbook .xlsx"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf")):
        return "is a compressed archive, not CSV text: decompress it first"
    if head.startswith(_OLE):
        return "is an old-style Excel (.xls) or Office file, not CSV text"
    if head.startswith(b"PAR1"):
        return "is a Parquet file, not CSV text: name it .parquet"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "is UTF-16 text; export it as UTF-8 (or Windows-1252) CSV"
    if b"\x00" in head:
        return "holds binary data, not CSV text: a partial transfer, or the wrong file?"
    return None


def _locate_offset(path: Path, offset: int) -> tuple[int, str]:
    """Row (physical line, header = 1) and ' , column N' of a byte offset, for error messages."""
    with path.open("rb") as fh:
        head = fh.read(offset)
    row = head.count(b"\n") + 1
    line_start = head.rfind(b"\n") + 1
    first = path.open("rb").readline().decode("utf-8", "replace")
    delimiter = sniff_delimiter(first)
    headers = parse_header_line(first, delimiter)
    col_idx = head[line_start:].count(delimiter.encode())
    column = f", column '{headers[col_idx]}'" if col_idx < len(headers) else f", field {col_idx + 1}"
    return row, column


def _transcode(path: Path, name: str, encoding: str, tmp_dir: Path) -> Path:
    out = tmp_dir / f"{hashlib.sha1(str(path).encode()).hexdigest()[:16]}.utf8.csv"
    decoder = codecs.getincrementaldecoder(encoding)()
    done = 0
    with path.open("rb") as fin, out.open("w", encoding="utf-8", newline="") as fout:
        while chunk := fin.read(_CHUNK):
            try:
                fout.write(decoder.decode(chunk))
            except UnicodeDecodeError as exc:
                row, column = _locate_offset(path, done + exc.start)
                raise FileProblem(name, f"row {row}{column}: bytes that are not valid {encoding}") from None
            done += len(chunk)
        fout.write(decoder.decode(b"", final=True))
    return out


def sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_header_line(text: str, delimiter: str) -> list[str]:
    try:
        row = next(csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"'), [])
    except csv.Error:  # a stray carriage return or NUL: not a header of names; the caller says so
        row = [text]
    return [h.strip().lstrip("\ufeff") for h in row]
