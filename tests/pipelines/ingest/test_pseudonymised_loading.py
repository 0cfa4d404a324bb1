"""An encrypted load stores every reference as its pseudonym and nothing else changes: the same synthetic
landlord loaded into an encrypted and an unencrypted warehouse gives the same rows, once the encrypted one's
references are turned back (every extract, repeated references, several versions of a record)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import polars as pl
import pytest

from pipelines.synth.standard import write_landlord
from pipelines.warehouse.connection import Warehouse, open_warehouse, query
from pipelines.warehouse.references import REFERENCE_COLUMNS, reveal
from tests.pipelines.ingest.ingest_helpers import ingest

AS_OF = dt.date(2025, 6, 29)
RAW = (
    "raw_repairs",
    "raw_recharges",
    "raw_asb",
    "raw_rent",
    "raw_tenancies",
    "raw_properties",
    "raw_known_cases",
    "raw_planned_works",
)


def _rows(wh: Warehouse, table: str) -> pl.DataFrame:
    frame = query(wh.con, f"select * exclude (file_id) from {table}")  # file ids follow load order
    frame = frame.select([c for c in frame.columns if not c.endswith("_enc")])
    return reveal(wh.con, wh.cipher, frame, REFERENCE_COLUMNS)


def test_an_encrypted_load_holds_the_same_rows_under_pseudonyms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extracts = tmp_path / "extracts"
    write_landlord(extracts, homes=120, years=1, seed=5, as_of=AS_OF)
    monkeypatch.delenv("REDFLAGS_DB_KEY", raising=False)
    plain = open_warehouse(tmp_path / "plain.duckdb", allow_unencrypted=True)
    sealed = open_warehouse(tmp_path / "sealed.duckdb", key="pseudonymised-load-test")
    try:
        for wh in (plain, sealed):
            assert ingest(wh, extracts, extracts / "mapping.yaml").ok
        seen = 0
        for table in RAW:
            clear = _rows(plain, table)
            assert clear.height, table
            stored = query(sealed.con, f"select * from {table}")
            for column in set(REFERENCE_COLUMNS) & set(clear.columns):
                # stored: pseudonyms only, one per reference
                refs = set(clear[column].drop_nulls())
                assert not refs & set(stored[column].drop_nulls()), (table, column)
                assert stored[column].drop_nulls().n_unique() == len(refs), (table, column)
                seen += len(refs)
            back = _rows(sealed, table)
            key = sorted(c for c in clear.columns if clear.schema[c] != pl.List(pl.String))
            assert back.sort(key).equals(clear.sort(key)), table
        assert seen > 1000  # tenancies, homes, jobs, recharges and cases were all compared
    finally:
        plain.close()
        sealed.close()


def _book(wh: Warehouse, book_id: int) -> pl.DataFrame:
    sealed = wh.con.execute("select book_sealed from ref_books where book_id = ?", [book_id]).fetchall()[0][0]
    return pl.read_ipc(io.BytesIO(wh.cipher.open_bytes(sealed)))


def test_household_references_have_books_of_their_own(tmp_path: Path) -> None:
    """Turning back every household opens the books of tenancy and property references only, not the jobs'."""
    extracts = tmp_path / "extracts"
    write_landlord(extracts, homes=60, years=1, seed=9, as_of=AS_OF)
    wh = open_warehouse(tmp_path / "sealed.duckdb", key="household-books-test")
    try:
        assert ingest(wh, extracts, extracts / "mapping.yaml").ok
        households = set(query(wh.con, "select tenancy_ref as p from raw_tenancies")["p"]) | set(
            query(wh.con, "select property_ref as p from raw_properties")["p"]
        )
        jobs = set(query(wh.con, "select job_ref as p from raw_repairs")["p"])
        assert households and jobs and not households & jobs
        books = query(wh.con, "select pseudonym, book_id from ref_index")
        household_books = set(books.filter(pl.col("pseudonym").is_in(list(households)))["book_id"])
        job_books = set(books.filter(pl.col("pseudonym").is_in(list(jobs)))["book_id"])
        assert household_books and job_books and not household_books & job_books
        for book_id in household_books:
            assert set(_book(wh, book_id)["pseudonym"]) <= households, book_id
        # and the index still finds every reference: each book holds what the index says it holds
        for book_id in household_books | job_books:
            indexed = set(books.filter(pl.col("book_id") == book_id)["pseudonym"])
            assert set(_book(wh, book_id)["pseudonym"]) == indexed, book_id
    finally:
        wh.close()
