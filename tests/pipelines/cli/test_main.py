import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli.main import main


def test_help_is_fast_and_imports_nothing_heavy() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); from pipelines.cli.main import build_parser; build_parser();"
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


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"redflags {version('repairs-red-flags')}"


def test_every_option_and_argument_has_help() -> None:
    from pipelines.cli.main import _subparsers, build_parser

    parser = build_parser()
    missing = [
        (p.prog, a.option_strings or a.dest)
        for p in [parser, *_subparsers(parser)]
        for a in p._actions
        if not a.help and a.dest not in ("command", "outcomes_command")
    ]
    assert missing == []
    assert len(_subparsers(parser)) >= 12  # every command, and outcomes import


def test_global_flags_are_accepted_after_the_command_too() -> None:
    from pipelines.cli.main import build_parser

    parser = build_parser()
    before = parser.parse_args(["--debug", "history", "T1"])
    after = parser.parse_args(["history", "T1", "--debug", "-v"])
    neither = parser.parse_args(["history", "T1"])
    nested = parser.parse_args(["outcomes", "import", "f.csv", "--verbose"])
    assert (before.debug, before.verbose) == (True, False)
    assert (after.debug, after.verbose) == (True, True)
    assert (neither.debug, neither.verbose) == (False, False)
    assert (nested.debug, nested.verbose) == (False, True)


def test_environment_variables_are_the_defaults_of_db_out_and_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.cli.main import DEFAULT_DB, DEFAULT_OUT, build_parser

    run = ["run", "--extracts", "e", "--mapping", "m.yaml", "--as-of", "2025-03-09"]
    plain = build_parser().parse_args(run)
    assert (plain.db, plain.out, plain.config) == (DEFAULT_DB, DEFAULT_OUT, None)
    monkeypatch.setenv("REDFLAGS_DB", "/srv/rf/landlord.duckdb")
    monkeypatch.setenv("REDFLAGS_OUT", "/srv/rf/lists")
    monkeypatch.setenv("REDFLAGS_CONFIG", "/srv/rf/settings.yaml")
    parser = build_parser()
    args = parser.parse_args(run)
    assert (args.db, args.out, args.config) == (
        "/srv/rf/landlord.duckdb",
        "/srv/rf/lists",
        "/srv/rf/settings.yaml",
    )
    given = parser.parse_args([*run, "--db", "x.duckdb", "--out", "o", "--config", "c.yaml"])
    assert (given.db, given.out, given.config) == ("x.duckdb", "o", "c.yaml")  # the command line wins
    # Options that mean something else keep their own defaults: synth's --out is required, the backtest's
    # --db is "a temporary one" and the report's --out is the report folder.
    assert parser.parse_args(["synth", "--out", "s"]).out == "s"
    backtest = parser.parse_args(
        ["backtest", "--extracts", "e", "--mapping", "m", "--from", "2025-01-05", "--to", "2025-03-09"]
    )
    assert (backtest.db, backtest.out, backtest.config) == (None, "./backtest", "/srv/rf/settings.yaml")
    assert parser.parse_args(["report"]).out == "./report"
    assert parser.parse_args(["outcomes", "import", "f.csv"]).db == "/srv/rf/landlord.duckdb"
    assert "REDFLAGS_DB" in parser._subparsers._group_actions[0].choices["history"].format_help()  # type: ignore[union-attr]
