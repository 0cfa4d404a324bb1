"""`redflags demo` ends with a demo user and the command that opens the review pages; both work as printed."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipelines.cli.main import build_parser, main
from pipelines.core.settings import load_settings
from pipelines.warehouse.connection import open_warehouse
from pipelines.web.app import WebConfig, create_app


@pytest.mark.slow
def test_demo_user_signs_in_to_the_printed_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDFLAGS_DB_KEY", raising=False)
    assert main(["demo", "--dir", str(tmp_path / "demo"), "--homes", "400"]) == 0
    printed = capsys.readouterr().out
    command = re.search(r"REDFLAGS_DB_KEY=\$\(cat (\S+)\) redflags (web .*)", printed)
    password_file = re.search(r"sign in as demo \(coordinator: every team\), password in (\S+)", printed)
    assert command and password_file, printed
    args = build_parser().parse_args(shlex.split(command.group(2)))  # the printed command parses as it is
    monkeypatch.setenv("REDFLAGS_DB_KEY", Path(command.group(1)).read_text().strip())
    wh = open_warehouse(args.db, read_only=True)
    cipher = wh.cipher
    wh.close()
    app = create_app(
        WebConfig(db=Path(args.db), users=Path(args.users), settings=load_settings(), cipher=cipher)
    )
    client = TestClient(app, follow_redirects=False)
    password = Path(password_file.group(1)).read_text().strip()
    assert client.post("/login", data={"username": "demo", "password": password}).status_code == 303
    worklist = client.get("/")
    assert worklist.status_code == 200
    keys = re.findall(r'href="/household/([^"]+)"', worklist.text)
    assert keys, "the demo's latest list has households"
    household = client.get(f"/household/{keys[0]}")
    assert household.status_code == 200 and "Evidence, in date order" in household.text
    assert '<td class="nowrap">' in household.text  # at least one dated evidence row
