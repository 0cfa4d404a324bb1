"""The pseudonym function is fixed: every database's references are stored under it, so a change would need the
warehouse's schema version raised (old databases refused) and a migration. Values pinned under a known key."""

from __future__ import annotations

from pipelines.warehouse.crypto import FieldCipher

KEY = bytes(range(32))


def test_pseudonyms_are_the_pinned_values() -> None:
    # computed once with the function as released (keyed BLAKE2b, 9 bytes, URL-safe base64)
    assert FieldCipher(KEY).pseudonyms(["T000123", "JOB-9", ""]) == [
        "EU9IWcaC7_9H",
        "YLjYgN0VUEW9",
        "Qv-yX6_wdg8k",
    ]


def test_a_missing_reference_does_not_shift_the_others() -> None:
    assert FieldCipher(KEY).pseudonyms([None, "T000123", None, "JOB-9"]) == [
        None,
        "EU9IWcaC7_9H",
        None,
        "YLjYgN0VUEW9",
    ]


def test_an_unencrypted_database_keeps_references() -> None:
    assert FieldCipher(None).pseudonyms(["T1", None]) == ["T1", None]
