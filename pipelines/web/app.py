"""The review pages (``redflags web``): FastAPI, server-rendered Jinja2, no JavaScript (docs/contract WEB.md).

``create_app(config)`` builds the application; uvicorn serves it (``pipelines/web/serve.py``). Need to know is
checked on the server for every route: a team's role sees its own team, a coordinator every team, an analyst
counts only. The warehouse is opened for the moment of each request (so the weekly run can take its write
lock), one request at a time in this process; while the run holds the lock, pages say so and ask for a minute.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipelines.core.settings import Settings
from pipelines.outcomes.history import household_history
from pipelines.outcomes.records import OutcomesError, record_one_outcome
from pipelines.warehouse.audit import record_event
from pipelines.warehouse.connection import Warehouse, WarehouseBusy, WarehouseError, open_for_request
from pipelines.warehouse.crypto import FieldCipher
from pipelines.warehouse.references import pseudonymise
from pipelines.web import queries
from pipelines.web.access import Access, HouseholdKeys, Lockout, Session, Sessions, access_for
from pipelines.web.users import ANALYST, UsersFileError, UserStore, roles

log = logging.getLogger(__name__)
access_log = logging.getLogger("pipelines.web.access")

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "redflags_session"
RECORDS_CACHE_LISTS = 8  # lists whose records are kept in memory (encrypted): this week's and a few before
SIGN_IN_FAILED = (
    "Sign-in failed: check your name and password. After 5 failed tries a name is locked for 15 minutes."
)
SECURITY_HEADERS = {
    # No script at all, styles only from this server, forms post only here, never inside another site's frame.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@dataclass(frozen=True)
class WebConfig:
    """What the page serves: the warehouse, the users file, the settings, and the key (derived once)."""

    db: Path
    users: Path
    settings: Settings
    cipher: FieldCipher


class PageError(Exception):
    """A refusal shown to the person as a plain page with a status (never details of a household)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(title)
        self.status, self.title, self.message = status, title, message


def not_found() -> PageError:
    # The same answer for unknown and not-yours: a key or list id that does not open says nothing about why.
    return PageError(404, "Page not found", "There is nothing here you can open. Go back to your worklist.")


def _route_name(path: str) -> str:
    """The route a path belongs to, without its identifiers: what the access log prints."""
    for prefix in ("/household/", "/lists/", "/static/"):
        if path.startswith(prefix):
            return prefix + "…"
    return path


def lists_and_chosen(
    wh: Warehouse, list_id: str | None
) -> tuple[list[queries.PublishedList], queries.PublishedList | None]:
    """Every published list, and the one asked for (the latest when none is named; 404 for an unknown id)."""
    lists = queries.published_lists(wh)
    if list_id is None:
        return lists, lists[0] if lists else None
    chosen = next((x for x in lists if x.list_id == list_id), None)
    if chosen is None:
        raise not_found()
    return lists, chosen


