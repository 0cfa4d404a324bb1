"""Web page benchmark (issue 18): server time of the worklist and household pages on a large warehouse.

    .venv/bin/python benchmarks/bench_web.py                       # 160,000 homes: builds the warehouse (minutes)
    .venv/bin/python benchmarks/bench_web.py --homes 5000 --keep   # a quick look; keeps the warehouse to reuse
    .venv/bin/python benchmarks/bench_web.py --homes 5000 --screenshots docs   # and the docs' screenshots

The warehouse is built as benchmarks/bench_scale.py builds it (the synthetic generator, five years of repairs,
two years of weekly rent, ``ingest_folder``, ``score_week`` and publishing as plain functions), with two weeks
published (so there is an earlier list and a carried-forward backlog). The pages are then requested through
FastAPI's test client in this process, each request opening and closing the DuckDB file as ``redflags web`` does:
the time is the application's (routing, sessions, the warehouse opened for the moment, queries, decryption, the
audit row of a household view, rendering), without a network. Target: median under 300 ms at 160,000 homes.

Results: ``benchmarks/results/web.md`` (medians, 90th percentiles, sizes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import threading
import time
from pathlib import Path
from typing import Any

AS_OF = dt.date(2025, 6, 29)
RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "benchmark password, not secret"


def build(work: Path, homes: int) -> Path:
    """The warehouse with two published weeks; reused when already there."""
    db = work / "web.duckdb"
    if db.exists():
        return db
    from pipelines.core.settings import load_settings
    from pipelines.flows.weekly_review import _publish
    from pipelines.ingest.classifier import classifier_from_settings
    from pipelines.ingest.folder import ingest_folder
    from pipelines.ingest.mapping import load_mapping
    from pipelines.scoring.week import score_week
    from pipelines.synth.standard import write_landlord
    from pipelines.warehouse.connection import open_warehouse
    from pipelines.warehouse.runs import finish_run, start_run

    started = time.perf_counter()
    extracts = work / "extracts"
    write_landlord(extracts, homes=homes, years=5, seed=1, as_of=AS_OF, rent_years=2)
    print(f"generated {homes:,} homes in {time.perf_counter() - started:.0f} s")
    settings = load_settings()
    building = work / "building.duckdb"
    building.unlink(missing_ok=True)
    wh = open_warehouse(building)
    classify = classifier_from_settings(settings.classification)
    mapping = load_mapping(extracts / "mapping.yaml")
    ingest_folder(wh, extracts, mapping, classify=classify, out_dir=work / "out", today=AS_OF)
    print(f"ingested in {time.perf_counter() - started:.0f} s")
    for week in (AS_OF - dt.timedelta(days=7), AS_OF):
        run_id = start_run(wh.con, "weekly-review", week)
        scored = score_week(wh.con, settings, week, cipher=wh.cipher)
        _publish(wh, scored, settings, week, work / "out", run_id)
        finish_run(wh.con, run_id, "ok")
        print(
            f"week {week} published ({scored.listed.height} listed) at {time.perf_counter() - started:.0f} s"
        )
    wh.close()
    shutil.rmtree(work / "out", ignore_errors=True)
    building.rename(db)
    return db


def make_app(work: Path, db: Path) -> Any:
    from pipelines.core.settings import load_settings
    from pipelines.warehouse.connection import open_warehouse
    from pipelines.web.app import WebConfig, create_app
    from pipelines.web.users import UserStore, roles

    users = work / "users.yaml"
    if not users.exists():
        store = UserStore(users)
        for name, role in (("cora", "coordinator"), ("alex", "repairs_admin")):
            store.add(name, role, PASSWORD, allowed_roles=roles(load_settings().teams))
    wh = open_warehouse(db, read_only=True)
    cipher = wh.cipher
    wh.close()
    return create_app(WebConfig(db=db, users=users, settings=load_settings(), cipher=cipher))


def timed(client: Any, paths: list[str], runs: int) -> list[float]:
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        r = client.get(paths[i % len(paths)])
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.status_code
    return times


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def screenshots(app: Any, folder: Path) -> None:
    """The worklist and a household page, as a coordinator sees them, in Debian's Chromium."""
    import socket

    import uvicorn
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{base}/login")
            page.get_by_label("Name").fill("alex")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/")
            page.screenshot(path=str(folder / "web-worklist.png"))  # the first screenful: the list is long
            page.locator("table tbody tr a").first.click()
            page.wait_for_url(re.compile("/household/"))
            page.screenshot(path=str(folder / "web-household.png"), full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--homes", type=int, default=160_000)
    parser.add_argument("--runs", type=int, default=40, help="requests per page kind (default 40)")
    parser.add_argument(
        "--workdir", default=None, help="where the warehouse is built (default /tmp/bench-web-N)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the warehouse for the next run")
    parser.add_argument(
        "--screenshots", default=None, help="folder for web-worklist.png and web-household.png"
    )
    args = parser.parse_args()
    os.environ.setdefault("REDFLAGS_DB_KEY", "benchmark-key-not-secret")
    from fastapi.testclient import TestClient

    work = Path(args.workdir or f"/tmp/bench-web-{args.homes}")
    work.mkdir(parents=True, exist_ok=True)
    db = build(work, args.homes)
    app = make_app(work, db)
    results: dict[str, list[float]] = {}
    for name in ("cora", "alex"):
        client = TestClient(app, follow_redirects=False)
        assert client.post("/login", data={"username": name, "password": PASSWORD}).status_code == 303
        # The first worklist of a list reads the records of every household on it once the page is sent (kept
        # until a file is loaded); the test client runs that background task inside the request, so the first
        # request's time is the page and the read-ahead together: shown on its own row.
        t0 = time.perf_counter()
        html = client.get("/").text
        if name == "cora":
            results["first worklist of the list + reading its records ahead"] = [
                (time.perf_counter() - t0) * 1000
            ]
        households = re.findall(r'href="(/household/[^"]+)"', html)
        timed(client, ["/"], 3)  # the first requests warm DuckDB's and Jinja's caches
        results[f"worklist ({name})"] = timed(client, ["/"], args.runs)
        lists = re.findall(r'href="(/lists/[^"]+)"', html)
        results[f"earlier list ({name})"] = timed(client, lists[:1], args.runs)
        results[f"household ({name})"] = timed(client, households, args.runs)
        print(f"{name}: {len(households)} households on the latest list")
    db_mib = db.stat().st_size / 2**20
    lines = [
        f"# Web page benchmark: {args.homes:,} homes",
        "",
        f"Server time per request (ms, in-process test client, the DuckDB file opened and closed per request), "
        f"{args.runs} requests per row; warehouse {db_mib:,.0f} MiB; {platform.python_version()}, "
        f"{os.cpu_count()} CPUs shared; load at start {os.getloadavg()[0]:.1f}.",
        "",
        "| page (user) | median ms | p90 ms | max ms |",
        "|---|---|---|---|",
    ]
    for name, times in results.items():
        lines.append(
            f"| {name} | {statistics.median(times):.0f} | {quantile(times, 0.9):.0f} | {max(times):.0f} |"
        )
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"web-{args.homes}.md").write_text(report, encoding="utf-8")
    if args.screenshots:
        screenshots(app, Path(args.screenshots))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
