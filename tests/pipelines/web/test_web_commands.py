"""``redflags users add|list|remove`` and ``redflags web``'s refusals, through the console script's main."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from web_fixtures import PASSWORD

from pipelines.cli.demo import DEMO_USER, demo_user
from pipelines.cli.main import main
from pipelines.web.users import UserStore


def add(monkeypatch: pytest.MonkeyPatch, users: Path, name: str, role: str, password: str = PASSWORD) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["users", "add", name, "--role", role, "--users", str(users)])


def test_add_list_remove(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    users = tmp_path / "redflags-users.yaml"
    assert add(monkeypatch, users, "alex", "repairs_admin") == 0
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    text = users.read_text()
    assert PASSWORD not in text and "$argon2id$" in text
    assert add(monkeypatch, users, "cora", "coordinator") == 0
    assert add(monkeypatch, users, "alex", "tst", "another long password") == 0  # replaced
    assert "Replaced alex (tst)" in capsys.readouterr().out
    assert UserStore(users).authenticate("alex", "another long password") is not None
    assert UserStore(users).authenticate("alex", PASSWORD) is None
    assert main(["users", "list", "--users", str(users)]) == 0
    assert capsys.readouterr().out == "alex\ttst\ncora\tcoordinator\n"
    assert main(["users", "remove", "alex", "--users", str(users)]) == 0
    assert main(["users", "list", "--users", str(users)]) == 0
    assert capsys.readouterr().out.endswith("cora\tcoordinator\n")
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    assert main(["users", "remove", "alex", "--users", str(users)]) != 0
    assert "there is no user 'alex'" in capsys.readouterr().err


def test_default_users_file_is_in_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "ana", "--role", "analyst"]) == 0
    assert stat.S_IMODE((tmp_path / "redflags-users.yaml").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("name", "role", "password", "says"),
    [
        (
            "alex",
            "manager",
            PASSWORD,
            "'manager' is not a role: use one of repairs_admin, tst, coordinator, analyst",
        ),
        ("alex", "tst", "short", "too short: use 12 or more characters"),
        ("bad name!", "tst", PASSWORD, "is not a usable sign-in name"),
    ],
)
def test_bad_users_are_refused_in_one_sentence(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name,
    role,
    password,
    says,
) -> None:  # type: ignore[no-untyped-def]
    users = tmp_path / "u.yaml"
    assert add(monkeypatch, users, name, role, password) != 0
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not users.exists()


def test_users_file_readable_by_others_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_key: str
) -> None:
    users = tmp_path / "u.yaml"
    assert add(monkeypatch, users, "alex", "tst") == 0
    os.chmod(users, 0o644)
    before = users.read_text()
    for argv in (
        ["users", "list", "--users", str(users)],
        ["web", "--users", str(users), "--db", str(tmp_path / "none.duckdb")],
    ):
        assert main(argv) != 0
        err = capsys.readouterr().err
        assert f"the users file {users} can be read or changed by other users (mode 0644)" in err
    assert add(monkeypatch, users, "cora", "coordinator") != 0
    assert users.read_text() == before  # nothing changed


def test_web_without_a_users_file_or_database_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_key: str
) -> None:
    assert main(["web", "--users", str(tmp_path / "none.yaml"), "--db", str(tmp_path / "x.duckdb")]) != 0
    assert "add a user first with `redflags users add" in capsys.readouterr().err
    users = tmp_path / "u.yaml"
    assert add(monkeypatch, users, "alex", "tst") == 0
    assert main(["web", "--users", str(users), "--db", str(tmp_path / "x.duckdb")]) != 0
    assert "there is no database at" in capsys.readouterr().err


def test_demo_user_is_a_coordinator_with_a_private_password(tmp_path: Path) -> None:
    users, password_file = demo_user(tmp_path)
    assert stat.S_IMODE(users.stat().st_mode) == 0o600 and stat.S_IMODE(password_file.stat().st_mode) == 0o600
    user = UserStore(users).authenticate(DEMO_USER, password_file.read_text().strip())
    assert user is not None and user.role == "coordinator"
    again_users, again_password = demo_user(tmp_path)  # a second demo replaces the password
    assert UserStore(again_users).authenticate(DEMO_USER, again_password.read_text().strip()) is not None
