"""The review pages through FastAPI's test client: every route, every role, every refusal (WEB.md)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from web_fixtures import LIST1, LIST2, PASSWORD, TODAY, FakeClock, make_app

from pipelines.warehouse.connection import open_warehouse, query
from pipelines.warehouse.references import REFERENCE_COLUMNS, decrypt_columns, pseudonymise_frame, reveal
from pipelines.web.queries import due_date

pytestmark = pytest.mark.usefixtures("db_key")


def mentions(text: str, ref: str) -> bool:
    """Whether ``ref`` stands in ``text`` as a reference: not as two characters inside a random token (a session's
    CSRF token or an opaque household key is URL-safe base64, where "T1" turns up by chance)."""
    return re.search(rf"(?<![A-Za-z0-9_-]){re.escape(ref)}(?![A-Za-z0-9_])", text) is not None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock, db_key: str):  # type: ignore[no-untyped-def]
    return make_app(tmp_path, clock)


def client_for(app, name: str | None) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(app, follow_redirects=False)
    if name:
        r = client.post("/login", data={"username": name, "password": PASSWORD})
        assert r.status_code == 303, r.text
    return client


@pytest.fixture
def alex(app) -> TestClient:  # type: ignore[no-untyped-def]
    return client_for(app, "alex")


def keys_on(html: str) -> dict[str, str]:
    """tenancy_ref -> household key, from the worklist's links."""
    return dict((ref, key) for key, ref in re.findall(r'href="/household/([^"]+)">([^<]+)</a>', html))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def db_rows(tmp_path: Path, sql: str, *, clear: bool = False) -> list[tuple]:  # type: ignore[type-arg]
    """The rows as stored; with ``clear``, references revealed and ``reviewer_enc`` decrypted, as a person reads."""
    wh = open_warehouse(tmp_path / "wh.duckdb", read_only=True)
    try:
        frame = query(wh.con, sql)
        if clear:
            frame = reveal(wh.con, wh.cipher, frame, REFERENCE_COLUMNS)
            encrypted = ("reviewer_enc", "outcome_enc", "actor_enc")
            frame = decrypt_columns(wh.cipher, frame, [c for c in frame.columns if c in encrypted])
        return list(frame.iter_rows())
    finally:
        wh.close()


# --- health, sign-in, sessions ----------------------------------------------------------------------------


def test_healthz_with_and_without_a_session(app, alex) -> None:  # type: ignore[no-untyped-def]
    for client in (TestClient(app), alex):
        r = client.get("/healthz")
        assert (r.status_code, r.text) == (200, "ok")


def test_sign_in_form_has_labels_and_a_csrf_field(app) -> None:  # type: ignore[no-untyped-def]
    r = TestClient(app).get("/login")
    assert r.status_code == 200
    assert '<label for="username">' in r.text and '<label for="password">' in r.text
    assert re.search(r'<input type="hidden" name="csrf_token" value="[^"]{20,}">', r.text)


