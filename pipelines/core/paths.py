"""Where the installed program finds its SQL models and default configuration.

In an editable install (a clone) they sit at the repository root; in a wheel they are shipped inside
``pipelines/`` as ``_sql`` and ``_conf``. Either way the program finds them from any working directory.
"""

from __future__ import annotations

from pathlib import Path

# This file sits in pipelines/core/; the package folder (beside sql/ and conf/ in a clone) is one up.
_PACKAGE = Path(__file__).resolve().parents[1]


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"none of {', '.join(str(c) for c in candidates)} exists; is the package installed?"
    )


def sql_dir() -> Path:
    return _first_existing(_PACKAGE.parent / "sql", _PACKAGE / "_sql")


def conf_dir() -> Path:
    return _first_existing(_PACKAGE.parent / "conf", _PACKAGE / "_conf")


def sql_text(name: str) -> str:
    """The text of one SQL model, e.g. ``sql_text("staging/stg_repairs")``."""
    path = sql_dir() / f"{name}.sql"
    return path.read_text(encoding="utf-8")
