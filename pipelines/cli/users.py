"""``redflags users``: who may sign in to the review pages."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from pipelines.core.errors import UserError
from pipelines.web.users import UserStore, roles


def main(args: argparse.Namespace) -> int:
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


def read_password(stdin: TextIO | None = None) -> str:
    """The new password: asked twice on a terminal, else the first line of standard input."""
    stream = stdin or sys.stdin
    if stream.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password again: "):
            raise UserError("the two passwords differ; nothing was changed")
        return first
    return stream.readline().rstrip("\r\n")
