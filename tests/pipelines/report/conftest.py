"""The report's tests share tests/pipelines/monitoring_fixtures.py (also used by test_runs.py) with their parent
folder: put that folder on the import path however pytest was started (one file, the folder, the suite)."""

from __future__ import annotations

import sys
from pathlib import Path

_PARENT = str(Path(__file__).resolve().parents[1])
if _PARENT not in sys.path:
    sys.path.insert(0, _PARENT)
