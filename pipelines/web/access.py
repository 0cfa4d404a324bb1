"""Need to know, sessions, sign-in lockout and opaque household keys for the web page (docs/contract WEB.md).

Everything here is held in the server's memory: a restart signs everyone out and makes old links stale, which
is the safe way round for a page that shows case records.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pipelines.web.users import ANALYST, COORDINATOR

SESSION_IDLE_SECONDS = 30 * 60  # the contract: a session ends after 30 minutes without a request
MAX_FAILED_SIGN_INS = 5  # the contract: five failures for one name lock it ...
LOCKOUT_SECONDS = 15 * 60  # ... for 15 minutes
_KEY_CONTEXT = b"redflags household key v1"
_SEP = "\x1f"  # unit separator: in neither list ids nor tenancy refs

Clock = Callable[[], float]


@dataclass(frozen=True)
class Access:
    """What a role may see: the teams whose worklists and households it may open."""

    role: str
    teams: frozenset[str]

    @property
    def sees_households(self) -> bool:
        return self.role != ANALYST and bool(self.teams)

    @property
    def is_coordinator(self) -> bool:
        return self.role == COORDINATOR

    def may_see(self, team: str) -> bool:
        return self.sees_households and team in self.teams


def access_for(role: str, teams: Iterable[str]) -> Access:
    """A team's role sees its own team; a coordinator every team; an analyst no household (counts only)."""
    all_teams = frozenset(teams)
    if role == COORDINATOR:
        return Access(role, all_teams)
    if role == ANALYST:
        return Access(role, frozenset())
    return Access(role, frozenset({role}) & all_teams)


class HouseholdKeys:
    """Opaque, unguessable keys for (list_id, tenancy_ref): AES-GCM sealed under a secret held by this process.

    A key says nothing about the household (no reference reaches a URL, browser history or an access log),
    cannot be made up or altered (the tag fails), and is bound to the signed-in name (a link passed on to a
    colleague does not open for them). Access is still checked on every use.
    """

    def __init__(self, secret: bytes | None = None) -> None:
        self._aead = AESGCM(secret or AESGCM.generate_key(bit_length=256))

    def seal(self, list_id: str, tenancy_ref: str, user: str) -> str:
        nonce = secrets.token_bytes(12)
        body = self._aead.encrypt(
            nonce, f"{list_id}{_SEP}{tenancy_ref}".encode(), _KEY_CONTEXT + user.encode()
        )
        return base64.urlsafe_b64encode(nonce + body).decode().rstrip("=")

    def open(self, key: str, user: str) -> tuple[str, str] | None:
        """(list_id, tenancy_ref), or None for a key this process did not give this user."""
        if not key or len(key) > 400:
            return None
        try:
            raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
            plain = self._aead.decrypt(raw[:12], raw[12:], _KEY_CONTEXT + user.encode())
        except (ValueError, binascii.Error, InvalidTag):
            return None
        list_id, _, tenancy_ref = plain.decode().partition(_SEP)
        return (list_id, tenancy_ref) if list_id and tenancy_ref else None


@dataclass
class Session:
    user: str
    role: str
    csrf_token: str
    last_seen: float
    notice: str | None = None  # one message for the next page (e.g. "outcome recorded")


@dataclass
class Sessions:
    """Server-side sessions by random id; the cookie carries only the id."""

    clock: Clock = time.time
    _by_id: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, user: str, role: str) -> str:
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._by_id[session_id] = Session(user, role, secrets.token_urlsafe(32), self.clock())
        return session_id

    def get(self, session_id: str | None) -> Session | None:
        """The live session for this id (and its idle clock restarted), or None when unknown or idle too long."""
        if not session_id:
            return None
        now = self.clock()
        with self._lock:
            session = self._by_id.get(session_id)
            if session is None:
                return None
            if now - session.last_seen > SESSION_IDLE_SECONDS:
                del self._by_id[session_id]
                return None
            session.last_seen = now
            return session

    def end(self, session_id: str | None) -> None:
        with self._lock:
            self._by_id.pop(session_id or "", None)

    def end_user(self, user: str) -> None:
        with self._lock:
            for sid in [s for s, v in self._by_id.items() if v.user == user]:
                del self._by_id[sid]


@dataclass
class Lockout:
    """Failed sign-ins per name: the fifth within the lock period locks the name for LOCKOUT_SECONDS."""

    clock: Clock = time.time
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def is_locked(self, name: str) -> bool:
        now = self.clock()
        with self._lock:
            until = self._locked_until.get(name.lower())
            if until is not None and now >= until:
                del self._locked_until[name.lower()]
                self._failures.pop(name.lower(), None)
                return False
            return until is not None

    def failed(self, name: str) -> bool:
        """Count a failure; True when it locks the name."""
        now = self.clock()
        key = name.lower()
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < LOCKOUT_SECONDS]
            recent.append(now)
            self._failures[key] = recent
            if len(recent) >= MAX_FAILED_SIGN_INS:
                self._locked_until[key] = now + LOCKOUT_SECONDS
                return True
            return False

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name.lower(), None)
