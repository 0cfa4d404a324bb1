"""``redflags serve``: check the folders, then serve the weekly flow on its schedule."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipelines.core.errors import UserError


def deployment_parameters(args: argparse.Namespace) -> dict[str, Any]:
    if not args.extracts or not args.mapping:
        raise UserError(
            "serve needs --extracts and --mapping: the folder the weekly exports arrive in, and its mapping"
        )
    for label, value, want_dir in (
        ("extracts folder", args.extracts, True),
        ("mapping file", args.mapping, False),
    ):
        path = Path(value)
        if (want_dir and not path.is_dir()) or (not want_dir and not path.is_file()):
            raise UserError(f"the {label} {path} does not exist")
    return {
        "extracts": str(Path(args.extracts).resolve()),
        "mapping": str(Path(args.mapping).resolve()),
        "db": str(Path(args.db).resolve()),
        "out": str(Path(args.out).resolve()),
        "report": str(Path(args.report).resolve()),
        "config": str(Path(args.config).resolve()) if args.config else None,
        "allow_unencrypted": bool(args.allow_unencrypted),
    }


def main(args: argparse.Namespace) -> int:
    """``redflags serve``: check the folders, then serve the weekly flow on its schedule."""
    from pipelines.flows.schedule import serve

    return serve(args.config, deployment_parameters(args), args.start_server)
