"""Rotating the database key (``redflags rekey``): the data key is rewrapped under the new passphrase, the change is
recorded in the audit log, and the file is compacted so the old wrapping leaves it (docs/security.md).

Every encrypted value and pseudonym is keyed by the random data key, never by the passphrase, so a rotation
rewrites one ``meta`` row however large the database: nothing is decrypted or re-encrypted.
"""

from __future__ import annotations

import getpass
import logging
import os
import secrets

from pipelines.warehouse.audit import record_event
from pipelines.warehouse.connection import WarehouseError, compact_warehouse, open_warehouse, transaction
from pipelines.warehouse.crypto import unwrap_data_key, wrap_data_key

log = logging.getLogger(__name__)

_MIN_NEW_KEY_CHARS = 12


def rotate_key(db_path: str | os.PathLike[str], old_key: str, new_key: str) -> None:
    """Rewrap the data key under ``new_key`` (a fresh salt), in one transaction, then compact the file so the
    wrapping under the old key does not stay in its free blocks. A wrong ``old_key`` changes nothing."""
    if not new_key or new_key == old_key:
        raise WarehouseError("the new key must be set and differ from the current key")
    if len(new_key) < _MIN_NEW_KEY_CHARS:
        raise WarehouseError(
            f"the new key is too short: use a passphrase of {_MIN_NEW_KEY_CHARS} or more characters"
        )
    wh = open_warehouse(db_path, key=old_key, must_exist=True)
    try:
        if not wh.cipher.encrypts:
            raise WarehouseError("this database is unencrypted (test data only); there is no key to rotate")
        with transaction(wh.con) as con:
            meta = dict(con.sql("select key, value from meta").fetchall())
            data_key = unwrap_data_key(
                bytes.fromhex(meta["wrapped_key"]), old_key, bytes.fromhex(meta["kdf_salt"])
            )
            salt = secrets.token_bytes(16)
            wrapped = wrap_data_key(data_key, new_key, salt)
            con.execute("update meta set value = ? where key = 'kdf_salt'", [salt.hex()])
            con.execute("update meta set value = ? where key = 'wrapped_key'", [wrapped.hex()])
            record_event(
                con, cipher=wh.cipher, actor=_actor(), action="key_rotated", detail={"data_key": "rewrapped"}
            )
    finally:
        wh.close()
    compact_warehouse(db_path)
    log.info("database key rotated: the data key is now wrapped under the new passphrase")


def _actor() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some service accounts
        return "unknown"
