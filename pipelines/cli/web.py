"""``redflags web``: serve the review pages (docs/contract.md, WEB.md)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pipelines.core.errors import UserError
from pipelines.web.users import check_private

log = logging.getLogger(__name__)


def main(args: argparse.Namespace) -> int:
    import uvicorn

    from pipelines.core.settings import load_settings
    from pipelines.warehouse.connection import open_warehouse
    from pipelines.web.app import WebConfig, create_app

    settings = load_settings(args.config)
    users = Path(args.users)
    if not users.exists():
        raise UserError(
            f"there is no users file at {users}; add a user first with `redflags users add NAME --role ROLE`"
        )
    check_private(users)
    # The key is derived and checked once, here; each request then opens the file for its moment only.
    wh = open_warehouse(args.db, allow_unencrypted=args.allow_unencrypted, must_exist=True, read_only=True)
    cipher = wh.cipher
    wh.close()
    app = create_app(WebConfig(db=Path(args.db), users=users, settings=settings, cipher=cipher))
    sys.stdout.write(f"Review pages on http://{args.host}:{args.port}/ (stop with Ctrl-C)\n")
    sys.stdout.flush()
    # uvicorn's own access log prints paths; ours (pipelines.web.access) prints the route without identifiers.
    uvicorn.run(
        app, host=args.host, port=args.port, access_log=False, log_level="warning", server_header=False
    )
    return 0
