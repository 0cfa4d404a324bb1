"""Telling someone that a scheduled weekly run failed: an e-mail (SMTP) and/or a Teams or generic webhook.

Configured under ``notifications`` in the settings; secrets come from the environment only
(``REDFLAGS_SMTP_PASSWORD``, ``REDFLAGS_WEBHOOK_URL``). The message says which run failed, when, and the cause in
one sentence; it never carries personal data: the cause is our own one-sentence error (which names a file, row
and column, never a value) or, for anything else, only the kind of error and a pointer to the run's log.

:func:`on_weekly_failure` is the Prefect hook (``on_failure`` / ``on_crashed``) of the scheduled flow. A
notification that cannot be sent is logged, never raised: it must not hide the run's own failure.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import smtplib
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from pipelines.core.errors import UserError
from pipelines.core.settings import NotificationSettings, load_settings

log = logging.getLogger(__name__)

SMTP_PASSWORD_ENV = "REDFLAGS_SMTP_PASSWORD"
WEBHOOK_URL_ENV = "REDFLAGS_WEBHOOK_URL"
_CAUSE_MAX = 300  # characters: one sentence, not a stack trace


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str


def check_notifications(settings: NotificationSettings, env: Mapping[str, str] | None = None) -> None:
    """Refuse to start serving when a configured channel lacks its secret, rather than fail silently later."""
    env = os.environ if env is None else env
    if settings.webhook != "none" and not env.get(WEBHOOK_URL_ENV):
        raise UserError(
            f"notifications.webhook is {settings.webhook} but {WEBHOOK_URL_ENV} is not set: put the webhook's "
            "address in that environment variable"
        )
    if settings.smtp_username and not env.get(SMTP_PASSWORD_ENV):
        raise UserError(
            f"notifications.smtp_username is set but {SMTP_PASSWORD_ENV} is not: put the mail password in "
            "that environment variable"
        )


def one_sentence_cause(exc: BaseException | None) -> str:
    """What went wrong, safe to send: our own error's first line, else only the error's kind."""
    if isinstance(exc, UserError):
        first = (str(exc).strip().splitlines() or [""])[0]
        if len(first) > _CAUSE_MAX:
            first = first[: _CAUSE_MAX - 3].rstrip() + "..."
        return first or type(exc).__name__
    if exc is None:
        return "the run stopped without an error (it may have been killed or lost its machine)"
    if type(exc).__name__ == "CrashedRun":  # Prefect's: the run's process or machine went away
        return "the run crashed: its process ended before it finished (killed, out of memory, or a restart)"
    # Another library's message may quote a value from the data: only its kind leaves the machine.
    return f"an unexpected error ({type(exc).__name__})"


def failure_notice(
    *,
    flow_name: str,
    run_name: str,
    run_id: str,
    state_name: str,
    started: dt.datetime | None,
    cause: str,
) -> Notice:
    when = f"{started:%d/%m/%Y %H:%M %Z}".strip() if started else "unknown"
    subject = f"Repairs Red Flags: weekly run {run_name} {state_name.lower()}"
    body = "\n".join(
        [
            f"The scheduled run {run_name} of {flow_name} ended {state_name.upper()}.",
            f"Started: {when}",
            f"Run id: {run_id}",
            f"Cause: {cause}",
            "",
            "Open the run in the Prefect UI for its log. Fix the cause, then run it again "
            "(prefect deployment run 'scheduled-week/weekly') or wait for next week's run.",
        ]
    )
    return Notice(subject, body)


def send_email(settings: NotificationSettings, notice: Notice, env: Mapping[str, str]) -> None:
    message = EmailMessage()
    message["Subject"] = notice.subject
    message["From"] = settings.email_from
    message["To"] = ", ".join(settings.email_to)
    message.set_content(notice.body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout_seconds) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, env.get(SMTP_PASSWORD_ENV, ""))
        smtp.send_message(message)


def webhook_payload(kind: str, notice: Notice) -> dict[str, Any]:
    """Teams (a Workflows webhook: an Adaptive Card message) or a generic JSON body."""
    if kind == "teams":
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {"type": "TextBlock", "text": notice.subject, "weight": "Bolder", "wrap": True},
                            {"type": "TextBlock", "text": notice.body, "wrap": True},
                        ],
                    },
                }
            ],
        }
    return {"subject": notice.subject, "text": notice.body}


def send_webhook(settings: NotificationSettings, notice: Notice, env: Mapping[str, str]) -> None:
    url = env.get(WEBHOOK_URL_ENV, "")
    if not url.startswith(("https://", "http://")):
        raise UserError(f"{WEBHOOK_URL_ENV} is not an http(s) address")
    request = urllib.request.Request(
        url,
        data=json.dumps(webhook_payload(settings.webhook, notice)).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=settings.timeout_seconds) as response:
        response.read()


def notify(settings: NotificationSettings, notice: Notice, env: Mapping[str, str] | None = None) -> list[str]:
    """Send ``notice`` on every configured channel; return the channels that took it. Failures are logged."""
    env = os.environ if env is None else env
    sent: list[str] = []
    channels = []
    if settings.email_to:
        channels.append(("e-mail", send_email))
    if settings.webhook != "none":
        channels.append((f"{settings.webhook} webhook", send_webhook))
    for name, send in channels:
        try:
            send(settings, notice, env)
        except (OSError, smtplib.SMTPException, urllib.error.URLError, UserError) as exc:
            # The address or server is configuration, not personal data; the exception text may echo it.
            log.error("could not send the failure notice by %s (%s)", name, type(exc).__name__)
        else:
            sent.append(name)
    if not channels:
        log.warning("a weekly run failed and no notification is configured (settings: notifications)")
    return sent


def _exception_of(state: Any) -> BaseException | None:
    try:
        result = state.result(raise_on_failure=False)
    except Exception:  # the result could not be read back (no result storage): say only that it failed
        return None
    return result if isinstance(result, BaseException) else None


def on_weekly_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect ``on_failure``/``on_crashed`` hook: tell the configured people which run failed and why."""

    parameters = getattr(flow_run, "parameters", None) or {}
    try:
        settings = load_settings(parameters.get("config")).notifications
    except UserError:
        settings = load_settings().notifications  # the run may have failed on its own config file
    notice = failure_notice(
        flow_name=str(getattr(flow, "name", "scheduled-week")),
        run_name=str(getattr(flow_run, "name", "?")),
        run_id=str(getattr(flow_run, "id", "?")),
        state_name=str(getattr(state, "name", None) or "Failed"),
        started=getattr(flow_run, "start_time", None),
        cause=one_sentence_cause(_exception_of(state)),
    )
    sent = notify(settings, notice)
    if sent:
        log.info("failure notice sent by %s", ", ".join(sent))
