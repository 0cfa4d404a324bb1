"""Field-level encryption of free text before it reaches the database.

DuckDB 2.0 writes encrypted database files only with its httpfs extension's crypto, which a closed network
cannot download, so the pipeline encrypts the free-text columns itself (AES-256-GCM, one random 96-bit nonce per
value) with a key derived from the passphrase in ``REDFLAGS_DB_KEY``. The key-derivation salt and a key-check
token live in the database's ``meta`` table: a wrong key is detected before anything is read or written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

KEY_ENV = "REDFLAGS_DB_KEY"
_CHECK_PLAINTEXT = b"repairs-red-flags key check v1"
# First byte of every stored value says how it was stored.
_PLAIN = b"\x00"  # --allow-unencrypted databases only
_AESGCM_V1 = b"\x01"
_NONCE_BYTES = 12


class KeyError_(Exception):
    """The database key is missing or wrong (one sentence, safe to show)."""


def derive_key(passphrase: str, salt: bytes) -> bytes:
    # scrypt parameters: ~50 ms on this class of machine, paid once per process.
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(passphrase.encode("utf-8"))


class FieldCipher:
    """Encrypts and decrypts text values; ``key=None`` stores them as plain UTF-8 (explicitly allowed only)."""

    def __init__(self, key: bytes | None) -> None:
        self._aead = AESGCM(key) if key is not None else None

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

    def encrypt_many(self, values: Iterable[str | None]) -> list[bytes | None]:
        encrypt = self.encrypt
        return [encrypt(v) for v in values]

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