def create_app(
    config: WebConfig,
    *,
    clock: Callable[[], float] = time.time,
    today: Callable[[], dt.date] = dt.date.today,
) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True)
    )
    sessions, lockout, keys = Sessions(clock), Lockout(clock), HouseholdKeys()
    users = UserStore(config.users)
    teams = list(config.settings.teams)
    team_labels = {name: team.label for name, team in config.settings.teams.items()}
    db_lock = threading.Lock()
    app.state.sessions, app.state.lockout, app.state.keys = sessions, lockout, keys

    @contextmanager
    def warehouse(*, read_only: bool) -> Iterator[Warehouse]:
        # One request at a time holds the file: DuckDB refuses a read-only and a read-write handle on one file
        # in one process, and a page's moment is short.
        with db_lock:
            wh = open_for_request(config.db, config.cipher, read_only=read_only)
            try:
                yield wh
            finally:
                wh.close()

    def page(
        request: Request, name: str, status: int = 200, session: Session | None = None, **context: Any
    ) -> HTMLResponse:
        html = templates.get_template(name).render(
            session=session, team_labels=team_labels, path=request.url.path, **context
        )
        return HTMLResponse(html, status_code=status)

    def message(
        request: Request, status: int, title: str, text: str, session: Session | None = None
    ) -> Response:
        response = page(request, "message.html", status, session, title=title, text=text)
        if status == 503:
            response.headers["Retry-After"] = "60"
        return response

    def session_of(request: Request) -> Session | None:
        return sessions.get(request.cookies.get(SESSION_COOKIE))

    def signed_in(request: Request) -> Session | None:
        """The live session, while its user is still in the users file with the same role (a user removed or
        moved to another team is signed out at their next request)."""
        session = session_of(request)
        if session is None:
            return None
        user = users.load().get(session.user)
        if user is None or user.role != session.role:
            sessions.end(request.cookies.get(SESSION_COOKIE))
            return None
        return session

    def to_login() -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    def access_of(session: Session) -> Access:
        return access_for(session.role, teams)

    @app.middleware("http")
    async def headers_and_access_log(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        try:
            response: Response = await call_next(request)
        except Exception as exc:
            # Answered here, not by Starlette's last-resort handler, which would also hand the exception to the
            # server to log with its message and traceback (a message could quote a value from a household's
            # record). The type only.
            log.error("unexpected error on %s: %s", _route_name(request.url.path), type(exc).__name__)
            response = message(
                request, 500, "Something went wrong", "Try again; if it happens again, tell your manager."
            )
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        access_log.info(
            "%s %s %d %.0f ms",
            request.method,
            _route_name(request.url.path),
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        return message(request, exc.status, exc.title, exc.message, session_of(request))

    @app.exception_handler(WarehouseBusy)
    async def busy(request: Request, exc: WarehouseBusy) -> Response:
        return message(
            request,
            503,
            "The list is being updated",
            "The weekly run is updating the review list. Try again in a minute.",
            session_of(request),
        )

    @app.exception_handler(WarehouseError)
    async def unavailable(request: Request, exc: WarehouseError) -> Response:
        log.error("the review pages cannot open the database: %s", exc)
        return message(
            request, 503, "The review list is not available", "Ask the person who runs the review pages."
        )

    @app.exception_handler(UsersFileError)
    async def users_file(request: Request, exc: UsersFileError) -> Response:
        log.error("%s", exc)
        return message(
            request,
            503,
            "Sign-in is not available",
            "The users file is not safe to use. Ask the person who runs the review pages (the reason is in "
            "the server's log).",
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            err = not_found()
            return message(request, 404, err.title, err.message, session_of(request))
        if exc.status_code == 405:
            return message(request, 405, "Not allowed", "This page cannot be used that way.")
        return message(request, exc.status_code, "Something went wrong", "Go back and try again.")

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        return message(
            request, 400, "Something is missing", "The form was not complete. Go back and try again."
        )

    @app.get("/healthz")
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/login")
    def login_form(request: Request) -> HTMLResponse:
        return page(request, "login.html", csrf_token=secrets.token_urlsafe(32))

    @app.post("/login")
    def login(
        request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = ""
    ) -> Response:
        name = username.strip()
        locked = lockout.is_locked(name)
        user = None if locked else users.authenticate(name, password)
        if user is None or user.role not in roles(teams):
            # Tries while locked are refused alike but not counted: the lock ends 15 minutes after it began.
            if name and not locked and lockout.failed(name):
                log.warning("a sign-in name was locked for 15 minutes after 5 failed tries")
            return page(
                request,
                "login.html",
                401,
                error=SIGN_IN_FAILED,
                username=name,
                csrf_token=secrets.token_urlsafe(32),
            )
        lockout.succeeded(name)
        sessions.end(request.cookies.get(SESSION_COOKIE))  # a fresh id at every sign-in
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            sessions.start(user.name, user.role),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @app.post("/logout")
    def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
        session = signed_in(request)
        if session is None:
            return to_login()
        if not secrets.compare_digest(csrf_token, session.csrf_token):
            raise PageError(
                403, "Not allowed", "This form has expired. Go back, reload the page and try again."
            )
        sessions.end(request.cookies.get(SESSION_COOKIE))
        response = to_login()
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response

    def worklist_page(request: Request, session: Session, list_id: str | None) -> Response:
        access = access_of(session)
        with warehouse(read_only=True) as wh:
            lists, chosen = lists_and_chosen(wh, list_id)
            if not access.sees_households:
                counts = queries.team_counts(wh, chosen.list_id) if chosen else []
                return page(
                    request, "counts.html", session=session, lists=lists, chosen=chosen, counts=counts
                )
            rows = queries.worklist(wh, chosen.list_id, sorted(access.teams)) if chosen else []
        notice, session.notice = session.notice, None
        due = (
            queries.due_date(chosen.published_on, config.settings.outcomes.review_within_working_days)
            if chosen
            else None
        )
        for row in rows:
            row["key"] = keys.seal(chosen.list_id, row["tenancy_ref"], session.user) if chosen else ""
        response = page(
            request,
            "worklist.html",
            session=session,
            lists=lists,
            chosen=chosen,
            rows=rows,
            due=due,
            today=today(),
            notice=notice,
            teams=sorted(access.teams),
        )
        if chosen and rows:
            # Read the list's records once the worklist has been sent, so the first household opened is quick.
            response.background = BackgroundTask(warm_records, chosen.list_id, chosen.as_of)
        return response

    @app.get("/")
    def home(request: Request) -> Response:
        session = signed_in(request)
        return to_login() if session is None else worklist_page(request, session, None)

    @app.get("/lists/{list_id}")
    def earlier_list(request: Request, list_id: str) -> Response:
        session = signed_in(request)
        return to_login() if session is None else worklist_page(request, session, list_id)

    records_cache: OrderedDict[tuple[Any, ...], dict[str, list[dict[str, Any]]]] = OrderedDict()

    def list_records(wh: Warehouse, list_id: str, as_of: dt.date) -> dict[str, list[dict[str, Any]]]:
        """The list's records for every household on it, read in one pass and kept (text still encrypted) until
        the warehouse's records change: a list is fixed once published, and reading the big tables once per
        list rather than once per household view keeps a household page fast at 160,000 homes."""
        key = (list_id, *queries.records_version(wh))
        if key not in records_cache:
            records_cache[key] = queries.list_records(
                wh, list_id=list_id, as_of=as_of, window_days=config.settings.features.long_window_days
            )
            while len(records_cache) > RECORDS_CACHE_LISTS:
                records_cache.popitem(last=False)
        records_cache.move_to_end(key)
        return records_cache[key]

    def warm_records(list_id: str, as_of: dt.date) -> None:
        try:
            with warehouse(read_only=True) as wh:
                list_records(wh, list_id, as_of)
        except WarehouseError:  # busy with a run, or gone: the household page reads them when asked
            log.debug("list records not read ahead")

    def resolve(session: Session, key: str, wh: Warehouse) -> dict[str, Any] | None:
        """The listing a key stands for, when this user may see it; None otherwise (unknown, altered, not theirs)."""
        access = access_of(session)
        opened = keys.open(key, session.user) if access.sees_households else None
        if opened is None:
            return None
        row = queries.listing(wh, *opened)
        return row if row is not None and access.may_see(row["team"]) else None

    @app.get("/household/{key}")
    def household(request: Request, key: str) -> Response:
        session = signed_in(request)
        if session is None:
            return to_login()
        with warehouse(read_only=False) as wh:
            row = resolve(session, key, wh)
            if row is None:
                raise not_found()
            records = queries.decrypted(
                wh, list_records(wh, row["list_id"], row["as_of"]).get(row["tenancy_ref"], [])
            )
            history = household_history(wh, row["tenancy_ref"])
            record_event(
                wh.con,
                cipher=wh.cipher,
                actor=session.user,
                action="history_viewed",
                tenancy_ref=pseudonymise(wh.cipher, [row["tenancy_ref"]])[0],
                detail={
                    "found": True,
                    "via": "web",
                    "list_id": row["list_id"],
                    "records": len(records),
                    "listings": history.listings.height,
                    "outcomes": history.outcomes.height,
                },
            )
        notice, session.notice = session.notice, None
        due = queries.due_date(row["published_on"], config.settings.outcomes.review_within_working_days)
        return page(
            request,
            "household.html",
            session=session,
            row=row,
            key=key,
            records=records,
            history=history,
            listings=list(history.listings.iter_rows(named=True)),
            carried=list(history.carried.iter_rows(named=True)),
            outcomes=list(history.outcomes.iter_rows(named=True)),
            values=config.settings.outcomes.values,
            today=today(),
            due=due,
            notice=notice,
        )

    @app.post("/outcome")
    def outcome(
        request: Request,
        csrf_token: Annotated[str, Form()] = "",
        key: Annotated[str, Form()] = "",
        outcome: Annotated[str, Form()] = "",
        rationale: Annotated[str, Form()] = "",
        reviewed_on: Annotated[str, Form()] = "",
    ) -> Response:
        session = signed_in(request)
        if session is None:
            return to_login()
        if not secrets.compare_digest(csrf_token, session.csrf_token):
            raise PageError(
                403, "Not allowed", "This form has expired. Go back, reload the page and try again."
            )
        with warehouse(read_only=False) as wh:
            row = resolve(session, key, wh)
            if row is None:
                raise PageError(403, "Not allowed", "You cannot record an outcome for this household.")
            try:
                done = record_one_outcome(
                    wh,
                    list_id=row["list_id"],
                    tenancy_ref=row["tenancy_ref"],
                    outcome=outcome,
                    rationale=rationale.strip(),
                    reviewer=session.user,
                    reviewed_on=reviewed_on.strip() or None,
                    values=config.settings.outcomes.values,
                    today=today(),
                )
            except OutcomesError as exc:
                return page(request, "refused.html", 400, session=session, problems=exc.problems, key=key)
        session.notice = {
            "recorded": "Outcome recorded.",
            "correction": "Outcome recorded as a correction; the earlier outcome is kept beside it.",
            "already_recorded": "That outcome was already recorded; nothing was added.",
        }[done.status]
        return RedirectResponse(f"/household/{key}", status_code=303)

    @app.get("/overview")
    def overview(request: Request, list_id: Annotated[str | None, Query(alias="list")] = None) -> Response:
        session = signed_in(request)
        if session is None:
            return to_login()
        access = access_of(session)
        if not (access.is_coordinator or session.role == ANALYST):
            raise not_found()
        with warehouse(read_only=True) as wh:
            lists, chosen = lists_and_chosen(wh, list_id)
            counts = queries.team_counts(wh, chosen.list_id) if chosen else []
            backlog = queries.backlog(wh, chosen.list_id, teams) if chosen and access.is_coordinator else []
        return page(
            request,
            "overview.html",
            session=session,
            lists=lists,
            chosen=chosen,
            counts=counts,
            backlog=backlog,
        )

    return app
