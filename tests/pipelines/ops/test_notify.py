"""Failure notices: the message (which run, when, one-sentence cause, never personal data) and its delivery to
a local SMTP sink and a local HTTP sink started by the test on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from prefect.states import Crashed, Failed

from pipelines.core.errors import UserError
from pipelines.core.settings import NotificationSettings
from pipelines.ops.notify import (
    check_notifications,
    failure_notice,
    notify,
    on_weekly_failure,
    one_sentence_cause,
)

PERSONAL = "Mrs Jane Doe, 12 Acacia Road"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret-from-env")


@pytest.fixture
def smtp_sink() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=inbox.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@pytest.fixture
def http_sink() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(
                {"path": self.path, "type": self.headers["Content-Type"], "json": json.loads(body)}
            )
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook/abc", received
    finally:
        server.shutdown()
        server.server_close()


def _config(tmp_path: Path, smtp_port: int) -> Path:
    lines = [
        "notifications:",
        "  email_to: [redflags-admins@landlord.example]",
        "  email_from: redflags@landlord.example",
        "  smtp_host: 127.0.0.1",
        f"  smtp_port: {smtp_port}",
    ]
    path = tmp_path / "settings.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(config: Path) -> SimpleNamespace:
    return SimpleNamespace(
        name="amber-otter",
        id="0b7c3e7a-1111-2222-3333-444455556666",
        parameters={"config": str(config), "db": "/srv/rf/x.duckdb"},
        start_time=dt.datetime(2025, 3, 10, 6, 0, tzinfo=dt.UTC),
    )


@pytest.fixture
def sinks(
    tmp_path: Path, smtp_sink: tuple[int, _Inbox], http_sink: tuple[str, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, _Inbox, list[dict[str, Any]]]:  # fmt: skip
    """Settings sending to both local sinks (webhook kind set per test), the inbox and the posts received."""
    port, inbox = smtp_sink
    url, posts = http_sink
    monkeypatch.setenv("REDFLAGS_WEBHOOK_URL", url)
    return _config(tmp_path, port), inbox, posts


def test_a_failed_run_sends_an_email_and_a_teams_card(
    sinks: tuple[Path, _Inbox, list[dict[str, Any]]],
) -> None:
    config, inbox, posts = sinks
    config.write_text(config.read_text() + "  webhook: teams\n")
    cause = "repairs.csv, row 12, column reported_on: '31/02/2025' is not a date"
    on_weekly_failure(SimpleNamespace(name="scheduled-week"), _run(config), Failed(data=UserError(cause)))

    assert len(inbox.messages) == 1
    recipients, mail = inbox.messages[0]
    assert recipients == ["redflags-admins@landlord.example"]
    assert mail["Subject"] == "Repairs Red Flags: weekly run amber-otter failed"
    body = mail.get_payload()
    assert "The scheduled run amber-otter of scheduled-week ended FAILED." in body
    assert "Started: 10/03/2025 06:00 UTC" in body
    assert "Run id: 0b7c3e7a-1111-2222-3333-444455556666" in body
    assert f"Cause: {cause}" in body
    assert len(posts) == 1 and posts[0]["path"] == "/hook/abc" and posts[0]["type"] == "application/json"
    card = posts[0]["json"]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = [block["text"] for block in card["content"]["body"]]
    assert texts[0] == "Repairs Red Flags: weekly run amber-otter failed" and f"Cause: {cause}" in texts[1]


def test_an_unexpected_error_sends_only_its_kind_never_its_text(
    sinks: tuple[Path, _Inbox, list[dict[str, Any]]],
) -> None:
    config, inbox, posts = sinks
    config.write_text(config.read_text() + "  webhook: generic\n")
    state = Failed(data=ValueError(f"could not parse {PERSONAL!r}"), message=f"ValueError: {PERSONAL}")
    on_weekly_failure(SimpleNamespace(name="scheduled-week"), _run(config), state)
    _, mail = inbox.messages[0]
    assert "Cause: an unexpected error (ValueError)" in mail.get_payload()
    assert posts[0]["json"]["subject"] == "Repairs Red Flags: weekly run amber-otter failed"
    for text in (mail.as_string(), json.dumps(posts[0]["json"])):
        assert "Jane" not in text and "Acacia" not in text
    on_weekly_failure(SimpleNamespace(name="scheduled-week"), _run(config), Crashed(message=PERSONAL))
    _, crashed = inbox.messages[1]
    assert crashed["Subject"] == "Repairs Red Flags: weekly run amber-otter crashed"
    assert "Cause: the run crashed" in crashed.get_payload() and "Jane" not in crashed.as_string()


def test_the_smtp_password_comes_from_the_environment(
    smtp_sink: tuple[int, _Inbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, inbox = smtp_sink
    settings = NotificationSettings(
        email_to=("a@landlord.example",), smtp_host="127.0.0.1", smtp_port=port, smtp_username="redflags"
    )
    notice = failure_notice(
        flow_name="f", run_name="r", run_id="1", state_name="Failed", started=None, cause="c"
    )
    assert notify(settings, notice, env={"REDFLAGS_SMTP_PASSWORD": "s3cret-from-env"}) == ["e-mail"]
    assert inbox.logins == [(b"redflags", b"s3cret-from-env")] and len(inbox.messages) == 1


def test_an_unreachable_channel_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    settings = NotificationSettings(
        email_to=("a@landlord.example",), smtp_host="127.0.0.1", smtp_port=_free_port(), webhook="generic"
    )
    notice = failure_notice(
        flow_name="f", run_name="r", run_id="1", state_name="Failed", started=None, cause="c"
    )
    env = {"REDFLAGS_WEBHOOK_URL": f"http://127.0.0.1:{_free_port()}/x"}
    assert notify(settings, notice, env=env) == []
    # As a set: once the flows have routed the pipeline's loggers to Prefect, caplog sees each record twice.
    errors = sorted({r.getMessage() for r in caplog.records if r.levelname == "ERROR"})
    assert errors == [
        "could not send the failure notice by e-mail (ConnectionRefusedError)",
        "could not send the failure notice by generic webhook (URLError)",
    ]


def test_serving_refuses_a_channel_whose_secret_is_missing() -> None:
    with pytest.raises(UserError, match="REDFLAGS_WEBHOOK_URL is not set"):
        check_notifications(NotificationSettings(webhook="teams"), env={})
    with pytest.raises(UserError, match="REDFLAGS_SMTP_PASSWORD is not"):
        check_notifications(
            NotificationSettings(email_to=("a@b.example",), smtp_host="h", smtp_username="u"), env={}
        )
    check_notifications(NotificationSettings(webhook="teams"), env={"REDFLAGS_WEBHOOK_URL": "https://x"})


def test_settings_refuse_email_without_a_server() -> None:
    with pytest.raises(ValueError, match="smtp_host is not"):
        NotificationSettings(email_to=("a@b.example",))


def test_one_sentence_cause() -> None:
    long = UserError("x.csv, row 2, column a: " + "word " * 200 + "\nsecond line")
    assert len(one_sentence_cause(long)) == 300 and one_sentence_cause(long).endswith("...")
    assert one_sentence_cause(UserError("first line\nsecond")) == "first line"
    assert one_sentence_cause(KeyError(PERSONAL)) == "an unexpected error (KeyError)"
    assert one_sentence_cause(None).startswith("the run stopped without an error")
