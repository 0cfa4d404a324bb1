"""`redflags rekey`: rotate the database key (docs/security.md, "Rotating the key").

Keys come from the environment only (``REDFLAGS_DB_KEY`` now, ``REDFLAGS_NEW_DB_KEY`` next), never from the
command line, where other users of the server could read them in the process list or shell history.
"""

from __future__ import annotations

import argparse
import os
import sys

from pipelines.core.errors import UserError
from pipelines.warehouse.crypto import KEY_ENV, NEW_KEY_ENV
from pipelines.warehouse.rotation import rotate_key


def main(args: argparse.Namespace) -> int:
    old_key = os.environ.get(KEY_ENV) or None
    new_key = os.environ.get(NEW_KEY_ENV) or None
    if old_key is None:
        raise UserError(f"{KEY_ENV} is not set: set it to the database's current key")
    if new_key is None:
        raise UserError(f"{NEW_KEY_ENV} is not set: set it to the new key")
    rotate_key(args.db, old_key, new_key)
    out = sys.stdout
    out.write(f"The data key of {args.db} is now locked by the new key; the file was rewritten.\n")
    out.write(f"From now on set {KEY_ENV} to the new key; then unset {NEW_KEY_ENV}.\n")
    return 0
