"""Files a weekly run has already hashed, known again without re-reading their bytes.

A weekly run sees years of extract files, of which a handful are new. Hashing every file's bytes to find them
cost about 3 CPU-seconds a week at 160,000 homes (docs/scaling.md). The table ``file_fingerprints`` keeps, for
each file hashed, what its file system said about it then: its real path, device and inode, size, and
modification and change times (nanoseconds). A file whose every one of these is unchanged has the bytes it had,
so its sha256 is the one kept; any difference (a file restated in place, replaced by a copy, touched, moved) and
it is hashed again, as before. The change time (``st_ctime``) is set by the kernel on every write and cannot be
set back by copy tools that keep modification times, which is what makes the test safe on POSIX systems; on
Windows ``st_ctime`` is the creation time, so there every file is hashed every run.

Grain: one row per real path (the latest fingerprint of that path). Paths are already kept in clear in
``loaded_files``; nothing here says anything about a household.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import duckdb
import polars as pl

from pipelines.warehouse.connection import transaction

log = logging.getLogger(__name__)

# (real path, device, inode, size in bytes, modification time ns, change time ns)
StatKey = tuple[str, int, int, int, int, int]

# Only where the change time is the kernel's record of the last write (see the module's docstring).
TRUSTED = os.name == "posix"


def stat_key(path: Path) -> StatKey | None:
    """What the file system says about ``path`` now (following links), or None when it cannot say or is not
    trusted to (a file that cannot be read is hashed, and fails, as before)."""
    if not TRUSTED:
        return None
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    return (real, int(st.st_dev), int(st.st_ino), int(st.st_size), int(st.st_mtime_ns), int(st.st_ctime_ns))


def known_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[StatKey, str]:
    """Every kept fingerprint: stat key -> the sha256 of the file's bytes when it had that key."""
    rows = con.sql(
        "select real_path, device, inode, size_bytes, mtime_ns, ctime_ns, sha256 from file_fingerprints"
    ).fetchall()
    return {(str(p), int(d), int(i), int(s), int(m), int(c)): str(h) for p, d, i, s, m, c, h in rows}


def remember(con: duckdb.DuckDBPyConnection, hashed: Iterable[tuple[StatKey, str]]) -> None:
    """Keep the fingerprints of files just hashed (stat key taken before reading, sha256 of what was read),
    replacing any earlier one of the same path. A file changed while it was read gets a new modification time,
    so its next run hashes it again."""
    rows = list(hashed)
    if not rows:
        return
    frame = pl.DataFrame(
        [(*key, sha) for key, sha in rows],
        schema={
            "real_path": pl.String,
            "device": pl.UInt64,
            "inode": pl.UInt64,
            "size_bytes": pl.Int64,
            "mtime_ns": pl.Int64,
            "ctime_ns": pl.Int64,
            "sha256": pl.String,
        },
        orient="row",
    ).unique("real_path", keep="last")
    con.register("__fingerprints_view", frame.to_arrow())
    try:
        with transaction(con):
            con.execute(
                "delete from file_fingerprints where real_path in (select real_path from __fingerprints_view)"
            )
            con.execute(
                "insert into file_fingerprints select real_path, device, inode, size_bytes, mtime_ns, ctime_ns,"
                " sha256, current_timestamp from __fingerprints_view"
            )
    except duckdb.TransactionException:
        # Two extracts loading side by side whose patterns both match a file write its row at once: one of
        # them is refused. Nothing is lost but a shortcut: the file is hashed again next run.
        log.warning("file fingerprints not kept this run (another load wrote the same files' rows)")
    finally:
        con.unregister("__fingerprints_view")
