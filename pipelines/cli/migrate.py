"""`redflags migrate`: convert a database made by an earlier release (docs/security.md, "Upgrading").

The key comes from the environment only (``REDFLAGS_DB_KEY``), never from the command line.
"""

from __future__ import annotations

import argparse
import os
import sys

from pipelines.warehouse.crypto import KEY_ENV
from pipelines.warehouse.migration import migrate_warehouse


def main(args: argparse.Namespace) -> int:
    summary = migrate_warehouse(
        args.db, passphrase=os.environ.get(KEY_ENV) or None, allow_unencrypted=args.allow_unencrypted
    )
    sys.stdout.write(summary.sentence(str(args.db)) + ".\n")
    return 0
