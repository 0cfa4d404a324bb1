"""Logs carry counts, never content: sentinels planted in every free-text and reference field of a synthetic
landlord must not reach a log record at INFO or above, the terminal, an exception message, Prefect's own run
logs or Prefect's home folder, nor (for free text) the database file. They must reach the published lists,
which is what shows the planting worked."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest

from pipelines.cli.main import main
from pipelines.core import progress

AS_OF = dt.date(2025, 3, 9)
KEY = "sentinel-test-key"
DESC = "SENTINELDESC"
REF = "SENTREF"
SENTINELS = (DESC, REF)
# Per extract: the free-text columns (the sentinel goes in front of the original text, so the red flags still
# fire and households are listed) and the reference columns (prefixed the same way everywhere, so joins hold).
FREE_TEXT = {"repairs": ("description",), "recharges": ("reason",), "asb": ("description",)}
REFERENCES = ("job_ref", "property_ref", "tenancy_ref", "recharge_ref", "case_ref", "block_ref", "estate")


def _plant(extracts: Path) -> int:
    """Rewrite every CSV in place; returns how many free-text values now carry a sentinel."""
    planted = 0
    for path in sorted(extracts.rglob("*.csv")):
        extract = path.parent.name
        frame = pl.read_csv(path, infer_schema=False)  # every value as the text in the file
        exprs = [
            pl.when(pl.col(c).is_not_null() & (pl.col(c) != ""))
            .then(pl.lit(REF) + pl.col(c))
            .otherwise(pl.col(c))
            .alias(c)
            for c in REFERENCES
            if c in frame.columns
        ]
        for column in FREE_TEXT.get(extract, ()):
            if column in frame.columns:
                numbered = pl.format(DESC + "{} {}", pl.int_range(pl.len()) + planted, pl.col(column))
                exprs.append(
                    pl.when(pl.col(column).is_not_null())
                    .then(numbered)
                    .otherwise(pl.col(column))
                    .alias(column)
                )
                planted += frame.height
        frame.with_columns(exprs).write_csv(path)
    return planted


@contextlib.contextmanager
def _logging_restored() -> Iterator[None]:
    """Put every logger's level and handlers back afterwards: the CLI points the root logger at this test's
    captured stderr, which is closed once the test ends while Prefect's threads may still log."""
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]
    saved = [(lg, lg.level, lg.handlers[:], lg.propagate) for lg in loggers]
    try:
        yield
    finally:
        for lg, level, handlers, propagate in saved:
            lg.setLevel(level)
            lg.handlers[:] = handlers
            lg.propagate = propagate


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _text_of(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), record.name]
    if record.exc_info:
        parts.append("".join(traceback.format_exception(*record.exc_info)))
    if record.exc_text:
        parts.append(record.exc_text)
    return "\n".join(parts)


def _leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [s for s in SENTINELS if s.lower() in lowered]


def _files_with_sentinels(folder: Path) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            if any(s.lower().encode() in data for s in SENTINELS):
                found.append(str(path.relative_to(folder)))
    return found


@pytest.mark.slow
def test_no_sentinel_reaches_logs_terminal_or_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from pipelines.synth.standard import write_landlord  # fails clearly if the generator is missing

    extracts = tmp_path / "extracts"
    summary = write_landlord(extracts, homes=400, years=1, seed=11, as_of=AS_OF)
    assert _plant(extracts) > 100

    # The CLI replaces the root logger's handlers (caplog's included): add a recorder after it has done so,
    # catching every level, and open Prefect's loggers (normally WARNING and above) down to DEBUG too. Prefect
    # sets up its own loggers when first imported, so import the flow now, before the CLI configures logging.
    import pipelines.flows.weekly_review  # noqa: F401  (fails clearly if `redflags run` is missing)

    recorder = _Records()
    configure: Callable[..., None] = progress.configure_logging

    def configure_and_record(verbose: bool = False, debug: bool = False) -> None:
        configure(verbose=verbose, debug=debug)
        logging.getLogger().addHandler(recorder)
        for name in ("prefect", "prefect.flow_runs", "prefect.task_runs"):
            prefect_logger = logging.getLogger(name)
            prefect_logger.setLevel(logging.DEBUG)
            prefect_logger.addHandler(recorder)

    monkeypatch.setattr(progress, "configure_logging", configure_and_record)
    monkeypatch.setenv("REDFLAGS_DB_KEY", KEY)
    db, out = tmp_path / "w.duckdb", tmp_path / "out"
    argv = [
        "--verbose",
        "--debug",
        "run",
        "--extracts",
        str(extracts),
        "--mapping",
        str(summary.mapping_path),
        "--as-of",
        AS_OF.isoformat(),
        "--db",
        str(db),
        "--out",
        str(out),
    ]
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, temporary_settings

    try:
        # a busy machine can take longer than Prefect's default 20 s to start its temporary server
        with (
            _logging_restored(),
            temporary_settings(updates={PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: 120}),
        ):
            code = main(argv)
    except BaseException as exc:  # --debug lets errors through: their text must be clean too
        text = "".join(traceback.format_exception(exc))
        assert _leaks(text) == [], "a sentinel reached an exception message"
        raise
    captured = capsys.readouterr()
    assert code == 0, f"`redflags run` failed: {captured.err[-2000:]}"

    records = recorder.records + caplog.records
    assert any(r.levelno >= logging.INFO for r in recorder.records), "no log record was captured"
    assert any(r.name.startswith("prefect") for r in recorder.records), "Prefect's run logs were not captured"
    loud = [(r.levelname, r.name, _leaks(_text_of(r))) for r in records if r.levelno >= logging.INFO]
    assert [leak for leak in loud if leak[2]] == []
    assert _leaks(captured.out) == []
    assert _leaks(captured.err) == []  # with --debug this holds DEBUG lines too

    # Prefect's home (its database of flow and task runs, any persisted results) holds no content either.
    prefect_home = Path(os.environ["PREFECT_HOME"])
    assert _files_with_sentinels(prefect_home) == []

    # At rest: free text never reaches the database file in clear (references do, by design).
    data = db.read_bytes()
    assert DESC.lower().encode() not in data.lower()

    # The control: the planted values did go through the pipeline, into the lists people are meant to read.
    published = _files_with_sentinels(out)
    assert any(name.endswith("review_list.csv") for name in published), published
