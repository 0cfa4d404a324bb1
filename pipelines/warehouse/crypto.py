"""Field encryption and keyed pseudonyms: what keeps households out of the database file without the key.

DuckDB 2.0 writes encrypted database files only with its httpfs extension's crypto, which a closed network
cannot download, so the pipeline protects the identifying values itself (docs/security.md):

- free text, list reasons, reviewers' names and rationales are encrypted (AES-256-GCM, one random 96-bit nonce
  per value; ingest encrypts each distinct text of a load chunk once);
- every reference (tenancy, property, job, case, recharge) is stored as a keyed pseudonym (BLAKE2b keyed with
  a secret derived from the data key, 72 bits, 12 URL-safe base64 characters: short enough for DuckDB to keep
  inline, so joins stay as fast as on the references), and each clear reference once, encrypted, in a
  "book" of references (``pipelines/warehouse/references.py``) for publishing and display.

All of it is keyed by one random 256-bit data key. The passphrase in ``REDFLAGS_DB_KEY`` only wraps it: the
key-derivation salt and the wrapped data key live in the database's ``meta`` table, so a wrong passphrase is
detected before anything is read or written and ``redflags rekey`` rewraps the data key without touching data.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import os
import secrets
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

if TYPE_CHECKING:
    import duckdb
    import polars as pl

KEY_ENV = "REDFLAGS_DB_KEY"
NEW_KEY_ENV = "REDFLAGS_NEW_DB_KEY"  # `redflags rekey`: the key to rotate to
# First byte of every stored value says how it was stored.
_PLAIN = b"\x00"  # --allow-unencrypted databases only
_AESGCM_V1 = b"\x01"
_NONCE_BYTES = 12
_CHECK_PLAINTEXT = b"repairs-red-flags key check v1"
_PSEUDONYM_BYTES = 9  # 72 bits: 12 base64 characters; a collision among 100 M references has odds about 1e-5
_PSEUDONYM_WIDTH = _PSEUDONYM_BYTES * 4 // 3
_WRAP_CONTEXT = b"repairs-red-flags data key v2"


class KeyError_(Exception):
    """The database key is missing or wrong (one sentence, safe to show)."""


def derive_key(passphrase: str, salt: bytes) -> bytes:
    # scrypt parameters: slow enough to resist guessing, paid once per process (docs/scaling.md).
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(passphrase.encode("utf-8"))


def new_data_key() -> bytes:
    """A fresh random data key (256 bits) for a new database."""
    return secrets.token_bytes(32)


def wrap_data_key(data_key: bytes, passphrase: str, salt: bytes) -> bytes:
    """The data key sealed under the passphrase's key (scrypt with ``salt``), for the ``meta`` table."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(derive_key(passphrase, salt)).encrypt(nonce, data_key, _WRAP_CONTEXT)


def unwrap_data_key(wrapped: bytes, passphrase: str, salt: bytes) -> bytes:
    """The data key from :func:`wrap_data_key`; a wrong passphrase raises :class:`KeyError_` (nothing read)."""
    try:
        return AESGCM(derive_key(passphrase, salt)).decrypt(
            wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _WRAP_CONTEXT
        )
    except InvalidTag as exc:
        raise KeyError_(
            f"the key in {KEY_ENV} is not the key this database was created with; nothing was read or written"
        ) from exc


