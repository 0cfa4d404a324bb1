"""The ``redflags`` command line.

Branch issue-20c only: ``pipelines/cli.py`` became ``pipelines/cli/main.py`` here so that ``pipelines.cli.synth``
resolves; these re-exports keep ``from pipelines.cli import main`` working until engineer A's ``pipelines/cli/``
lands. At merge, take A's ``pipelines/cli/__init__.py`` and ``__main__.py``.
"""

from pipelines.cli.main import DEFAULT_DB, DEFAULT_OUT, _subparsers, build_parser, main

__all__ = ["DEFAULT_DB", "DEFAULT_OUT", "_subparsers", "build_parser", "main"]
