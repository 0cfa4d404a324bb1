"""The data-quality page of a load (``<out>/data_quality.html``), from ``templates/data_quality.html``.

Counts, file names, expectation and column names only: no cell values, no references, no free text. One
self-contained file (its CSS, ``static/data_quality.css``, inlined); everything placed in it is autoescaped.
"""

from __future__ import annotations

from typing import Any

from pipelines.report.templating import render, stylesheet


def render_quality_page(summary: Any, landlord: str) -> str:
    """The page for ``summary`` (a ``loading.IngestSummary``: files, failed files, validation results) of
    ``landlord``'s load: files not loaded, failing expectations with counts, files loaded with row counts."""
    return render(
        "data_quality.html",
        css=stylesheet("data_quality.css"),
        landlord=landlord,
        summary=summary,
        failing=[v for v in summary.validation if not v["success"]],
        loaded=[f for f in summary.files if f.status == "loaded"],
    )
