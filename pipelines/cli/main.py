"""The ``redflags`` command line (see docs/contract.md).

Heavy libraries (prefect, great_expectations, scikit-learn) are imported only inside the command that needs
them, so ``redflags --help`` answers at once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import sys
from collections.abc import Callable, Sequence

DEFAULT_DB = "./redflags.duckdb"
EXIT_CODES = """exit codes:
  0  done
  1  some files could not be loaded (the rest loaded), or `run --strict` warned (empty or stale list)
  2  usage or configuration: a missing folder or mapping file, a bad mapping or setting
  3  the database could not be opened: no key or a wrong key, or another process is using it
  70 an unexpected error (run again with --debug and report it)"""
DEFAULT_OUT = "./output"
DEFAULT_USERS = "./redflags-users.yaml"
# Environment variables that, when set, replace the default of the matching option on every command.
ENV_DEFAULTS = {"db": "REDFLAGS_DB", "out": "REDFLAGS_OUT", "config": "REDFLAGS_CONFIG"}
_BUILT_IN_DEFAULTS = {"db": DEFAULT_DB, "out": DEFAULT_OUT, "config": None}

Handler = Callable[[argparse.Namespace], int]
_CONFIG_HELP = "a settings file overriding conf/settings.yaml"
# `redflags backtest --compare` with no file: the re-ranker comparison (pipelines/backtest/learning.py).
LEARNING_COMPARE = "<re-ranker>"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date in the form YYYY-MM-DD") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be more than zero")
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("repairs-red-flags")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed)"


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every sub-command's parser, nested ones (``outcomes import``) included."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases share a parser
                found += [child, *_subparsers(child)]
    return found


def _finish(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Accept the global flags after the sub-command too, and take REDFLAGS_DB, REDFLAGS_OUT and
    REDFLAGS_CONFIG as the defaults of --db, --out and --config where those mean the same thing.

    Done over the built parser, so every command (including ones added later) gets the same rules.
    """
    for child in _subparsers(parser):
        options = {o for a in child._actions for o in a.option_strings}
        # SUPPRESS: when not given after the sub-command, the value given before it (or False) stands.
        if "--debug" not in options:
            child.add_argument(
                "--debug",
                action="store_true",
                default=argparse.SUPPRESS,
                help="show tracebacks and debug logs",
            )
        if "--verbose" not in options:
            child.add_argument(
                "-v",
                "--verbose",
                action="store_true",
                default=argparse.SUPPRESS,
                help="log each stage (counts only, never content)",
            )
        for action in child._actions:
            variable = ENV_DEFAULTS.get(action.dest)
            if variable is None or action.required or action.default != _BUILT_IN_DEFAULTS[action.dest]:
                continue  # a required option, or one that means something else here (synth's --out)
            value = os.environ.get(variable)
            if value:
                action.default = value
            action.help = (action.help or "") + f" [default from ${variable} when set]"
    return parser


def _lazy(module: str, function: str) -> Handler:
    """A handler that imports its module only when the command runs."""

    def handler(args: argparse.Namespace) -> int:
        from pipelines.core.errors import NotImplementedYet

        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                raise NotImplementedYet(
                    f"`redflags {args.command}` is not available in this version yet"
                ) from None
            raise
        result: int = getattr(mod, function)(args)
        return result

    return handler


