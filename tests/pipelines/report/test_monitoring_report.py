"""The managers' monitoring report, built from a hand-made 26-week warehouse (monitoring_fixtures.py).

Expected figures come from the fixture's docstring, worked by hand.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from monitoring_fixtures import LAST_DAY, TODAY, make_history, secrets_in
from PIL import Image

from pipelines.cli.main import main as cli_main
from pipelines.core.settings import load_settings
from pipelines.flows import monitoring_report as report_module
from pipelines.flows.monitoring_report import build_report_task, monitoring_report
from pipelines.report import templating
from pipelines.report.build import build_report
from pipelines.report.data import read_marts
from pipelines.report.fairness import groups_sections
from pipelines.report.model import Context, ReportPaths

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ReportPaths, set[str]]]:
    root = tmp_path_factory.mktemp("report")
    wh = make_history(root / "w.duckdb")
    try:
        paths = build_report(wh, load_settings(), root / "out", 26, today=TODAY)
        yield paths, secrets_in(wh)
    finally:
        wh.close()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def page_text(paths: ReportPaths) -> str:
    """The HTML with the embedded images' bytes taken out (their PNG text is checked separately)."""
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:image/png;base64,", paths.html.read_text())


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.svgs = 0
        self.svg_titles = 0
        self.tables: list[tuple[list[str], list[list[str]]]] = []
        self._cell: list[str] | None = None
        self._in_svg = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "img":
            self.images.append(a)
        elif tag == "svg":
            self.svgs += 1
            self._in_svg = True
        elif tag == "title" and self._in_svg:
            self.svg_titles += 1
        elif tag == "table":
            self.tables.append(([], []))
        elif tag == "th":
            self.tables[-1][0].append(a.get("data-kind", ""))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._in_svg = False
        if tag == "td" and self._cell is not None:
            self.tables[-1][1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(paths: ReportPaths) -> _Page:
    page = _Page()
    page.feed(paths.html.read_text())
    return page


def test_report_files(built: tuple[ReportPaths, set[str]]) -> None:
    paths, _ = built
    assert paths.html.name == "report.html"
    expected = {"summary", "extracts_weekly", "quarantine_reasons", "flags_weekly", "drift_this_week",
                "drift_weekly", "lists_weekly", "reviews_weekly", "outcomes_weekly", "tst_referrals",
                "rates_by_estate", "rates_by_property_type", "fairness", "learning_weekly", "learning_groups",
                "runs"}  # fmt: skip
    assert set(paths.csv) == expected
    assert all(p.exists() for p in paths.csv.values())
    text = paths.html.read_text()
    assert "<script" not in text and "<link" not in text and "http://" not in text and "https://" not in text
    # one self-contained file: the stylesheet (pipelines/report/static/report.css) is inlined in the page
    css = (templating.HERE / "static" / "report.css").read_text()
    assert f"<style>{css}</style>" in text


def test_no_reference_or_free_text_reaches_the_report(built: tuple[ReportPaths, set[str]]) -> None:
    paths, secrets = built
    assert (
        len(secrets) > 300
    )  # tenancy, property, block, job and case refs, evidence, reasons, file names ...
    outputs = {"report.html": page_text(paths)}
    outputs |= {p.name: p.read_text() for p in paths.csv.values()}
    outputs["columns.csv"] = paths.columns.read_text()
    for page in parse(paths).images:
        png = Image.open(io.BytesIO(base64.b64decode(page["src"].split(",", 1)[1])))
        outputs[f"chart {page['data-chart-title']}"] = " ".join(str(v) for v in png.info.values())
    for name, text in outputs.items():
        assert "SECRET" not in text, name
        assert not [s for s in secrets if s in text], name


def test_counts_from_one_to_four_are_suppressed_everywhere(built: tuple[ReportPaths, set[str]]) -> None:
    paths, _ = built
    kinds = {(r["table"], r["column"]): r["kind"] for r in read_csv(paths.columns)}
    checked = 0
    for name, path in paths.csv.items():
        for row in read_csv(path):
            for column, value in row.items():
                if kinds[(name, column)] == "count":
                    assert value not in {"1", "2", "3", "4"}, (name, column)
                    checked += 1
                if kinds[(name, column)] in ("rate", "share", "ratio") and value == "fewer than 5":
                    pytest.fail(f"{name}.{column}: a rate shows a count label")
    assert checked > 500
    for heads, rows in parse(paths).tables:
        for cells in (r for r in rows if r):  # the header row has no <td>
            for kind, value in zip(heads, cells, strict=True):
                if kind == "count":
                    assert value not in {"1", "2", "3", "4"}
    # Hand-checked cells: 3 TST households and 2 carried forward each week; 4 referred a week (so the weekly
    # precision 4 / (4 + 6) is suppressed, but the 4 weeks pooled, 16 / (16 + 24) = 40%, is not).
    lists = {(r["week_ending"], r["team"]): r for r in read_csv(paths.csv["lists_weekly"])}
    last = str(LAST_DAY)
    assert lists[(last, "tst")]["households_listed"] == "fewer than 5"
    assert lists[(last, "repairs_admin")]["households_listed"] == "12"
    assert lists[(last, "repairs_admin")]["carried_forward"] == "fewer than 5"
    assert lists[(last, "repairs_admin")]["capacity"] == "25"
    outcomes = {(r["week_ending"], r["team"]): r for r in read_csv(paths.csv["outcomes_weekly"])}
    week = outcomes[("2025-06-22", "repairs_admin")]
    assert (week["new_concern_referred"], week["no_concern"]) == ("fewer than 5", "6")
    assert week["precision"] == "suppressed"
    assert week["precision_4_weeks"] == "0.4000"
    drift = {r["category"]: r for r in read_csv(paths.csv["drift_this_week"])}
    assert drift["door_damage"]["flags"] == "fewer than 5"  # 3 a week
    assert drift["door_damage"]["ratio"] == "suppressed"
    assert drift["door_damage"]["trailing_mean"] == "suppressed"


def test_hand_checked_figures_and_warnings(built: tuple[ReportPaths, set[str]]) -> None:
    paths, _ = built
    text = html.unescape(page_text(paths))  # the text a reader sees, whichever way a quote is escaped
    # 25 lock changes this week against 8 a week before: 25 / 8 = 3.125.
    assert "lock_change flags this week are 3.1x their 8-week average: check for a new contractor" in text
    drift = {r["category"]: r for r in read_csv(paths.csv["drift_this_week"])}
    assert (drift["lock_change"]["flags"], drift["lock_change"]["trailing_mean"]) == ("25", "8.00")
    assert drift["lock_change"]["status"] == "above band"
    assert drift["window_damage"]["status"] == "within band"  # 6 / 6
    # Week ending 22 June: 10 of 12 reviewed the next working day, 2 five days later (3 working days: late).
    assert "Repairs administrators 10 of 12 on time, fewer than 5 late, 0 overdue" in text
    reviews = {(r["week_ending"], r["team"]): r for r in read_csv(paths.csv["reviews_weekly"])}
    assert reviews[("2025-06-22", "repairs_admin")]["share_on_time"] == "0.8333"  # 10 / 12
    assert reviews[(str(LAST_DAY), "repairs_admin")]["awaiting_review"] == "12"  # published today
    # Precision over 26 weeks: 25 weeks with outcomes, 4 referred and 6 no concern each: 100 / 250 = 40%.
    assert "Repairs administrators 40% (100 new concerns referred, 150 no concern)" in text
    # Listing rate: Northfield 60 of 60 homes listed, Southgate 20 of 40: 500 / 1000 = 0.50x.
    estates = {r["group"]: r for r in read_csv(paths.csv["rates_by_estate"])}
    assert (
        estates["Northfield"]["listing_rate_per_1000"],
        estates["Southgate"]["listing_rate_per_1000"],
    ) == (
        "1000.00",
        "500.00",
    )
    assert estates["Riverside"]["homes"] == "fewer than 5"
    assert estates["Riverside"]["listing_rate_per_1000"] == "suppressed"
    assert "Listing rate for estate 'Southgate' is 0.50x that of the reference group" in text
    assert "No household age band is recorded" in text
    assert "1 of the last 20 pipeline runs in these weeks failed (weekly_review)" in text
    assert "Bank holidays are not taken out" in text
    assert "used here for auditing the list's fairness only" in text
    assert "2 extract files loaded; fewer than 5 rows quarantined." in text


def test_every_chart_has_a_title_and_axis_labels(built: tuple[ReportPaths, set[str]]) -> None:
    paths, _ = built
    page = parse(paths)
    assert len(page.images) >= 12
    assert page.svgs == page.svg_titles  # no inline SVG today; if one is added it must carry a <title>
    for img in page.images:
        assert img["src"].startswith("data:image/png;base64,")  # embedded: opens offline
        title, x_label, y_label = img["data-chart-title"], img["data-x-label"], img["data-y-label"]
        assert title and x_label and y_label and img["alt"].startswith(title)
        png = Image.open(io.BytesIO(base64.b64decode(img["src"].split(",", 1)[1])))
        # The metadata is read back from the drawn axes, so it proves the figure itself has them.
        assert (png.info["Title"], png.info["X axis"], png.info["Y axis"]) == (title, x_label, y_label)
        assert png.size[0] >= 900  # readable when printed at page width


def test_age_band_is_audited_when_the_tenancies_carry_it(tmp_path: Path) -> None:
    wh = make_history(tmp_path / "w.duckdb", weeks=4, age_band=True)
    ctx = Context(load_settings(), 4, TODAY, LAST_DAY, 5)
    try:
        _, fairness, _ = groups_sections(read_marts(wh.con, ctx), ctx)
    finally:
        wh.close()
    table = next(t for t in fairness.tables if t.name == "fairness")
    assert {r["group"] for r in table.rows if r["attribute"] == "age_band"} == {
        "18-24",
        "25-44",
        "45-64",
        "65+",
    }
    assert not fairness.notes  # no "age band is not recorded" note
    assert any("age band" in c.title for c in fairness.charts)


def test_command_line_and_flow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "w.duckdb")
    make_history(tmp_path / "w.duckdb", weeks=3).close()
    # Today's date: the fixture's weeks are long past, so this is also the "no data in these weeks" report.
    code = cli_main(
        ["report", "--db", db, "--allow-unencrypted", "--out", str(tmp_path / "cli"), "--weeks", "2"]
    )
    assert code == 0
    assert "Monitoring report:" in capsys.readouterr().out
    assert (tmp_path / "cli" / "report.html").exists()
    # The flow's body, without starting a Prefect server (its task is the plain function with retries).
    monkeypatch.setattr(report_module, "build_report_task", build_report_task.fn)
    paths = monitoring_report.fn(
        db=db, out_dir=str(tmp_path / "flow"), weeks=3, allow_unencrypted=True, today=TODAY
    )
    assert paths.html.exists()
    assert monitoring_report.name == "monitoring-report"


