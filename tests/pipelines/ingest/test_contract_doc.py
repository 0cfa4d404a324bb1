"""docs/contract.md and the CLI stay in step: every documented command exists, every command is documented."""

import re
from pathlib import Path

from pipelines.cli.main import build_parser

DOC = Path(__file__).resolve().parents[3] / "docs" / "contract.md"


def _cli_commands() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return set(sub.choices)  # type: ignore[arg-type]


def test_every_cli_command_is_documented_and_every_documented_command_exists() -> None:
    documented = set(re.findall(r"`redflags ([a-z]+)", DOC.read_text(encoding="utf-8")))
    assert documented == _cli_commands()


def test_documented_run_options_exist() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    run = sub.choices["run"]  # type: ignore[index]
    options = {s for a in run._actions for s in a.option_strings}
    assert {"--extracts", "--mapping", "--as-of", "--db", "--out", "--config"} <= options
