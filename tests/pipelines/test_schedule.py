import argparse
from pathlib import Path

import pytest

from pipelines.errors import UserError
from pipelines.schedule import deployment_parameters, weekly_schedule
from pipelines.settings import load_settings


def test_the_default_schedule_is_monday_six_in_london_time() -> None:
    settings = load_settings()
    schedule = weekly_schedule(settings.schedule.cron, settings.schedule.timezone)
    assert schedule.cron == "0 6 * * 1"
    assert schedule.timezone == "Europe/London"  # a bare cron string would run in UTC


def _args(tmp_path: Path, **overrides: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "extracts": str(tmp_path),
        "mapping": str(tmp_path / "mapping.yaml"),
        "db": str(tmp_path / "rf.duckdb"),
        "out": str(tmp_path / "out"),
        "report": str(tmp_path / "report"),
        "config": None,
        "allow_unencrypted": False,
    }
    values.update(overrides)
    return argparse.Namespace(**values)


def test_parameters_are_absolute_paths(tmp_path: Path) -> None:
    (tmp_path / "mapping.yaml").write_text("landlord: x\n")
    params = deployment_parameters(_args(tmp_path))
    assert all(Path(params[k]).is_absolute() for k in ("extracts", "mapping", "db", "out", "report"))


def test_serve_needs_the_extracts_folder_and_mapping(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="serve needs --extracts and --mapping"):
        deployment_parameters(_args(tmp_path, extracts=None))
    with pytest.raises(UserError, match=r"mapping file .* does not exist"):
        deployment_parameters(_args(tmp_path))
