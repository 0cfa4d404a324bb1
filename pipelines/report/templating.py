"""The Jinja2 environment of the report's pages (``templates/``) and their stylesheets (``static/``).

Autoescaping is on for every template: values arrive as plain text and are escaped where they are placed.
A page's CSS is read from its file and inlined, so each page stays one self-contained file (no links out).
Kept free of heavy imports: the data-quality page renders through here during ingest.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

HERE = Path(__file__).resolve().parent


@cache
def environment() -> Environment:
    """The one environment: templates from ``templates/``, autoescaped, an unknown name is an error;
    the filter ``thousands`` writes 1,234,567."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = _thousands
    return env


def _thousands(n: int) -> str:
    """A whole number with thousands separators: 1,234,567."""
    return f"{n:,}"


@cache
def stylesheet(name: str) -> Markup:
    """The CSS file ``static/<name>``, marked safe to place inside a ``<style>`` element."""
    # Our own file, shipped with the package: no value from the data ever reaches it.
    return Markup((HERE / "static" / name).read_text(encoding="utf-8"))


def render(template: str, **context: Any) -> str:
    """``templates/<template>`` rendered with ``context``."""
    return environment().get_template(template).render(**context)
