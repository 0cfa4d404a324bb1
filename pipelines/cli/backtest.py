"""``redflags backtest``: replay the weekly run over a date range and print its measures."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.backtest.replay import backtest_folder, default_answer_key_path, print_report
from pipelines.cli.main import LEARNING_COMPARE
from pipelines.core.errors import ConfigError, UserError
from pipelines.core.settings import load_settings


def _config_names(config: str | None, compare: str | None) -> list[str]:
    first = Path(config).stem if config else "default settings"
    if compare is None:
        return [first]
    second = Path(compare).stem
    return [first, second if second != first else f"{second} (compare)"]


def main(args: argparse.Namespace) -> int:
    if args.date_to < args.date_from:
        raise UserError("--to is before --from")
    if args.compare == LEARNING_COMPARE:
        return _compare_learning(args)
    names = _config_names(args.config, args.compare)
    configs = {names[0]: load_settings(args.config)}
    if args.compare:
        configs[names[1]] = load_settings(args.compare)
    extracts = Path(args.extracts)
    key_path = Path(args.answer_key) if args.answer_key else default_answer_key_path(extracts)
    if args.answer_key and not key_path.is_file():
        raise ConfigError(f"the answer key {key_path} does not exist")
    answer_key = key_path if key_path.is_file() else None
    db = Path(args.db) if args.db else None
    # A temporary warehouse of synthetic data (there is an answer key) may stay unencrypted.
    allow_unencrypted = bool(args.allow_unencrypted or (db is None and answer_key is not None))
    result = backtest_folder(
        extracts,
        Path(args.mapping),
        args.date_from,
        args.date_to,
        configs,
        out_dir=Path(args.out),
        answer_key=answer_key,
        db=db,
        allow_unencrypted=allow_unencrypted,
    )
    print_report(result)
    return 0


def _compare_learning(args: argparse.Namespace) -> int:
    """Rules only against rules + the re-ranker, over simulated reviewers (they need the synthetic answer key)."""
    from pipelines.backtest.learning import learning_backtest_folder, print_learning_report

    extracts = Path(args.extracts)
    key_path = Path(args.answer_key) if args.answer_key else default_answer_key_path(extracts)
    if not key_path.is_file():
        raise ConfigError(
            f"--compare without a settings file simulates reviewers from a synthetic landlord's answer key, and "
            f"there is none at {key_path} (give it with --answer-key)"
        )
    result = learning_backtest_folder(
        extracts,
        Path(args.mapping),
        args.date_from,
        args.date_to,
        load_settings(args.config),
        out_dir=Path(args.out),
        answer_key=key_path,
        db=Path(args.db) if args.db else None,
        allow_unencrypted=bool(args.allow_unencrypted or not args.db),
    )
    print_learning_report(result)
    return 0
