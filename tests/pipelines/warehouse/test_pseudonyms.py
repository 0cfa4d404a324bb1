"""The pseudonym function is fixed: every database's references are stored under it, so a change would need the
warehouse's schema version raised (old databases refused) and a migration. Values pinned under a known key; a
load's memo of household references (each hashed once per load) gives the very same values."""

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


class _CountingCipher(FieldCipher):
    """A cipher that records every reference it is asked to hash."""

    def __init__(self) -> None:
        super().__init__(KEY)
        self.hashed: list[str] = []

    def pseudonym_series(self, refs):  # type: ignore[no-untyped-def]
        self.hashed += refs.to_list()
        return super().pseudonym_series(refs)


def _refs(household: list[str], records: list[str]):  # type: ignore[no-untyped-def]
    import polars as pl

    return pl.DataFrame(
        {"ref": household + records, "household": [True] * len(household) + [False] * len(records)}
    )


def test_a_load_hashes_each_household_reference_once_and_gets_the_same_pseudonyms() -> None:
    """Chunks and extracts of one load repeat tenancies and homes: the memo hashes each once; every chunk's map
    still holds every reference once with its own pseudonym, record references included (never remembered)."""
    from pipelines.warehouse.references import PseudonymMemo, with_pseudonyms

    cipher, memo = _CountingCipher(), PseudonymMemo()
    chunks = [
        _refs(["T1", "T2", "P1"], ["JOB-1", "JOB-2"]),
        _refs(["T2", "P1", "T3"], ["JOB-3", "T9"]),  # T9 seen only as a record so far
        _refs(["T9", "T1", "T3", "P1"], []),
        _refs([], ["JOB-1"]),  # a record reference again (a restated job): hashed again, not remembered
    ]
    for chunk in chunks:
        mapped = with_pseudonyms(cipher, chunk, memo)
        assert mapped.height == chunk.height and mapped["ref"].n_unique() == chunk.height
        expected = dict(zip(chunk["ref"], FieldCipher(KEY).pseudonyms(chunk["ref"].to_list()), strict=True))
        assert dict(zip(mapped["ref"], mapped["pseudonym"], strict=True)) == expected
        assert dict(zip(mapped["ref"], mapped["household"], strict=True)) == dict(
            zip(chunk["ref"], chunk["household"], strict=True)
        )
    assert sorted(cipher.hashed) == sorted(
        ["T1", "T2", "P1", "JOB-1", "JOB-2", "T3", "JOB-3", "T9", "T9", "JOB-1"]
    )
    assert sorted(memo.known()["ref"]) == ["P1", "T1", "T2", "T3", "T9"]


def test_extracts_loading_side_by_side_share_the_memo_and_keep_each_reference_once() -> None:
    import threading

    from pipelines.warehouse.references import PseudonymMemo, with_pseudonyms

    cipher, memo = FieldCipher(KEY), PseudonymMemo()
    tenancies = [f"T{i}" for i in range(2_000)]
    start = threading.Barrier(4)

    def load(part: int) -> None:
        start.wait()
        for at in range(0, 2_000, 250):
            with_pseudonyms(cipher, _refs(tenancies[at : at + 250 + part * 50], []), memo)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    known = memo.known()
    assert known.height == known["ref"].n_unique() == 2_000
    assert dict(zip(known["ref"], known["pseudonym"], strict=True)) == dict(
        zip(tenancies, cipher.pseudonyms(tenancies), strict=True)
    )