def test_report_needs_an_existing_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["report", "--db", str(tmp_path / "none.duckdb"), "--allow-unencrypted"])
    assert code == 3  # the database could not be opened
    assert "there is no database" in capsys.readouterr().err


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is not installed: the headless-browser check is manual on this machine "
    "(apt-get install -y chromium; see docs/monitoring.md)",
)
def test_report_renders_in_a_headless_browser(built: tuple[ReportPaths, set[str]], tmp_path: Path) -> None:
    paths, _ = built
    shot = tmp_path / "report.png"
    profile = tempfile.mkdtemp(prefix="redflags-chromium-")
    try:
        done = subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--enable-logging=stderr", f"--screenshot={shot}",
             "--window-size=1280,4000", paths.html.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": profile},
        )  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Uncaught" not in done.stderr and "Failed to load resource" not in done.stderr
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 4000)
    # Not a blank page: the summary's blue box and the first charts are drawn.
    colours = image.resize((64, 200)).getcolors(64 * 200) or []
    assert len(colours) > 20


def test_every_csv_goes_through_the_one_writer(built: tuple[ReportPaths, set[str]]) -> None:
    paths, _ = built
    for path in [*paths.csv.values(), paths.columns]:
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), path.name  # the byte-order mark Excel needs for £ and é
        assert oct(path.stat().st_mode & 0o777) == "0o600", path.name


