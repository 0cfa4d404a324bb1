"""Test-wide settings: a private, quiet Prefect home per test process, set before prefect is imported."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
_prefect_home = Path(tempfile.gettempdir()) / f"redflags-prefect-{os.getpid()}-{_worker}"
os.environ["PREFECT_HOME"] = str(_prefect_home)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
# The temporary Prefect server can take well over its default 20 s to start on a busy 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

import pytest  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL_DEV = SHARED / "data" / "real_repairs_dev.csv"


@pytest.fixture(scope="session")
def real_dev_path() -> Path:
    if not REAL_DEV.exists():
        pytest.fail(f"the real labelled dev set is expected at {REAL_DEV} (../shared beside the project)")
    return REAL_DEV


@pytest.fixture
def db_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = "test-key-not-secret"
    monkeypatch.setenv("REDFLAGS_DB_KEY", key)
    return key


_KEY_VARIABLES = ("REDFLAGS_DB_KEY", "REDFLAGS_NEW_DB_KEY")


@pytest.fixture(autouse=True)
def _restore_key_variables() -> Iterator[None]:
    """Puts the database-key variables back as they were after every test.

    `redflags demo` sets REDFLAGS_DB_KEY in its own process (it is a one-shot command), and
    ``monkeypatch.delenv(..., raising=False)`` records nothing when the variable was absent, so without this a
    throwaway key outlived the demo tests and silently encrypted later tests' "unencrypted" databases."""
    before = {name: os.environ.get(name) for name in _KEY_VARIABLES}
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
