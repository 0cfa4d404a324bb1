"""Errors that the command line shows as one sentence (with --debug: the traceback too)."""

from __future__ import annotations


class UserError(Exception):
    """Something the person running the command can fix: bad input, a missing file, a wrong key."""

    exit_code = 1


class NotImplementedYet(UserError):
    exit_code = 2
