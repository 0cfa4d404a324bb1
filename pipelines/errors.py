"""Errors that the command line shows as one sentence (with --debug: the traceback too)."""

from __future__ import annotations


class UserError(Exception):
    """Something the person running the command can fix: bad input, a missing file, a wrong key."""

    exit_code = 1  # docs/contract.md "Exit codes": 1 is also "some files could not be loaded"


class ConfigError(UserError):
    """A usage or configuration problem: a missing folder or mapping file, a bad setting (exit code 2)."""

    exit_code = 2


class NotImplementedYet(UserError):
    exit_code = 2