def _db_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        default=DEFAULT_DB,
        help=f"the DuckDB warehouse (default {DEFAULT_DB}); its key is "
        "read from the environment variable REDFLAGS_DB_KEY",
    )
    p.add_argument(
        "--allow-unencrypted",
        action="store_true",
        help="allow a database without a key (synthetic or test data only)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="redflags",
        description="Repairs Red Flags: a weekly, explained review list of households whose repairs pattern "
        "may point to domestic abuse. A flag is a prompt for professional curiosity, never a decision.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log each stage (counts only, never content)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "demo",
        help="build a synthetic landlord and run the whole weekly pipeline on it",
        description="Build a synthetic landlord (a few thousand homes, three years), run the weekly "
        "pipeline on it and print where the review list and the monitoring report are.",
    )
    p.add_argument(
        "--dir",
        default="./demo",
        help="where the demo writes its extracts, database and outputs (default ./demo)",
    )
    p.add_argument(
        "--homes", type=_positive, default=3000, help="homes in the synthetic landlord (default 3000)"
    )
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.set_defaults(handler=_lazy("pipelines.cli.demo", "main"))

    p = sub.add_parser(
        "synth",
        help="write synthetic extracts, their mapping file and an answer key",
        description="Write a synthetic landlord's extracts in the canonical layout plus mapping.yaml "
        "to DIR; the answer key (planted households) goes to DIR/../<name>_answer_key.csv, "
        "outside the extracts.",
    )
    p.add_argument("--out", required=True, help="folder for the extracts and mapping.yaml")
    p.add_argument("--homes", type=_positive, default=6000, help="number of homes (default 6000)")
    p.add_argument("--years", type=_positive, default=3, help="years of history (default 3)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--as-of", type=_date, default=None, help="last day of the history (default: last Sunday)")
    p.add_argument("--key-out", default=None, help="where to write the answer key (default: beside --out)")
    p.add_argument(
        "--undated",
        action="store_true",
        help="name the files without dates (repairs_FY2026-27_wk34.csv) and set each file's modification "
        "time to its export moment, as many housing systems do",
    )
    p.add_argument(
        "--style",
        choices=("standard", "riverside"),
        default="standard",
        help="standard (canonical layout, dated weekly drops) or riverside (another housing system's layout, "
        "wording and codes; undated file names whose modification time is the export moment)",
    )
    p.add_argument(
        "--dated-names", action="store_true", help="riverside: put each export's date in its file name"
    )
    p.set_defaults(handler=_lazy("pipelines.cli.synth", "main"))

    p = sub.add_parser(
        "run",
        help="ingest new extracts, score households and publish the week's review list",
        description="Ingest whatever is new in the extracts folder, then build features, score and "
        "publish the review list for the week ending --as-of, using only what was known then.",
    )
    p.add_argument("--extracts", required=True, help="folder holding the landlord's export files")
    p.add_argument("--mapping", required=True, help="the landlord's mapping file (YAML)")
    p.add_argument("--as-of", type=_date, required=True, help="the week-ending date to score (YYYY-MM-DD)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"where lists are written (default {DEFAULT_OUT})")
    p.add_argument("--config", default=None, help=_CONFIG_HELP)
    p.add_argument("--skip-ingest", action="store_true", help="score what the database already holds")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when the run warns (an empty list, an extract's newest file too old): for schedulers",
    )
    _db_options(p)
    p.set_defaults(handler=_lazy("pipelines.cli.run", "main"))

    p = sub.add_parser("ingest", help="only load new extract files into the database (no scoring)")
    p.add_argument("--extracts", required=True, help="folder holding the landlord's export files")
    p.add_argument("--mapping", required=True, help="the landlord's mapping file (YAML)")
    p.add_argument(
        "--out", default=DEFAULT_OUT, help=f"where the data-quality page is written (default {DEFAULT_OUT})"
    )
    _db_options(p)
    p.set_defaults(handler=_lazy("pipelines.cli.ingest", "main"))

    p = sub.add_parser(
        "classify", help="add red-flag categories and location to a CSV of repair descriptions"
    )
    p.add_argument("--input", required=True, help="CSV file with a description column")
    p.add_argument("--column", default="description", help="the text column (default: description)")
    p.add_argument("--code-column", default=None, help="optional schedule-of-rates code column")
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--config", default=None, help="settings (vocabulary file, SoR code map)")
    p.add_argument("--evidence", action="store_true", help="also write the words that triggered each flag")
    p.set_defaults(handler=_lazy("pipelines.cli.classify", "main"))

    p = sub.add_parser("outcomes", help="reviewers' outcomes")
    osub = p.add_subparsers(dest="outcomes_command", metavar="ACTION", required=True)
    q = osub.add_parser("import", help="load outcomes from a filled-in review list (.csv or .xlsx)")
    q.add_argument(
        "file", help="review_list.csv or review_list.xlsx with outcome, reviewer, rationale filled in"
    )
    q.add_argument("--config", default=None, help=_CONFIG_HELP + " (the allowed outcome values)")
    _db_options(q)
    q.set_defaults(handler=_lazy("pipelines.cli.outcomes", "main_import"))

    p = sub.add_parser("history", help="one household's flags, reasons and outcomes in date order")
    p.add_argument("tenancy_ref", help="the household's tenancy reference, as on the review list")
    _db_options(p)
    p.set_defaults(handler=_lazy("pipelines.cli.outcomes", "main_history"))

    p = sub.add_parser("backtest", help="replay the weekly run over a date range and measure it")
    p.add_argument("--extracts", required=True, help="folder holding the landlord's export files")
    p.add_argument("--mapping", required=True, help="the landlord's mapping file (YAML)")
    p.add_argument(
        "--from", dest="date_from", type=_date, required=True, help="first week-ending date to replay"
    )
    p.add_argument("--to", dest="date_to", type=_date, required=True, help="last week-ending date to replay")
    p.add_argument("--out", default="./backtest", help="where the backtest results go (default ./backtest)")
    p.add_argument("--config", default=None, help=_CONFIG_HELP)
    p.add_argument(
        "--compare",
        nargs="?",
        const=LEARNING_COMPARE,
        default=None,
        help="a second settings file to compare against --config; alone (no file): rules only against rules + "
        "the outcome-trained re-ranker, over simulated reviewers on a synthetic landlord (learning_curve.png)",
    )
    p.add_argument(
        "--answer-key", default=None, help="synthetic answer key (default: found beside the extracts)"
    )
    p.add_argument(
        "--db",
        default=None,
        help="a warehouse to load into and replay (default: a temporary one "
        "inside --out, removed afterwards); its key is read from REDFLAGS_DB_KEY",
    )
    p.add_argument(
        "--allow-unencrypted",
        action="store_true",
        help="allow a database without a key (synthetic or test data only)",
    )
    p.set_defaults(handler=_lazy("pipelines.cli.backtest", "main"))

    p = sub.add_parser("report", help="the managers' monitoring report (HTML and CSV, aggregates only)")
    p.add_argument("--out", default="./report", help="where the report is written (default ./report)")
    p.add_argument("--weeks", type=_positive, default=12, help="weeks to cover (default 12)")
    p.add_argument(
        "--as-of",
        type=_date,
        default=None,
        help="last day the report covers (default today); for a backtest's history",
    )
    p.add_argument("--config", default=None, help=_CONFIG_HELP)
    _db_options(p)
    p.set_defaults(handler=_lazy("pipelines.cli.report", "main"))

    p = sub.add_parser(
        "serve",
        help="run the flows on their weekly schedule with Prefect",
        description="Serve the weekly flow on its schedule (settings: schedule). Needs a Prefect server: "
        "set PREFECT_API_URL to one (prefect server start), or pass --start-server to start one here.",
    )
    p.add_argument("--config", default=None, help=_CONFIG_HELP + " (schedule, notifications)")
    p.add_argument("--extracts", default=None, help="folder the weekly exports arrive in")
    p.add_argument("--mapping", default=None, help="the landlord's mapping file (YAML)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"where lists are written (default {DEFAULT_OUT})")
    p.add_argument(
        "--report", default="./report", help="where the managers' report is written (default ./report)"
    )
    p.add_argument(
        "--start-server",
        action="store_true",
        help="start a Prefect server on 127.0.0.1 for as long as serve runs, when PREFECT_API_URL is not set",
    )
    _db_options(p)
    p.set_defaults(handler=_lazy("pipelines.cli.serve", "main"))

    p = sub.add_parser("purge", help="delete what the retention settings say has expired")
    p.add_argument("--config", default=None, help=_CONFIG_HELP + " (retention)")
    p.add_argument("--today", type=_date, default=None, help="the date to purge as of (default: today)")
    _db_options(p)
    p.set_defaults(handler=_lazy("pipelines.cli.purge", "main"))

    p = sub.add_parser("users", help="who may sign in to the review pages (`redflags web`)")
    usub = p.add_subparsers(dest="users_command", metavar="ACTION", required=True, help="add, list or remove")
    q = usub.add_parser("add", help="add or replace a user; the password is read from standard input")
    q.add_argument("name", help="the user's sign-in name")
    q.add_argument(
        "--role",
        required=True,
        help="a team of conf/settings.yaml (repairs_admin, tst), coordinator or analyst",
    )
    q.add_argument("--config", default=None, help=_CONFIG_HELP + " (the teams a role may name)")
    for name, text in (("list", "list the users and their roles"), ("remove", "remove a user")):
        r = usub.add_parser(name, help=text)
        if name == "remove":
            r.add_argument("name", help="the user's sign-in name")
    for action in usub.choices.values():
        action.add_argument(
            "--users", default=DEFAULT_USERS, help=f"the users file (default {DEFAULT_USERS}, owner-only)"
        )
    p.set_defaults(handler=_lazy("pipelines.cli.users", "main"))

    p = sub.add_parser(
        "web",
        help="serve the review pages in the browser (see docs/security.md)",
        description="Serve the review pages until stopped. Listens on 127.0.0.1 unless told otherwise: "
        "put it behind the landlord's TLS proxy and single sign-on.",
    )
    _db_options(p)
    p.add_argument("--users", default=DEFAULT_USERS, help=f"the users file (default {DEFAULT_USERS})")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_positive, default=8765, help="port to listen on (default 8765)")
    p.add_argument("--config", default=None, help=_CONFIG_HELP + " (teams, outcome values)")
    p.set_defaults(handler=_lazy("pipelines.cli.web", "main"))

    p = sub.add_parser(
        "many",
        help="the weekly review for several landlords at once (threads, or Dask worker processes)",
        description="Run the weekly review for every landlord of a landlords file side by side: on threads in "
        "this process, on a local Dask cluster of worker processes (--workers), or on a running Dask "
        "scheduler (--scheduler). Each landlord's key is read from the environment variable its entry names "
        '(key_env). Dask needs the optional extra: pip install -e ".[distributed]". See docs/scaling.md.',
    )
    p.add_argument("landlords", help="the landlords file (YAML, a 'landlords:' list; see docs/scaling.md)")
    p.add_argument("--as-of", type=_date, default=None, help="the week-ending date (default: last Sunday)")
    p.add_argument(
        "--workers", type=_positive, default=None, help="run on a local Dask cluster of N processes"
    )
    p.add_argument(
        "--scheduler", default=None, help="run on the Dask scheduler at this address (tcp://host:8786)"
    )
    p.add_argument("--worker-memory", default=None, help="local workers' memory limit each, e.g. 6GiB")
    p.add_argument(
        "--duckdb-threads",
        type=_positive,
        default=None,
        help="DuckDB threads per landlord (default: all cores; with --workers, the cores shared out)",
    )
    p.set_defaults(handler=_lazy("pipelines.cli.many", "main"))

    p = sub.add_parser(
        "rekey",
        help="re-encrypt the database under a new key (see docs/security.md)",
        description="Re-encrypt every encrypted value under a new key in one transaction, then "
        "rewrite the file. The current key is read from REDFLAGS_DB_KEY, the new one from "
        "REDFLAGS_NEW_DB_KEY; keys are never taken on the command line.",
    )
    p.add_argument("--db", default=DEFAULT_DB, help=f"the DuckDB warehouse (default {DEFAULT_DB})")
    p.set_defaults(handler=_lazy("pipelines.cli.rekey", "main"))

    p = sub.add_parser(
        "migrate",
        help="convert a database made by an earlier release (see docs/security.md)",
        description="Convert a database made by an earlier release into the current schema with its key "
        "(REDFLAGS_DB_KEY), keeping its outcomes, audit trail and lists: a new file is built beside it, "
        "checked table by table, then put in its place; on any failure the old file is left as it was.",
    )
    p.add_argument("--db", default=DEFAULT_DB, help=f"the DuckDB warehouse (default {DEFAULT_DB})")
    p.add_argument(
        "--allow-unencrypted", action="store_true", help="convert an unencrypted database (test data only)"
    )
    p.set_defaults(handler=_lazy("pipelines.cli.migrate", "main"))
    return _finish(parser)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from pipelines.core.progress import Progress, configure_logging, set_progress

    configure_logging(verbose=args.verbose, debug=args.debug)
    # Prefect reads its settings when first imported (inside the commands that need it): keep its per-task
    # chatter off the terminal unless asked for.
    os.environ.setdefault(
        "PREFECT_LOGGING_LEVEL", "DEBUG" if args.debug else "INFO" if args.verbose else "WARNING"
    )
    # Nothing leaves the machine: no usage analytics from Prefect's temporary server.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # Prefect's temporary local server can need more than its default 20 s to start on a busy small machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    set_progress(Progress())
    from pipelines.core.errors import UserError

    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        if args.debug:
            raise
        print(f"redflags {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("redflags: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        known = _known_error(exc)
        if known is None:
            print(
                f"redflags {args.command}: unexpected error ({type(exc).__name__}); "
                "run again with --debug for details",
                file=sys.stderr,
            )
            return 70
        print(f"redflags {args.command}: {known}", file=sys.stderr)
        return 1


def _known_error(exc: Exception) -> str | None:
    """One sentence for operating-system errors that reach the top."""
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {exc.filename}"
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename}"
    return None


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