class FieldCipher:
    """Encrypts and decrypts values and computes references' pseudonyms under one data key.

    ``key=None`` (``--allow-unencrypted``, test data only) stores text as plain UTF-8 and references as they are.
    """

    def __init__(self, key: bytes | None) -> None:
        self._aead = AESGCM(key) if key is not None else None
        # A separate key for pseudonyms, derived from (never equal to) the data key.
        self._pseudonym_key = (
            hashlib.blake2b(b"reference pseudonyms v1", key=key, digest_size=32).digest() if key else None
        )

    @property
    def encrypts(self) -> bool:
        return self._aead is not None

    def encrypt(self, value: str | None) -> bytes | None:
        if value is None:
            return None
        data = value.encode("utf-8")
        if self._aead is None:
            return _PLAIN + data
        nonce = os.urandom(_NONCE_BYTES)
        return _AESGCM_V1 + nonce + self._aead.encrypt(nonce, data, None)

    def decrypt(self, token: bytes | None) -> str | None:
        if token is None:
            return None
        token = bytes(token)
        kind, body = token[:1], token[1:]
        if kind == _PLAIN:
            return body.decode("utf-8")
        if self._aead is None:
            raise KeyError_(f"this value is encrypted: set {KEY_ENV} to the database key")
        try:
            return self._aead.decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], None).decode("utf-8")
        except InvalidTag as exc:
            raise KeyError_("the database key does not match the key this value was written with") from exc

    def encrypt_many(self, values: Sequence[str | None]) -> list[bytes | None]:
        """``encrypt`` for a column: the same tokens (a fresh random nonce each), a third faster.

        The nonces come from one ``os.urandom`` call (a system call per value was a third of the time)."""
        if self._aead is None:
            return [None if v is None else _PLAIN + v.encode("utf-8") for v in values]
        nonces = os.urandom(_NONCE_BYTES * len(values))
        seal = self._aead.encrypt
        n = _NONCE_BYTES
        return [
            None
            if v is None
            else _AESGCM_V1 + (nonce := nonces[i * n : i * n + n]) + seal(nonce, v.encode(), None)
            for i, v in enumerate(values)
        ]

    def pseudonyms(self, values: Sequence[str | None]) -> list[str | None]:
        """The keyed pseudonym of each reference (the same reference always gives the same pseudonym under
        one data key; without the key it cannot be computed or reversed). Unencrypted databases keep references.

        Input: references as text (None stays None). Output: 12-character URL-safe base64 strings."""
        if self._pseudonym_key is None:
            return list(values)
        # 9 bytes encode to exactly 12 characters, so one encoding of the joined digests slices cleanly.
        text = self._encoded_digests(v for v in values if v is not None).decode("ascii")
        width = _PSEUDONYM_WIDTH
        out: list[str | None] = []
        at = 0
        for v in values:
            if v is None:
                out.append(None)
            else:
                out.append(text[at : at + width])
                at += width
        return out

    def pseudonym_series(self, refs: pl.Series) -> pl.Series:
        """:meth:`pseudonyms` of a column of references, as a String series of the same name (the same values).

        Without nulls, Arrow cuts the encoded digests at fixed 12-character offsets instead of Python slicing each
        value (a third of the time at millions of references, docs/scaling.md)."""
        import numpy as np
        import polars as pl
        import pyarrow as pa

        if self._pseudonym_key is None:
            return refs.cast(pl.String)
        if refs.null_count():
            return pl.Series(refs.name, self.pseudonyms(refs.to_list()), dtype=pl.String)
        data = self._encoded_digests(refs.cast(pl.String).to_list())
        n = refs.len()
        offsets = np.arange(0, (n + 1) * _PSEUDONYM_WIDTH, _PSEUDONYM_WIDTH, dtype=np.int64)
        column = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
        return pl.Series(refs.name, column, dtype=pl.String)

    def _encoded_digests(self, values: Iterable[str]) -> bytes:
        """The URL-safe base64 of the keyed digests of ``values`` one after another (12 characters each)."""
        assert self._pseudonym_key is not None
        # A copy of the keyed state, then the reference: the same digest as keying afresh, a quarter less time
        # (a backfill hashes millions of references; docs/scaling.md).
        keyed = hashlib.blake2b(key=self._pseudonym_key, digest_size=_PSEUDONYM_BYTES).copy
        digests: list[bytes] = []
        add = digests.append
        for v in values:
            h = keyed()
            h.update(v.encode())
            add(h.digest())
        return base64.urlsafe_b64encode(b"".join(digests))

    def seal_bytes(self, data: bytes) -> bytes:
        """Encrypt one binary value (a book of references); plain databases mark it as plain."""
        if self._aead is None:
            return _PLAIN + data
        nonce = os.urandom(_NONCE_BYTES)
        return _AESGCM_V1 + nonce + self._aead.encrypt(nonce, data, None)

    def open_bytes(self, token: bytes) -> bytes:
        token = bytes(token)
        kind, body = token[:1], token[1:]
        if kind == _PLAIN:
            return body
        if self._aead is None:
            raise KeyError_(f"this value is encrypted: set {KEY_ENV} to the database key")
        try:
            return self._aead.decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], None)
        except InvalidTag as exc:
            raise KeyError_("the database key does not match the key this value was written with") from exc

    def decrypt_many(self, tokens: Sequence[bytes | None]) -> list[str | None]:
        decrypt = self.decrypt
        return [decrypt(t) for t in tokens]

    def check_token(self) -> bytes:
        token = self.encrypt(_CHECK_PLAINTEXT.decode())
        assert token is not None
        return token

    def verify_check_token(self, token: bytes) -> None:
        if self._aead is None:
            raise KeyError_(f"this database is encrypted: set {KEY_ENV} to its key")
        body = bytes(token)[1:]
        try:
            plain = self._aead.decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], None)
        except InvalidTag as exc:
            raise KeyError_(
                f"the key in {KEY_ENV} is not the key this database was created with; nothing was read or written"
            ) from exc
        if plain != _CHECK_PLAINTEXT:
            raise KeyError_(f"the key in {KEY_ENV} does not open this database")


