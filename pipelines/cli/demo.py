"""``redflags demo``: a synthetic landlord, the weekly pipeline over its last few weeks, and the managers' report."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import shutil
import sys
from pathlib import Path

from pipelines.core.progress import get_progress
from pipelines.core.weeks import last_sunday, week_endings
from pipelines.warehouse.connection import remove_warehouse
from pipelines.warehouse.crypto import KEY_ENV

DEMO_WEEKS = 4  # a month of weekly lists, so the monitoring report has something to compare


def _throwaway_key(base: Path) -> str:
    """The demo's own key, kept beside its database (0600): synthetic data only, never for real data."""
    key_file = base / ".demo_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(24)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def main(args: argparse.Namespace) -> int:
    base = Path(args.dir).resolve()
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o700)
    extracts, db, out, report_dir = (
        base / "extracts",
        base / "redflags.duckdb",
        base / "output",
        base / "report",
    )
    for stale in (extracts, out, report_dir):  # a fresh demo each time; only folders the demo itself made
        shutil.rmtree(stale, ignore_errors=True)
    remove_warehouse(db)
    throwaway = not os.environ.get(KEY_ENV)
    if throwaway:
        os.environ[KEY_ENV] = _throwaway_key(base)
        key_note = f"a throwaway key kept in {base / '.demo_key'} (synthetic data only)"
    else:
        key_note = f"the key in {KEY_ENV}"
    try:
        return _run_demo(args, base, extracts, db, out, report_dir, key_note)
    finally:
        # The throwaway key is the demo's alone: a caller in the same process must not inherit it.
        if throwaway:
            os.environ.pop(KEY_ENV, None)


def _run_demo(
    args: argparse.Namespace, base: Path, extracts: Path, db: Path, out: Path, report_dir: Path, key_note: str
) -> int:
    from pipelines.cli.run import print_summary
    from pipelines.flows.weekly_review import quiet_prefect, weekly_review
    from pipelines.synth.standard import write_landlord

    progress = get_progress()
    as_of = last_sunday(dt.date.today())
    progress.say(
        f"Building a synthetic landlord of {args.homes:,} homes, three years to {as_of:%d %B %Y} ..."
    )
    summary = write_landlord(extracts, homes=args.homes, years=3, seed=args.seed, as_of=as_of)
    mapping = extracts / "mapping.yaml"
    results = []
    with quiet_prefect():
        for week in week_endings(as_of - dt.timedelta(weeks=DEMO_WEEKS - 1), as_of):
            progress.say(f"Weekly review for the week ending {week:%d %b %Y} ...")
            results.append(weekly_review(extracts, mapping, week, db, out, None, False))
        from pipelines.flows.monitoring_report import monitoring_report

        report = monitoring_report(db, report_dir, 12, None, False)
    latest = results[-1]
    w = sys.stdout.write
    w("\nDemo finished. Everything below is synthetic.\n")
    w(f"  Extracts:           {extracts} (answer key: {summary.key_path})\n")
    w(f"  Database:           {db} (encrypted with {key_note})\n")
    print_summary(latest)
    w(f"  Monitoring report:  {report.html}\n")
    w(
        f"\nTry: REDFLAGS_DB_KEY=$(cat {base / '.demo_key'}) redflags history <tenancy_ref from the list> --db {db}\n"
    )
    users, password = demo_user(base)
    w(
        "\nThe review pages in the browser:\n"
        f"  REDFLAGS_DB_KEY=$(cat {base / '.demo_key'}) redflags web --db {db} --users {users}\n"
        f"  then open http://127.0.0.1:8765/ and sign in as {DEMO_USER} (coordinator: every team), "
        f"password in {password}\n"
    )
    return 0


DEMO_USER = "demo"


def demo_user(base: Path) -> tuple[Path, Path]:
    """A coordinator ``demo`` with a random password, in ``base/redflags-users.yaml`` (0600); the password is
    kept beside it in ``base/.demo_password`` (0600, synthetic data only). Returns both paths."""
    from pipelines.core.settings import load_settings
    from pipelines.web.users import COORDINATOR, UserStore, roles

    password_file = base / ".demo_password"
    password_file.unlink(missing_ok=True)
    password = secrets.token_urlsafe(12)
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    store = UserStore(base / "redflags-users.yaml")
    store.add(DEMO_USER, COORDINATOR, password, allowed_roles=roles(load_settings().teams))
    return store.path, password_file
