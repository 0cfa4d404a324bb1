"""``redflags users add|list|remove`` and ``redflags web`` (docs/contract.md, WEB.md)."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from pathlib import Path
from typing import TextIO

from pipelines.core.errors import UserError
from pipelines.web.users import UserStore, check_private, roles

log = logging.getLogger(__name__)


def read_password(stdin: TextIO | None = None) -> str:
    """The new password: asked twice on a terminal, else the first line of standard input."""
    stream = stdin or sys.stdin
    if stream.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password again: "):
            raise UserError("the two passwords differ; nothing was changed")
        return first
    return stream.readline().rstrip("\r\n")


def main_users(args: argparse.Namespace) -> int:
    from pipelines.core.settings import load_settings

    store = UserStore(args.users)
    out = sys.stdout.write
    if args.users_command == "add":
        allowed = roles(load_settings(getattr(args, "config", None)).teams)
        if args.role not in allowed:
            raise UserError(f"'{args.role}' is not a role: use one of {', '.join(allowed)}")
        new = store.add(args.name, args.role, read_password(), allowed_roles=allowed)
        out(f"{'Added' if new else 'Replaced'} {args.name} ({args.role}) in {store.path}.\n")
    elif args.users_command == "remove":
        store.remove(args.name)
        out(f"Removed {args.name} from {store.path}.\n")
    else:
        users = store.load()
        if not users:
            out(f"No users in {store.path}.\n")
        for user in sorted(users.values(), key=lambda u: u.name):
            out(f"{user.name}\t{user.role}\n")
    return 0


def main_web(args: argparse.Namespace) -> int:
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
