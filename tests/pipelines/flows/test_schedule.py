"""`redflags serve` and the weekly deployment: schedule, server check, one run at a time, notices, retries."""

import argparse
import logging
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Failed

from pipelines.cli import serve as serve_command
from pipelines.cli.serve import deployment_parameters
from pipelines.core.errors import UserError, retry_io
from pipelines.core.settings import load_settings
from pipelines.flows import schedule as schedule_module
from pipelines.flows.schedule import api_answers, serve_plan, weekly_schedule
from pipelines.ops.notify import on_weekly_failure


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


# --- serve: with and without a Prefect server -------------------------------------------------------------


REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def fake_api() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that answers /api/health as Prefect's does (and 401 elsewhere)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200 if self.path == "/api/health" else 401)
            self.end_headers()
            self.wfile.write(b"true")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api", seen
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_plan_uses_starts_or_stops_with_one_sentence() -> None:
    assert serve_plan("http://127.0.0.1:4200/api", True, False) == "use"
    assert serve_plan("http://127.0.0.1:4200/api", True, True) == "use"  # a server is there: no second one
    assert serve_plan(None, False, True) == "start"
    with pytest.raises(UserError) as no_server:
        serve_plan(None, False, False)
    message = str(no_server.value)
    assert message.count(". ") == 0 and "\n" not in message  # one sentence
    assert (
        "`prefect server start`" in message and "PREFECT_API_URL=" in message and "--start-server" in message
    )
    with pytest.raises(
        UserError, match=r"server at http://127.0.0.1:4200/api \(PREFECT_API_URL\) does not answer"
    ):
        serve_plan("http://127.0.0.1:4200/api", False, True)


def test_api_answers_is_a_real_check(fake_api: tuple[str, list[str]]) -> None:
    url, seen = fake_api
    assert api_answers(url) and seen == ["/api/health"]
    assert api_answers(url.replace("/api", "/cloud"))  # a refusal (401) is still a server that answers
    assert not api_answers(f"http://127.0.0.1:{_closed_port()}/api")
    assert not api_answers("not a url")


def _serve_args(tmp_path: Path, start_server: bool = False) -> argparse.Namespace:
    (tmp_path / "mapping.yaml").write_text("landlord: x\n")
    return _args(tmp_path, start_server=start_server)


def test_serve_without_a_server_stops_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[dict[str, Any]] = []
    monkeypatch.setattr(schedule_module, "_serve", lambda parameters, schedule: served.append(parameters))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(updates={PREFECT_API_URL: None}):
        with pytest.raises(UserError, match="serve needs a Prefect server to run schedules"):
            serve_command.main(_serve_args(tmp_path))
        closed = f"http://127.0.0.1:{_closed_port()}/api"
        with (
            temporary_settings(updates={PREFECT_API_URL: closed}),
            pytest.raises(UserError, match="not answer"),
        ):
            serve_command.main(_serve_args(tmp_path, start_server=True))
    assert served == []


def test_serve_with_a_server_serves_the_weekly_flow(
    tmp_path: Path, fake_api: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = fake_api
    served: list[dict[str, Any]] = []
    monkeypatch.setattr(schedule_module, "_serve", lambda parameters, schedule: served.append(parameters))
    monkeypatch.setenv("PREFECT_LOGGING_EXTRA_LOGGERS", "-")  # so that monkeypatch puts it back afterwards
    monkeypatch.delenv("PREFECT_LOGGING_EXTRA_LOGGERS")
    with temporary_settings(updates={PREFECT_API_URL: url}):
        assert serve_command.main(_serve_args(tmp_path)) == 0
    assert len(served) == 1 and served[0]["mapping"] == str((tmp_path / "mapping.yaml").resolve())
    assert os.environ["PREFECT_LOGGING_EXTRA_LOGGERS"] == "pipelines,models,features"


@pytest.mark.slow
def test_serve_can_start_a_local_prefect_server(tmp_path: Path) -> None:
    """The real thing once: `prefect server start` on 127.0.0.1 comes up, answers, and is stopped after."""
    with schedule_module.local_prefect_server(tmp_path / "server.log") as url:
        assert url.startswith("http://127.0.0.1:") and api_answers(url)
    assert not api_answers(url)


def test_the_weekly_flow_runs_one_at_a_time_and_notifies_on_failure() -> None:
    flow = schedule_module.scheduled_week
    assert on_weekly_failure in flow.on_failure_hooks and on_weekly_failure in flow.on_crashed_hooks
    deployment = yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"][0]
    assert deployment["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}
    assert "PREFECT_LOGGING_EXTRA_LOGGERS" in deployment["work_pool"]["job_variables"]["env"]
    assert (REPO / deployment["entrypoint"].split(":")[0]).is_file()
    pull = yaml.safe_load((REPO / "prefect.yaml").read_text())["pull"][0]
    directory = pull["prefect.deployments.steps.set_working_directory"]["directory"]
    assert Path(directory).is_absolute() and "{{" not in directory  # not where the worker happened to start
    assert all(Path(p).is_absolute() for k, p in deployment["parameters"].items())


def test_the_flows_the_weekly_run_calls_take_paths_as_text() -> None:
    """Prefect's parameter validation cannot resolve these flows' postponed annotations in a deployed run
    (measured: the first served run failed on monitoring-report with "define `Path`")."""
    from pipelines.flows.monitoring_report import monitoring_report
    from pipelines.flows.weekly_review import weekly_review

    for flow_ in (schedule_module.scheduled_week, weekly_review, monitoring_report):
        assert flow_.should_validate_parameters is False, flow_.name


def test_only_io_is_retried() -> None:
    assert retry_io(None, None, Failed(data=OSError("the share went away"))) is True
    assert retry_io(None, None, Failed(data=UserError("x.csv, row 2, column a: not a date"))) is False
    assert retry_io(None, None, Failed(data=ValueError("a bug"))) is False
    import duckdb

    assert retry_io(None, None, Failed(data=duckdb.IOException("Could not set lock on file"))) is True
    from pipelines.flows.weekly_review import ingest_task, publish_task

    for task_ in (ingest_task, publish_task, schedule_module.purge_expired):
        assert task_.retries == 2 and task_.retry_condition_fn is retry_io, task_.name


def test_pipeline_log_lines_go_to_the_prefect_api_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.logging.handlers import APILogHandler

    for name in ("pipelines", "models", "features"):  # put the loggers back as they were afterwards
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", list(logger.handlers))
        monkeypatch.setattr(logger, "level", logger.level)
    schedule_module.pipeline_logs_to_prefect()
    for name in ("pipelines", "models", "features"):
        logger = logging.getLogger(name)
        assert logger.getEffectiveLevel() <= logging.INFO
        assert any(isinstance(h, APILogHandler) for h in logger.handlers), name
