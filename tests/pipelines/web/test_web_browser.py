"""End to end in a real browser: `redflags web` served by uvicorn, driven by Playwright through Debian's Chromium.

Skips, saying why, where Chromium (``apt-get install chromium``) or Playwright is not installed. The page is used
with JavaScript switched off (it must work without), by keyboard where a person would.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_fixtures import HTML_TEXT, PASSWORD, build_warehouse, write_users

CHROMIUM = os.environ.get("REDFLAGS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')"
    )
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if executable is None:
        pytest.skip(f"no Chromium at {CHROMIUM} or on PATH: install it with `apt-get install -y chromium`")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def server(tmp_path: Path, db_key: str) -> Iterator[tuple[str, Path]]:
    """`redflags -v web` on a free port over the hand-built warehouse; yields its address and its log file."""
    db, users, log = tmp_path / "wh.duckdb", tmp_path / "users.yaml", tmp_path / "server.log"
    build_warehouse(db)
    write_users(users)
    port = _free_port()
    code = "import sys; from pipelines.cli.main import main; sys.exit(main(sys.argv[1:]))"
    argv = ["-v", "web", "--db", str(db), "--users", str(users), "--port", str(port)]
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-c", code, *argv], stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"redflags web did not start: {log.read_text()}")
        yield base, log
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_review_by_keyboard_without_javascript(browser, server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, log = server
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen_urls: list[str] = []
    page.on("request", lambda request: seen_urls.append(request.url))
    page.goto(f"{base}/")
    assert page.url == f"{base}/login"

    # sign in by keyboard: the name field has focus, Tab to the password, Enter submits
    page.get_by_label("Name").fill("alex")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Worklist: week ending 16 March 2025"
    rows = page.locator("table tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).inner_text().split("\t")[:3] == ["1", "T1", "10.00"]
    cookie = next(c for c in context.cookies() if c["name"] == "redflags_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.screenshot(path=str(tmp_path / "worklist.png"), full_page=True)

    # an earlier week is a click away
    page.get_by_role("link", name="Week ending 09 Mar 2025").click()
    assert "week ending 09 March 2025" in page.get_by_role("heading", level=1).inner_text()
    page.go_back()

    # open the household by keyboard: focus its link, press Enter
    page.get_by_role("link", name="T1").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/household/"))
    assert page.get_by_role("heading", level=1).inner_text() == "Household T1"
    evidence = page.locator("table.evidence tbody tr")
    dates = [evidence.nth(i).locator("td").first.inner_text() for i in range(evidence.count())]
    assert dates == ["02 Jan 2025", "01 Feb 2025", "08 Feb 2025", "20 Feb 2025", "02 Mar 2025", "05 Mar 2025"]
    assert "CORRECTED TEXT lock" in evidence.nth(0).inner_text()
    household_url = page.url

    # record an outcome with a rationale holding markup: it shows as text, never as markup
    page.get_by_label("Outcome").select_option("new_concern_referred")
    page.get_by_label("Why").fill(HTML_TEXT)
    page.get_by_label("Why").press("Tab")  # to the date, which defaults to today
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the Record outcome button
    page.wait_for_url(household_url)
    assert page.get_by_role("status").inner_text() == "Outcome recorded."
    outcome_row = page.locator("h2:has-text('Outcomes') + table tbody tr").first
    assert HTML_TEXT in outcome_row.inner_text()
    assert page.locator("script").count() == 0
    page.screenshot(path=str(tmp_path / "household.png"), full_page=True)

    # the worklist now shows the outcome so far
    page.get_by_role("link", name="Back to the worklist").click()
    assert "new concern referred" in page.locator("table tbody tr").nth(0).inner_text()

    # sign out ends the session: the worklist sends you to sign in again
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{base}/")
    assert page.url == f"{base}/login"

    # no household reference reached a URL the browser asked for, nor the server's log (access log included)
    # a reference as a reference, not two characters inside an opaque key's URL-safe base64
    as_ref = re.compile(r"(?<![A-Za-z0-9_-])(?:P-)?T[15](?![A-Za-z0-9_])")
    assert seen_urls and not any(as_ref.search(url) for url in seen_urls)
    server_log = log.read_text()
    assert "GET /household/… 200" in server_log
    assert not re.search(r"T1|P-T1|/household/[A-Za-z0-9_-]", server_log)
    context.close()


def test_focus_is_visible_and_starts_at_the_skip_link(browser, server) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    page = browser.new_page()
    page.goto(f"{base}/nowhere")  # a page without a field that takes focus on arrival (sign-in's name does)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    assert (
        page.evaluate("getComputedStyle(document.activeElement).position") == "static"
    )  # shown when focused
    page.goto(f"{base}/login")
    assert page.evaluate("document.activeElement.id") == "username"
    page.get_by_label("Name").focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    # the page cannot be framed, and inline script would not run (no script is allowed at all)
    response = page.goto(f"{base}/login")
    assert response is not None and response.headers["x-frame-options"] == "DENY"
