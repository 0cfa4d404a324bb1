"""Errors that the command line shows as one sentence (with --debug: the traceback too)."""

from __future__ import annotations


class UserError(Exception):
    """Something the person running the command can fix: bad input, a missing file, a wrong key."""

    exit_code = 1  # docs/contract.md "Exit codes": 1 is also "some files could not be loaded"


class ConfigError(UserError):
    """A usage or configuration problem: a missing folder or mapping file, a bad setting (exit code 2)."""

    exit_code = 2


class NotImplementedYet(UserError):
    exit_code = 2


def retry_io(task: object, task_run: object, state: object) -> bool:
    """Prefect ``retry_condition_fn``: retry only what may pass on a second try (a locked database, a file share
    blinking), never bad input (a :class:`UserError`) or a bug."""
    try:
        # Read, not raised: raising would add this frame to the traceback the run's log shows.
        exc = state.result(raise_on_failure=False)  # type: ignore[attr-defined]
    except Exception:  # the failure could not be read back: do not guess
        return False
    if isinstance(exc, UserError):
        return False
    if isinstance(exc, OSError | TimeoutError):
        return True
    return type(exc).__name__ in {"IOException", "ConnectionException"}  # duckdb's I/O errors
