"""The data-quality page (``data_quality.html``) from its Jinja2 template, on hand-made load summaries."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from types import SimpleNamespace

from pipelines.report.quality_page import render_quality_page


class _Text(HTMLParser):
    """The page's text per table cell, its tags, and whether any tag carries a link or script."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _file(name: str, status: str, **counts: object) -> SimpleNamespace:
    base = {"known_on": None, "rows_read": 0, "rows_loaded": 0, "rows_quarantined": 0, "message": None}
    return SimpleNamespace(extract="repairs", file_name=name, status=status, **{**base, **counts})


def _summary(files: list[SimpleNamespace], validation: list[dict[str, object]]) -> SimpleNamespace:
    failed = [f for f in files if f.status == "failed"]
    return SimpleNamespace(
        files_loaded=sum(f.status == "loaded" for f in files),
        files_skipped=3,
        files_failed=len(failed),
        rows_loaded=sum(int(f.rows_loaded) for f in files),
        rows_quarantined=sum(int(f.rows_quarantined) for f in files),
        failed_files=failed,
        files=files,
        validation=validation,
    )


def test_markup_in_names_is_escaped_and_counts_are_grouped() -> None:
    bad = _file("<script>alert(1)</script>.csv", "failed", message="the column <b>job_ref</b> is missing")
    good = _file(
        "repairs_2025-03-09.csv",
        "loaded",
        known_on=dt.date(2025, 3, 9),
        rows_read=1234567,
        rows_loaded=1234000,
        rows_quarantined=567,
    )
    check = {"extract": "repairs", "file_name": "repairs_2025-03-09.csv", "expectation": "expect_x"}
    page = render_quality_page(
        _summary(
            [bad, good],
            [
                {**check, "success": False, "column": "priority & <x>", "unexpected_count": 12345,
                 "element_count": 1234567},
                {**check, "success": True, "column": "job_ref", "unexpected_count": 0, "element_count": 9},
            ],
        ),
        "Landlord <&> 'Homes'",
    )  # fmt: skip
    parsed = _Text()
    parsed.feed(page)
    assert "script" not in parsed.tags and "b" not in parsed.tags and "link" not in parsed.tags
    assert "&lt;script&gt;" in page and "Landlord &lt;&amp;&gt;" in page
    # the failed file, its reason; the failing expectation (not the passing one) with grouped counts
    assert parsed.cells[:3] == [
        "repairs",
        "<script>alert(1)</script>.csv",
        "the column <b>job_ref</b> is missing",
    ]
    assert parsed.cells[3:9] == ["repairs", "repairs_2025-03-09.csv", "expect_x", "priority & <x>", "12,345",
                                 "1,234,567"]  # fmt: skip
    assert parsed.cells[9:] == [
        "repairs",
        "repairs_2025-03-09.csv",
        "2025-03-09",
        "1,234,567",
        "1,234,000",
        "567",
    ]
    assert "Rows loaded: 1,234,000; rows quarantined: 567." in page
    assert "<span class='bad'>1</span>" in page
    assert "<style>" in page and "font-family" in page  # its CSS inlined: one self-contained file


def test_a_clean_load_says_every_expectation_passed() -> None:
    page = render_quality_page(_summary([], []), "Plain HA")
    parsed = _Text()
    parsed.feed(page)
    assert "Every expectation passed on every new file." in page
    assert "table" not in parsed.tags  # no file failed, none loaded, nothing failing
    assert "<span class='ok'>0</span>" in page