def test_sign_in_sets_a_strict_httponly_cookie_and_redirects_home(app) -> None:  # type: ignore[no-untyped-def]
    r = TestClient(app, follow_redirects=False).post(
        "/login", data={"username": "alex", "password": PASSWORD}
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "redflags_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_wrong_password_and_unknown_name_get_the_same_answer(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app, follow_redirects=False)
    wrong = client.post("/login", data={"username": "alex", "password": "not the password!"})
    unknown = client.post("/login", data={"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert "set-cookie" not in wrong.headers and "set-cookie" not in unknown.headers

    def answer(r) -> str:  # type: ignore[no-untyped-def]
        return re.sub(r'value="[^"]*"', "", r.text)

    assert answer(wrong) == answer(unknown)


def test_five_failures_lock_the_name_for_fifteen_minutes(app, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app, follow_redirects=False)
    for _ in range(4):
        assert (
            client.post("/login", data={"username": "tess", "password": "wrong password"}).status_code == 401
        )
    # four failures do not lock: the right password still works, and clears the count
    assert client.post("/login", data={"username": "tess", "password": PASSWORD}).status_code == 303
    for _ in range(5):
        assert (
            client.post("/login", data={"username": "tess", "password": "wrong password"}).status_code == 401
        )
    locked = client.post("/login", data={"username": "tess", "password": PASSWORD})
    assert locked.status_code == 401 and "set-cookie" not in locked.headers
    # other names are not affected
    assert client.post("/login", data={"username": "alex", "password": PASSWORD}).status_code == 303
    clock.now += 14 * 60
    assert client.post("/login", data={"username": "tess", "password": PASSWORD}).status_code == 401
    clock.now += 61
    assert client.post("/login", data={"username": "tess", "password": PASSWORD}).status_code == 303


def test_session_ends_after_thirty_idle_minutes(app, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    client = client_for(app, "alex")
    clock.now += 29 * 60
    assert client.get("/").status_code == 200  # a request restarts the idle clock
    clock.now += 29 * 60
    assert client.get("/").status_code == 200
    clock.now += 30 * 60 + 1
    r = client.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/login"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/"),
        ("get", f"/lists/{LIST1}"),
        ("get", "/household/abc"),
        ("get", "/overview"),
        ("post", "/outcome"),
        ("post", "/logout"),
    ],
)
def test_without_a_session_every_page_sends_you_to_sign_in(app, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    r = getattr(TestClient(app, follow_redirects=False), method)(path)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_sign_out_needs_the_csrf_token_and_ends_the_session(app, alex: TestClient) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(alex.get("/").text)
    assert alex.post("/logout", data={}).status_code == 403
    assert alex.post("/logout", data={"csrf_token": "guess"}).status_code == 403
    assert alex.get("/").status_code == 200  # still signed in
    r = alex.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert alex.get("/").status_code == 303


# --- worklists and need to know ---------------------------------------------------------------------------


def test_due_date_counts_mondays_to_fridays() -> None:
    assert due_date(dt.date(2025, 3, 7), 2) == dt.date(2025, 3, 11)  # Friday -> Tuesday
    assert due_date(dt.date(2025, 3, 10), 2) == dt.date(2025, 3, 12)  # Monday -> Wednesday
    assert due_date(dt.date(2025, 3, 8), 1) == dt.date(2025, 3, 10)  # Saturday -> Monday


def test_worklist_is_the_latest_list_of_the_users_team(alex: TestClient) -> None:
    r = alex.get("/")
    assert r.status_code == 200
    assert "week ending 16 March 2025" in r.text
    assert keys_on(r.text).keys() == {"T1", "T5"}  # T2 is the TST's; T3 was carried, not listed
    assert "4 lock changes since 2 Jan 2025" in r.text and "10.00" in r.text and "lost keys" in r.text
    assert r.text.count("not reviewed") == 2
    due = due_date(dt.date.today(), 2)  # the fixture published today
    assert due.strftime("%d %b %Y") in r.text
    # earlier weeks are a click away, by list id (never a household reference)
    assert f'href="/lists/{LIST1}"' in r.text
    for href in re.findall(r'href="([^"]+)"', r.text):
        assert not any(mentions(href, ref) for ref in ("T1", "T5", "P-T1", "P-T5"))


def test_earlier_list_and_unknown_list(alex: TestClient) -> None:
    r = alex.get(f"/lists/{LIST1}")
    assert r.status_code == 200 and "week ending 09 March 2025" in r.text
    assert keys_on(r.text).keys() == {"T1"} and "9.50" in r.text
    for bad in ("2025-03-09-r9", "../../etc/passwd", "' or 1=1 --"):
        assert alex.get(f"/lists/{bad}").status_code == 404


def test_each_team_sees_only_its_own_households(app) -> None:  # type: ignore[no-untyped-def]
    tess = client_for(app, "tess")
    assert keys_on(tess.get("/").text) == {}
    assert "No households are listed for your team" in tess.get("/").text
    assert keys_on(tess.get(f"/lists/{LIST1}").text).keys() == {"T2"}
    cora = client_for(app, "cora")
    assert keys_on(cora.get(f"/lists/{LIST1}").text).keys() == {"T1", "T2"}
    assert "Tenancy Support Team" in cora.get(f"/lists/{LIST1}").text


def test_analyst_sees_counts_and_no_household(app) -> None:  # type: ignore[no-untyped-def]
    ana = client_for(app, "ana")
    r = ana.get("/")
    assert r.status_code == 200 and "/household/" not in r.text
    assert not re.search(r"\bT[0-9]\b", r.text)
    assert re.search(r"Repairs administrators</td><td class=\"num\">2</td>", r.text)
    key = app.state.keys.seal(LIST2, "T1", "ana")
    assert ana.get(f"/household/{key}").status_code == 404
    token = csrf_of(r.text)
    r = ana.post(
        "/outcome", data={"csrf_token": token, "key": key, "outcome": "no_concern", "rationale": "x"}
    )
    assert r.status_code == 403


def test_overview_for_coordinator_and_analyst_only(app, alex: TestClient) -> None:  # type: ignore[no-untyped-def]
    cora = client_for(app, "cora").get("/overview")
    assert cora.status_code == 200
    backlog = cora.text.split("Carried forward", 1)[1]
    assert "T3" in backlog and "5.50" in backlog and "09 Mar 2025" in backlog
    assert re.search(r'<td class="num">2</td></tr>', backlog)  # carried on both lists
    week1 = client_for(app, "cora").get(f"/overview?list={LIST1}")
    assert "5.00" in week1.text.split("Carried forward", 1)[1]
    ana = client_for(app, "ana").get("/overview")
    assert ana.status_code == 200 and not mentions(ana.text, "T3") and "Carried forward" not in ana.text
    assert alex.get("/overview").status_code == 404
    assert client_for(app, "tess").get("/overview").status_code == 404


# --- the household page ------------------------------------------------------------------------------------


def test_household_page_evidence_in_date_order_decrypted_and_escaped(
    alex: TestClient, tmp_path: Path
) -> None:
    r = alex.get(f"/lists/{LIST1}")
    page = alex.get(f"/household/{keys_on(r.text)['T1']}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    # the free text, decrypted on the server and escaped: the markup shows as text, never runs
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; front door lock snapped" in html
    assert "<script>" not in html
    evidence = html.split("Evidence, in date order", 1)[1].split("Past listings", 1)[0]
    order = [
        evidence.index(s) for s in ("02 Jan 2025", "01 Feb 2025", "08 Feb 2025", "20 Feb 2025", "02 Mar 2025")
    ]
    assert order == sorted(order)
    assert "door kicked in" in evidence  # a job with no tenancy_ref on the household's home
    assert "recharge £120.00" in evidence and "shouting heard at night" in evidence
    assert "rent balance £340.00 in arrears" in evidence
    assert "dripping tap" not in evidence  # not a red flag
    assert "someone else" not in evidence  # another household
    assert "keys lost" not in evidence and "CORRECTED TEXT" not in evidence  # known only after week 1
    # coded facts apart from the text
    assert "emergency joiner job; status completed; cost £85.50; words: lock_change: cylinder" in evidence
    # week 2's list shows what was known by then
    week2 = alex.get(f"/household/{keys_on(alex.get('/').text)['T1']}").text
    assert (
        "keys lost, locked out" in week2
        and "CORRECTED TEXT lock" in week2
        and "front door lock snapped" not in week2
    )
    # past listings, both weeks
    listings = html.split("Past listings", 1)[1].split("Outcomes", 1)[0]
    assert "09 Mar 2025" in listings and "16 Mar 2025" in listings
    # the form: configured values in a dropdown, reviewed_on defaulting to today
    assert '<option value="new_concern_referred">' in html
    assert f'name="reviewed_on" type="date" value="{TODAY.isoformat()}"' in html
    viewed = db_rows(
        tmp_path, "select actor_enc, tenancy_ref from audit_log where action = 'history_viewed'", clear=True
    )
    assert viewed == [("alex", "T1"), ("alex", "T1")]


def test_unknown_tampered_and_foreign_keys_are_not_found(app, alex: TestClient, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key = keys_on(alex.get("/").text)["T1"]
    tampered = key[:10] + ("A" if key[10] != "A" else "B") + key[11:]
    keys = app.state.keys
    bad = [
        tampered,
        "T1",
        "a" * 60,
        "",
        keys.seal("1999-01-03-r1", "T1", "alex"),  # a list never published
        keys.seal(LIST2, "T2", "alex"),  # not on that list
        keys.seal(LIST1, "T2", "alex"),  # the TST's household
    ]
    for k in bad:
        r = alex.get(f"/household/{k}")
        assert r.status_code in (404, 307) if k == "" else r.status_code == 404
        assert not mentions(r.text, "T1") and not mentions(r.text, "T2")
    tess = client_for(app, "tess")
    assert tess.get(f"/household/{key}").status_code == 404  # alex's link does not open for tess
    assert tess.get(f"/household/{keys.seal(LIST2, 'T1', 'tess')}").status_code == 404  # another team's
    cora = client_for(app, "cora")
    assert cora.get(f"/household/{keys.seal(LIST1, 'T2', 'cora')}").status_code == 200
    viewed = db_rows(tmp_path, "select actor_enc from audit_log where action = 'history_viewed'", clear=True)
    assert viewed == [("cora",)]


# --- outcomes ----------------------------------------------------------------------------------------------


def outcome_form(client: TestClient, ref: str = "T1", list_path: str = "/") -> dict[str, str]:
    html = client.get(list_path).text
    return {"csrf_token": csrf_of(html), "key": keys_on(html)[ref]}


def test_outcome_recorded_under_the_signed_in_name(alex: TestClient, tmp_path: Path) -> None:
    form = outcome_form(alex)
    r = alex.post(
        "/outcome", data={**form, "outcome": "no_concern", "rationale": "Spoke to tenant; burglary."}
    )
    assert r.status_code == 303 and r.headers["location"] == f"/household/{form['key']}"
    page = alex.get(r.headers["location"]).text
    assert "Outcome recorded." in page and "Spoke to tenant; burglary." in page
    rows = db_rows(
        tmp_path,
        "select list_id, tenancy_ref, outcome_enc, reviewer_enc, reviewed_on, source_file from outcomes",
        clear=True,
    )
    assert rows == [(LIST2, "T1", "no_concern", "alex", TODAY, "web")]
    stored = db_rows(tmp_path, "select rationale_enc from outcomes")[0][0]
    assert b"burglary" not in bytes(stored)  # encrypted at rest
    audit = db_rows(
        tmp_path,
        "select actor_enc, tenancy_ref, detail from audit_log where action = 'outcomes_imported'",
        clear=True,
    )
    assert audit[0][:2] == ("alex", "T1") and '"applied":1' in audit[0][2]
    assert "no concern" in alex.get("/").text


def test_outcome_refusals(app, alex: TestClient, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    form = outcome_form(alex)
    ok = {**form, "outcome": "no_concern", "rationale": "fine"}
    assert alex.post("/outcome", data={**ok, "csrf_token": ""}).status_code == 403
    assert alex.post("/outcome", data={k: v for k, v in ok.items() if k != "csrf_token"}).status_code == 403
    assert alex.post("/outcome", data={**ok, "csrf_token": "forged"}).status_code == 403
    other_session = client_for(app, "alex")  # a token from another session of the same user is not this one's
    assert other_session.post("/outcome", data=ok).status_code == 403
    keys = app.state.keys
    for key in (form["key"][:-2] + "xx", "", keys.seal(LIST1, "T2", "alex"), keys.seal("nope", "T1", "alex")):
        assert alex.post("/outcome", data={**ok, "key": key}).status_code == 403

    def refused(data: dict[str, str], reason: str) -> None:
        r = alex.post("/outcome", data=data)
        assert r.status_code == 400, r.text
        assert reason in r.text, r.text

    refused({**ok, "outcome": "arrest_them"}, "not one of the outcomes (no_concern, already_known")
    refused({**ok, "outcome": ""}, "outcome: blank")
    refused({**ok, "rationale": "   "}, "rationale: blank")
    refused({**ok, "rationale": "x" * 2001}, "2,001 characters; keep it to 2,000")
    refused({**ok, "reviewed_on": "2025-03-21"}, "is in the future")
    refused({**ok, "reviewed_on": "2025-03-01"}, "before the list&#39;s week ending")
    refused({**ok, "reviewed_on": "yesterday"}, "not a date")
    assert db_rows(tmp_path, "select count(*) from outcomes") == [(0,)]
    assert alex.post("/outcome", data={**ok, "rationale": "y" * 2000}).status_code == 303


def test_rationale_with_html_is_escaped_on_display(alex: TestClient) -> None:
    form = outcome_form(alex)
    text = '<img src=x onerror="alert(1)"><b>bold</b>'
    assert (
        alex.post("/outcome", data={**form, "outcome": "unable_to_assess", "rationale": text}).status_code
        == 303
    )
    page = alex.get(f"/household/{form['key']}").text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<img" not in page and "<b>bold" not in page


def test_second_outcome_is_a_correction_and_a_repeat_is_not_added(alex: TestClient, tmp_path: Path) -> None:
    form = outcome_form(alex)
    first = {**form, "outcome": "no_concern", "rationale": "looked fine", "reviewed_on": "2025-03-17"}
    assert alex.post("/outcome", data=first).status_code == 303
    assert "Outcome recorded." in alex.get(f"/household/{form['key']}").text
    assert alex.post("/outcome", data=first).status_code == 303
    assert "already recorded; nothing was added" in alex.get(f"/household/{form['key']}").text
    second = {
        **form,
        "outcome": "new_concern_referred",
        "rationale": "new information",
        "reviewed_on": "2025-03-19",
    }
    assert alex.post("/outcome", data=second).status_code == 303
    page = alex.get(f"/household/{form['key']}").text
    assert "recorded as a correction" in page and "corrects an earlier outcome" in page
    rows = db_rows(tmp_path, "select outcome_enc, reviewed_on from outcomes order by outcome_id", clear=True)
    assert rows == [("no_concern", dt.date(2025, 3, 17)), ("new_concern_referred", dt.date(2025, 3, 19))]
    worklist = alex.get("/").text
    assert "new concern referred" in worklist and "(corrected)" in worklist


def test_the_import_refuses_a_long_rationale_too(tmp_path: Path, app) -> None:  # type: ignore[no-untyped-def]
    from pipelines.outcomes.records import import_outcomes

    csv = tmp_path / "review_list.csv"
    csv.write_text(
        f"tenancy_ref,list_id,outcome,reviewer,rationale\nT1,{LIST2},no_concern,alex,{'z' * 2001}\n"
    )
    wh = open_warehouse(tmp_path / "wh.duckdb")
    try:
        # The import records good rows and names each bad one: this row is the bad one, and nothing is recorded.
        result = import_outcomes(wh, csv, values=("no_concern",), today=TODAY)
        assert result.applied_total == 0 and result.rows_rejected == 1
        assert len(result.problems) == 1
        assert "row 2, column rationale: 2,001 characters" in result.problems[0]
    finally:
        wh.close()


# --- headers, errors, logs ---------------------------------------------------------------------------------


def test_security_headers_on_every_page(app, alex: TestClient) -> None:  # type: ignore[no-untyped-def]
    for r in (
        TestClient(app).get("/login"),
        alex.get("/"),
        alex.get("/nowhere"),
        TestClient(app).get("/healthz"),
    ):
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert "script-src" not in csp  # no script at all
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in alex.get("/").text
    assert TestClient(app).get("/static/style.css").status_code == 200


def test_error_pages_say_nothing_about_the_request(alex: TestClient) -> None:
    r = alex.get("/household/T1/../../etc")
    assert r.status_code == 404 and "etc" not in r.text
    r = alex.get("/no-such-page-T1")
    assert r.status_code == 404 and not mentions(r.text, "T1") and "no-such" not in r.text


def test_access_log_has_no_household_key_or_reference(
    alex: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = keys_on(alex.get("/").text)["T1"]
    alex.get(f"/household/{key}")
    form = outcome_form(alex)
    alex.post("/outcome", data={**form, "outcome": "no_concern", "rationale": "private words"})
    # the server's records (the test client's own httpx log, which prints its URLs, is not the server's)
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert "GET /household/… 200" in text
    for secret in (key, form["key"], "T1", "P-T1", "private words", "alex"):
        assert secret not in text


# --- the users file and the weekly run's lock --------------------------------------------------------------


def test_users_file_readable_by_others_is_refused(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    os.chmod(tmp_path / "users.yaml", 0o644)
    r = TestClient(app, follow_redirects=False).post(
        "/login", data={"username": "alex", "password": PASSWORD}
    )
    assert r.status_code == 503 and "Sign-in is not available" in r.text and "set-cookie" not in r.headers


@contextmanager
def run_holds_the_lock(db: Path) -> Iterator[None]:
    """Another process holds the warehouse's write connection, as the weekly run does."""
    code = (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
        "print('ready', flush=True); time.sleep(120)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield
    finally:
        proc.kill()
        proc.wait()


def test_pages_say_the_list_is_being_updated_while_a_run_holds_the_lock(
    alex: TestClient, tmp_path: Path
) -> None:
    key = keys_on(alex.get("/").text)["T1"]
    token = csrf_of(alex.get("/").text)
    with run_holds_the_lock(tmp_path / "wh.duckdb"):
        for r in (
            alex.get("/"),
            alex.get(f"/household/{key}"),
            alex.post(
                "/outcome", data={"csrf_token": token, "key": key, "outcome": "no_concern", "rationale": "x"}
            ),
        ):
            assert r.status_code == 503
            assert "being updated" in r.text and "Try again in a minute" in r.text
            assert r.headers["retry-after"] == "60"
            assert "Traceback" not in r.text and "duckdb" not in r.text.lower()
    assert alex.get("/").status_code == 200  # and back once the run has finished


def test_a_file_loaded_after_a_view_shows_on_the_next_view(alex: TestClient, tmp_path: Path) -> None:
    key = keys_on(alex.get("/").text)["T1"]
    assert "late file" not in alex.get(f"/household/{key}").text
    wh = open_warehouse(tmp_path / "wh.duckdb")
    try:
        wh.con.execute(
            "insert into loaded_files values"
            " (99, 'repairs', 'late.csv', '/x/late.csv', 'abc', 1, 1, 1, 0, ?, now(), null)",
            [dt.date(2025, 3, 15)],
        )
        refs = pl.DataFrame({"job_ref": ["J7"], "property_ref": ["P-T1"], "tenancy_ref": ["T1"]})
        job, prop, tenancy = pseudonymise_frame(wh.con, wh.cipher, refs, REFERENCE_COLUMNS).row(0)
        wh.con.execute(
            "insert into raw_repairs (job_ref, property_ref, tenancy_ref, reported_at, description_enc, categories,"
            " file_id, source_row, known_on) values (?, ?, ?, ?, ?, ['forced_entry'], 99, 2, ?)",
            [
                job,
                prop,
                tenancy,
                dt.datetime(2025, 3, 14, 8),
                wh.cipher.encrypt("late file: door forced"),
                dt.date(2025, 3, 15),
            ],
        )
    finally:
        wh.close()
    assert "late file: door forced" in alex.get(f"/household/{key}").text


def test_a_removed_or_moved_user_is_signed_out_at_the_next_request(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from pipelines.core.settings import load_settings
    from pipelines.web.users import UserStore, roles

    alex, tess = client_for(app, "alex"), client_for(app, "tess")
    store = UserStore(tmp_path / "users.yaml")
    store.remove("alex")
    store.add("tess", "repairs_admin", PASSWORD, allowed_roles=roles(load_settings().teams))
    for client in (alex, tess):
        r = client.get("/")
        assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client_for(app, "tess").get("/").status_code == 200  # signs in again, in the new team


def test_an_unexpected_error_is_a_plain_page_and_a_one_line_log(
    alex: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("T1 lives at P-T1")

    monkeypatch.setattr("pipelines.web.queries.published_lists", broken)
    caplog.set_level(logging.DEBUG)
    r = alex.get("/")
    assert r.status_code == 500 and "Something went wrong" in r.text and not mentions(r.text, "T1")
    assert r.headers["x-frame-options"] == "DENY"
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "unexpected error on /: RuntimeError" in logged and "P-T1" not in logged