def test_report_cells_are_formula_safe_and_numbers_stay_numbers(tmp_path: Path) -> None:
    from pipelines.report.model import Column, Table
    from pipelines.report.render import write_table_csv

    table = Table(
        "t",
        "T",
        [
            Column("group", "group", "label", "a group name from the landlord's data"),
            Column("change", "change", "ratio", "a signed ratio"),
            Column("homes", "homes", "count", "homes"),
            Column("rate", "rate", "rate", "per 1,000"),
        ],
        [
            {"group": '=HYPERLINK("http://x")', "change": -0.25, "homes": 12, "rate": 8.0},
            {"group": "@SUM(1)", "change": None, "homes": "fewer than 5", "rate": "suppressed"},
        ],
    )
    write_table_csv(tmp_path / "t.csv", table)
    rows = read_csv(tmp_path / "t.csv")
    assert [r["group"] for r in rows] == ['\'=HYPERLINK("http://x")', "'@SUM(1)"]
    assert [r["change"] for r in rows] == ["-0.2500", ""]  # a negative number is a number, not a formula
    assert [r["homes"] for r in rows] == ["12", "fewer than 5"]
    assert [r["rate"] for r in rows] == ["8.00", "suppressed"]


def test_charts_leave_the_global_matplotlib_backend_alone(tmp_path: Path) -> None:
    code = """
import datetime as dt, sys
import matplotlib
matplotlib.use("pdf")  # an analyst's notebook's own choice
from pipelines.backtest import plots as backtest_plots
from pipelines.report import charts as r
chart = r.weekly_lines("t", "y", [dt.date(2025, 6, 1)], [("a", [3])], "c")
fig = backtest_plots._figure(4, 3)
fig.subplots().plot([1, 2], [3, 4])
backtest_plots._save(fig, __import__("pathlib").Path(sys.argv[1]))
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules, chart.png[:4] == b"\\x89PNG")
"""
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "p.png")], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["pdf", "False", "True"]
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_an_empty_chart_has_whole_number_ticks() -> None:
    import datetime as dt

    from pipelines.report.charts import group_bars, stacked_weekly_bars, weekly_bars, weekly_lines

    weeks = [dt.date(2025, 6, 1) + dt.timedelta(weeks=i) for i in range(4)]
    charts = [
        ("y", weekly_lines("t", "households", weeks, [("a", [None] * 4)], "c")),
        ("y", weekly_bars("t", "households", weeks, [0] * 4, "c")),
        ("y", stacked_weekly_bars("t", "households", weeks, [("a", [0] * 4)], "c")),
        ("x", group_bars("t", "rate", "group", [], [], "c", threshold=5)),
    ]
    for axis, chart in charts:
        ticks = chart.y_ticks if axis == "y" else chart.x_ticks
        assert ticks and all(t == int(t) for t in ticks), (chart.title, ticks)
    # With data, a rate axis may still show fractions.
    filled = weekly_lines("t", "rate", weeks, [("a", [0.1, 0.2, 0.3, 0.25])], "c")
    assert any(t != int(t) for t in filled.y_ticks)
