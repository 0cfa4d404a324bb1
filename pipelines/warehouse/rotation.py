"""Rotating the database key: re-encrypt every ``*_enc`` value under a new key, record it in the audit log,
and compact the file so nothing encrypted under the old key stays in it (docs/security.md)."""

from __future__ import annotations

import logging
import os
import secrets

from pipelines.warehouse.audit import record_event
from pipelines.warehouse.connection import (
    WarehouseError,
    _reencrypt_table,
    compact_warehouse,
    encrypted_columns,
    open_warehouse,
    transaction,
)
from pipelines.warehouse.crypto import FieldCipher, derive_key

log = logging.getLogger(__name__)

_MIN_NEW_KEY_CHARS = 12


def rotate_key(db_path: str | os.PathLike[str], old_key: str, new_key: str) -> dict[str, int]:
    """Re-encrypt every ``*_enc`` value and the key check under ``new_key``, in one transaction, then compact
    the file so nothing encrypted under the old key stays in it. Returns values re-encrypted per table."""
    import getpass

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
        salt = secrets.token_bytes(16)
        new_cipher = FieldCipher(derive_key(new_key, salt))
        counts: dict[str, int] = {}
        with transaction(wh.con) as con:
            for table, columns in encrypted_columns(con).items():
                counts[table] = _reencrypt_table(con, table, columns, wh.cipher, new_cipher)
            con.execute("update meta set value = ? where key = 'kdf_salt'", [salt.hex()])
            con.execute("update meta set value = ? where key = 'key_check'", [new_cipher.check_token().hex()])
            detail = {"values_reencrypted": counts}
            record_event(con, actor=getpass.getuser(), action="key_rotated", detail=detail)
    finally:
        wh.close()
    compact_warehouse(db_path)
    log.info("database key rotated: %d values re-encrypted", sum(counts.values()))
    return counts
