import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli import main


def test_help_is_fast_and_imports_nothing_heavy() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); from pipelines.cli import build_parser; build_parser();"
        "heavy = [m for m in ('prefect', 'great_expectations', 'sklearn', 'pandas', 'polars') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_contract_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (
        "demo",
        "synth",
        "run",
        "classify",
        "outcomes",
        "history",
        "backtest",
        "report",
        "serve",
        "purge",
    ):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: redflags" in capsys.readouterr().out


def test_bad_date_is_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--extracts", ".", "--mapping", "m.yaml", "--as-of", "31/02/2025"])
    assert exit_info.value.code == 2
    assert "'31/02/2025' is not a date in the form YYYY-MM-DD" in capsys.readouterr().err


def test_missing_extracts_folder_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "run",
            "--extracts",
            str(tmp_path / "nope"),
            "--mapping",
            "m.yaml",
            "--as-of",
            "2025-03-09",
            "--db",
            str(tmp_path / "x.duckdb"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2  # usage or configuration
    assert "does not exist" in err and "Traceback" not in err


def test_history_without_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["history", "T1", "--db", str(tmp_path / "none.duckdb")])
    assert code != 0
    assert "Traceback" not in capsys.readouterr().err
