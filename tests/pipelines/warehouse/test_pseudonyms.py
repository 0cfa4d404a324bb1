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


def test_a_column_of_references_gets_the_pinned_values_with_or_without_gaps() -> None:
    import polars as pl

    cipher = FieldCipher(KEY)
    whole = cipher.pseudonym_series(pl.Series("ref", ["T000123", "JOB-9", ""]))
    assert whole.name == "ref" and whole.dtype == pl.String
    assert whole.to_list() == ["EU9IWcaC7_9H", "YLjYgN0VUEW9", "Qv-yX6_wdg8k"]
    gaps = cipher.pseudonym_series(pl.Series("ref", [None, "JOB-9", None, "T000123"]))
    assert gaps.to_list() == [None, "YLjYgN0VUEW9", None, "EU9IWcaC7_9H"]
    # non-ASCII references are hashed as UTF-8, as one at a time
    odd = ["Flat 1½", "ÉCOLE-7", "x" * 40]
    assert cipher.pseudonym_series(pl.Series("ref", odd)).to_list() == cipher.pseudonyms(odd)
    assert cipher.pseudonym_series(pl.Series("ref", [], dtype=pl.String)).to_list() == []
    assert FieldCipher(None).pseudonym_series(pl.Series("ref", ["T1", None])).to_list() == ["T1", None]