# Native (whole-file) encryption, used in addition to field encryption where this DuckDB can write
# encrypted files. The fixed salt separates the file key from the field key (whose salt is in the file).
_NATIVE_SALT = b"repairs-red-flags duckdb-native v1"


@functools.cache
def native_encryption_available() -> bool:
    """True when this DuckDB can write an encrypted database file (its httpfs crypto module is loaded).

    Probed once per process by attaching a throw-away encrypted database in a private temporary folder and
    writing to it. DuckDB 2.0 without httpfs has a read-only crypto module, so here this is False.
    """
    import duckdb

    with tempfile.TemporaryDirectory(prefix="redflags-probe-") as folder:
        con = duckdb.connect()
        try:
            _load_httpfs(con)
            probe = str(Path(folder) / "probe.duckdb")
            con.execute("attach ? as probe (encryption_key ?)", [probe, secrets.token_hex(16)])
            con.execute("create table probe.t as select 1 as x")
            con.execute("detach probe")
        except duckdb.Error:
            return False
        finally:
            con.close()
    return True


def _load_httpfs(con: duckdb.DuckDBPyConnection) -> None:
    import duckdb

    # Never reach for the network: otherwise an encrypted ATTACH tries to download httpfs (seconds offline).
    con.execute("set autoinstall_known_extensions = false")
    with contextlib.suppress(duckdb.Error):
        con.execute("load httpfs")  # only if installed already


def native_file_key(passphrase: str) -> str:
    """The key handed to DuckDB for whole-file encryption, derived from (never equal to) the passphrase."""
    return derive_key(passphrase, _NATIVE_SALT).hex()


def attach_native(
    con: duckdb.DuckDBPyConnection,
    db_path: str,
    passphrase: str,
    *,
    alias: str = "wh",
    read_only: bool = False,
) -> None:
    """Attach ``db_path`` as a DuckDB-encrypted database (created if missing) and make it the default catalog.

    For :func:`pipelines.warehouse.connection.open_warehouse` when :func:`native_encryption_available`: there
    ``con = duckdb.connect(); attach_native(con, path, passphrase)`` replaces ``duckdb.connect(path)``, and
    the field encryption stays as it is. Path and key are bound values; the alias must be a plain identifier.
    """
    if not alias.isidentifier():
        raise ValueError(f"not a valid database alias: {alias!r}")
    _load_httpfs(con)
    options = "encryption_key ?, read_only" if read_only else "encryption_key ?"
    con.execute(f'attach ? as "{alias}" ({options})', [db_path, native_file_key(passphrase)])
    con.execute(f'use "{alias}"')
