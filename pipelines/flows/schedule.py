"""``redflags serve``: the Monday job on its schedule (06:00 Europe/London by default).

Each run scores the week that ended on the Sunday before it, builds the managers' report, and purges what the
retention settings say has expired. One run at a time (DuckDB has one writer). A failed or crashed run notifies
the people in ``notifications`` (pipelines.ops.notify), and the pipeline's own log lines (counts, never content)
reach the run's log in the Prefect UI.

Scheduling needs a Prefect server: Prefect's temporary in-process server cannot run schedules. So ``serve``
first checks PREFECT_API_URL and that the API answers (:func:`serve_plan`): with a server it serves; without one
it starts one on 127.0.0.1 for as long as it runs when asked (``--start-server``), or stops at once with one
sentence naming what to start.

``prefect.yaml`` at the repository root deploys the same flow to a process work pool instead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipelines.core.errors import UserError, retry_io
from pipelines.core.settings import load_settings
from pipelines.ops.notify import check_notifications, on_weekly_failure
from pipelines.ops.retention import purge
from pipelines.warehouse.connection import compact_warehouse, open_warehouse

if TYPE_CHECKING:
    from pipelines.flows.weekly_review import WeeklyResult

log = logging.getLogger(__name__)

# Loggers whose lines (INFO and up: counts and stages, never content) go to the run's log in the Prefect UI.
PIPELINE_LOGGERS = ("pipelines", "models", "features")
SERVER_START_TIMEOUT_S = 120  # a busy two-core machine can take a minute to bring the server up
_HEALTH_TIMEOUT_S = 3


def weekly_schedule(cron: str, timezone: str) -> Any:
    from prefect.schedules import Cron

    # A bare cron string would run in UTC; the landlord's week is in local time.
    return Cron(cron, timezone=timezone)


def pipeline_logs_to_prefect() -> None:
    """Attach Prefect's API log handler (the one it gives ``prefect.extra``) to the pipeline's loggers, at INFO.

    PREFECT_LOGGING_EXTRA_LOGGERS does the same when set before Prefect starts (``serve`` and prefect.yaml set
    it); this covers a worker whose environment lacks it. The handler sends only inside a run.
    """
    handlers = logging.getLogger("prefect.extra").handlers
    for name in PIPELINE_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
        for handler in handlers:
            if handler not in logger.handlers:
                logger.addHandler(handler)


@task(
    name="purge-expired",
    retries=2,
    retry_delay_seconds=30,
    retry_condition_fn=retry_io,
    cache_policy=NO_CACHE,
)
def purge_expired(db: str, config: str | None, allow_unencrypted: bool) -> dict[str, int]:
    settings = load_settings(config)
    with open_warehouse(db, allow_unencrypted=allow_unencrypted, must_exist=True) as wh:
        summary = purge(wh, settings.retention, dt.date.today())
    compact_warehouse(db)  # deleted rows leave the file only when it is rewritten
    return dict(summary.counts)


@flow(
    name="scheduled-week",
    validate_parameters=False,
    on_failure=[on_weekly_failure],
    on_crashed=[on_weekly_failure],
)
def scheduled_week(
    extracts: str,
    mapping: str,
    db: str,
    out: str,
    report: str,
    config: str | None = None,
    allow_unencrypted: bool = False,
) -> WeeklyResult:
    """The Monday job: the weekly review, then the managers' report, then the retention purge."""
    # Imported here, not at the top: `redflags serve` checks for a Prefect server before paying for them.
    from pipelines.flows.monitoring_report import monitoring_report
    from pipelines.flows.weekly_review import weekly_review

    pipeline_logs_to_prefect()
    result = weekly_review(extracts, mapping, None, db, out, config, allow_unencrypted)
    monitoring_report(db, report, 12, config, allow_unencrypted)
    purge_expired(db, config, allow_unencrypted)
    return result


def api_answers(api_url: str, timeout: float = _HEALTH_TIMEOUT_S) -> bool:
    """Whether a Prefect API answers at ``api_url`` (its ``/health`` endpoint). Any HTTP answer counts, even a
    refusal (a Cloud workspace wants its key): the server is there. No answer, or no connection, does not."""
    try:
        with urllib.request.urlopen(api_url.rstrip("/") + "/health", timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return True


def serve_plan(api_url: str | None, answers: bool, start_server: bool) -> Literal["use", "start"]:
    """What ``serve`` does: use the server at PREFECT_API_URL, start one, or stop at once (UserError)."""
    if api_url:
        if answers:
            return "use"
        raise UserError(
            f"the Prefect server at {api_url} (PREFECT_API_URL) does not answer: start it with "
            "`prefect server start`, or unset PREFECT_API_URL and run `redflags serve --start-server`"
        )
    if start_server:
        return "start"
    raise UserError(
        "serve needs a Prefect server to run schedules: start one with `prefect server start` and set "
        "PREFECT_API_URL=http://127.0.0.1:4200/api, or run `redflags serve --start-server` to start one here"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def local_prefect_server(log_path: Path, timeout: float = SERVER_START_TIMEOUT_S) -> Iterator[str]:
    """Start ``prefect server start`` on 127.0.0.1 (a free port), wait until its API answers, yield its API URL,
    and stop it afterwards. Its output goes to ``log_path``."""
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not api_answers(api_url, timeout=1):
            if process.poll() is not None:
                raise UserError(f"the Prefect server stopped as it started; its log is {log_path}")
            if time.monotonic() > deadline:
                raise UserError(
                    f"the Prefect server did not answer within {timeout:.0f} s; its log is {log_path}"
                )
            time.sleep(0.5)
        yield api_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve(parameters: dict[str, Any], schedule: Any) -> None:
    # One run at a time, here (limit) and across every runner of the deployment (global_limit).
    scheduled_week.serve(name="weekly", schedules=[schedule], parameters=parameters, global_limit=1, limit=1)


def serve(config: str | None, parameters: dict[str, Any], start_server: bool) -> int:
    """Serve the weekly flow on its schedule with ``parameters``: at PREFECT_API_URL, or a Prefect server started
    here for as long as this runs (``start_server``). Returns when serving stops."""
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    settings = load_settings(config)
    check_notifications(settings.notifications)
    schedule = weekly_schedule(settings.schedule.cron, settings.schedule.timezone)
    # Flow runs are child processes: they inherit this and send the pipeline's log lines to the Prefect UI.
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", ",".join(PIPELINE_LOGGERS))
    api_url = PREFECT_API_URL.value()
    plan = serve_plan(api_url, bool(api_url) and api_answers(api_url), start_server)
    if plan == "use":
        _serve(parameters, schedule)
        return 0
    home = Path(PREFECT_HOME.value())
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "redflags-prefect-server.log"
    # A service manager stops serve with SIGTERM: leave through the `with` below, so the server stops too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with local_prefect_server(log_path) as started_url:
        log.warning(
            "started a Prefect server at %s for as long as serve runs (UI: %s)", started_url, started_url[:-4]
        )
        os.environ["PREFECT_API_URL"] = started_url  # for the flow-run processes serve starts
        with temporary_settings(updates={PREFECT_API_URL: started_url}):
            _serve(parameters, schedule)
    return 0
