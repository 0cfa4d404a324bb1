"""A weekly run with no new files does not import Great Expectations (issue 23): its import costs about 2 s and
250 MiB, and there is nothing to validate. Each run is its own process, as `redflags run` is (slow: whole flows)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.synth.standard import write_landlord

pytestmark = pytest.mark.slow

AS_OF = dt.date(2025, 6, 29)

# Runs `redflags run` in this process and reports, on its last line, its exit code and whether Great
# Expectations was imported.
_RUN = """
import json, sys
from pipelines.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "gx": "great_expectations" in sys.modules}))
"""


def _run_in_process(extracts: Path, tmp: Path) -> dict[str, object]:
    argv = [
        "run",
        "--extracts",
        str(extracts),
        "--mapping",
        str(extracts / "mapping.yaml"),
        "--as-of",
        AS_OF.isoformat(),
        "--db",
        str(tmp / "rf.duckdb"),
        "--out",
        str(tmp / "out"),
    ]
    done = subprocess.run(
        [sys.executable, "-c", _RUN, *argv], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_run_without_new_files_does_not_import_great_expectations(tmp_path: Path, db_key: str) -> None:
    extracts = tmp_path / "extracts"
    write_landlord(extracts, homes=300, years=1, seed=5, as_of=AS_OF)

    first = _run_in_process(extracts, tmp_path)
    assert first == {"code": 0, "gx": True}, "new files are validated, so the first run imports GX"

    again = _run_in_process(extracts, tmp_path)
    assert again == {"code": 0, "gx": False}
