"""Terminal manners: stage-by-stage progress on a terminal, plain log lines elsewhere.

Messages carry counts and file names, never content from the extracts (no references, no free text).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("redflags")


def configure_logging(verbose: bool = False, debug: bool = False) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(level)
    if not debug:
        # Libraries set their own loggers' levels when imported (after this runs): filter at the handler.
        handler.addFilter(_quiet_libraries)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


_NOISY = ("great_expectations", "httpx", "urllib3", "matplotlib", "asyncio", "prefect.server")


def _quiet_libraries(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or not record.name.startswith(_NOISY)


class Progress:
    """Reports stages: ``with progress.stage("Reading repairs"): ...``; ``progress.done("12,000 rows")``."""

    def __init__(self, stream=None, enabled: bool | None = None) -> None:  # type: ignore[no-untyped-def]
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if enabled is None else enabled

    def say(self, message: str) -> None:
        if self.interactive:
            self.stream.write(message + "\n")
            self.stream.flush()
        else:
            log.info(message)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        if self.interactive:
            self.stream.write(f"  {name} ...")
            self.stream.flush()
        try:
            yield
        except BaseException:
            if self.interactive:
                self.stream.write(" failed\n")
            raise
        elapsed = time.perf_counter() - started
        if self.interactive:
            self.stream.write(f" done ({elapsed:.1f} s)\n")
            self.stream.flush()
        else:
            log.info("%s: done in %.1f s", name, elapsed)


_default = Progress(enabled=False)


def get_progress() -> Progress:
    return _default


def set_progress(progress: Progress) -> None:
    global _default
    _default = progress
