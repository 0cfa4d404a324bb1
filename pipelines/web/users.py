"""The web page's users file: names, roles and slow salted password hashes (``redflags users``).

The file is YAML (``users: {name: {role, password_hash, added_at}}``), owner-only (0600): it is created so,
rewritten so, and refused when anyone else may read it, since a hash can be attacked offline. Passwords are
hashed with argon2id (argon2-cffi's defaults: memory-hard, salted per password) and never stored or logged.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from pipelines.core.errors import UserError

DEFAULT_USERS_FILE = "./redflags-users.yaml"
COORDINATOR = "coordinator"
ANALYST = "analyst"
# Long enough that guessing is hopeless within the lockout (5 tries per 15 minutes); a passphrase is easier.
MIN_PASSWORD_CHARS = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")

_hasher = PasswordHasher()
# Verified against when a name is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class UsersFileError(UserError):
    """A users file that cannot be used (unsafe permissions, unreadable, malformed)."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str


def roles(teams: Iterable[str]) -> list[str]:
    """Every role a user may have: each team of the settings, then coordinator and analyst."""
    return [*sorted(teams), COORDINATOR, ANALYST]


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise UserError(
            f"'{name}' is not a usable sign-in name: use 1-64 letters, digits, dots, dashes, @ or underscores"
        )
    return name


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"the password is too short: use {MIN_PASSWORD_CHARS} or more characters")
    return _hasher.hash(password)


def check_private(path: Path) -> None:
    """Refuse a users file that anyone but its owner may read or write."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise UsersFileError(
            f"the users file {path} can be read or changed by other users (mode {mode:04o}); "
            f"run `chmod 600 {path}` and try again"
        )


class UserStore:
    """The users file at ``path``; read afresh on every call, so a user added while the page runs can sign in."""

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_USERS_FILE) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, User]:
        if not self.path.exists():
            return {}
        check_private(self.path)
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise UsersFileError(
                f"the users file {self.path} cannot be read ({type(exc).__name__})"
            ) from None
        entries = data.get("users") if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            raise UsersFileError(f"the users file {self.path} has no 'users:' section")
        users: dict[str, User] = {}
        for name, entry in entries.items():
            if not isinstance(entry, dict) or not entry.get("role") or not entry.get("password_hash"):
                raise UsersFileError(
                    f"the users file {self.path}: user '{name}' needs a role and a password_hash"
                )
            users[str(name)] = User(str(name), str(entry["role"]), str(entry["password_hash"]))
        return users

    def _save(self, users: dict[str, User], added: dict[str, str]) -> None:
        data = {
            "users": {
                u.name: {"role": u.role, "password_hash": u.password_hash, "added_at": added.get(u.name, "")}
                for u in sorted(users.values(), key=lambda u: u.name)
            }
        }
        folder = self.path.parent if str(self.path.parent) else Path(".")
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".redflags-users-", dir=folder)  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                yaml.safe_dump(data, handle, sort_keys=False)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _added_dates(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        return {str(k): str(v.get("added_at", "")) for k, v in (data.get("users") or {}).items()}

    def add(self, name: str, role: str, password: str, *, allowed_roles: Iterable[str]) -> bool:
        """Add or replace a user; True when the name was new."""
        check_name(name)
        allowed = list(allowed_roles)
        if role not in allowed:
            raise UserError(f"'{role}' is not a role: use one of {', '.join(allowed)}")
        users = self.load()
        added = self._added_dates()
        is_new = name not in users
        users[name] = User(name, role, hash_password(password))
        added[name] = dt.date.today().isoformat()
        self._save(users, added)
        return is_new

    def remove(self, name: str) -> None:
        users = self.load()
        if name not in users:
            raise UserError(f"there is no user '{name}' in {self.path}")
        added = self._added_dates()
        del users[name]
        self._save(users, added)

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the name and password match; None otherwise, after the same slow work either way."""
        user = self.load().get(name)
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return user
