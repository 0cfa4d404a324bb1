"""References as keyed pseudonyms: the one place that turns a landlord's references into what the database holds,
and back.

Inside DuckDB every reference column (:data:`REFERENCE_COLUMNS`) holds the reference's keyed pseudonym
(:meth:`pipelines.warehouse.crypto.FieldCipher.pseudonyms`), so staging, features and joins work unchanged and
the file says nothing about which household a row is about. Each clear reference is kept once, encrypted, in a
*book*: an Arrow IPC table ``(pseudonym, reference)`` sealed with AES-GCM (one encryption per book, not per
reference: four million job references cost a few calls), with ``ref_index`` saying which book holds each
pseudonym. A load chunk writes up to two books: one of the household references it brings (tenancy and
property: what scoring turns back for every household each week) and one of the record references (job, case,
recharge: millions, of which a week's list reads a few), so that turning back every household opens a few
hundred thousand references, not every job of five years.

- In: :func:`distinct_references`, :func:`with_pseudonyms` and :func:`stage_reference_map` (ingest: a chunk's
  distinct references, hashed, kept for the insert's joins) and :func:`pseudonymise`
  (values a person typed: an outcome sheet, a web form, a command's argument).
- Out: :func:`reveal` (a frame read from DuckDB, when publishing or showing it to a person).

Unencrypted databases (``--allow-unencrypted``, test data only) keep references as they are: every function
here is then the identity.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence

import duckdb
import polars as pl

from pipelines.warehouse.connection import next_id, query, quote_identifier_sql
from pipelines.warehouse.crypto import FieldCipher

# Every column, in any table, that holds a landlord's reference to a household, home or record.
REFERENCE_COLUMNS: tuple[str, ...] = ("tenancy_ref", "property_ref", "job_ref", "case_ref", "recharge_ref")

# The columns whose references are a household's (opened together when every household is turned back).
HOUSEHOLD_COLUMNS: tuple[str, ...] = ("tenancy_ref", "property_ref")

MAP_TABLE = "__refmap"  # a chunk's (ref, pseudonym, household), a temporary table of the loading cursor
NEW_TABLE = "__refnew"  # the chunk's references in no book yet (pseudonym, ref, household), likewise


def pseudonymise(cipher: FieldCipher, values: Sequence[str | None]) -> list[str | None]:
    """The pseudonyms of references a person gave (None stays None)."""
    return cipher.pseudonyms(values)


def pseudonymise_frame(
    con: duckdb.DuckDBPyConnection, cipher: FieldCipher, frame: pl.DataFrame, columns: Sequence[str]
) -> pl.DataFrame:
    """``frame`` with each of ``columns`` (those present) replaced by its pseudonyms, before it goes to DuckDB;
    references not in any book yet are sealed in a new one (call inside the transaction that writes the frame)."""
    present = [c for c in columns if c in frame.columns]
    if not cipher.encrypts or not present or frame.is_empty():
        return frame
    refs = pl.concat([frame[c].cast(pl.String) for c in present]).drop_nulls().unique().alias("ref")
    mapping = pl.DataFrame({"ref": refs, "pseudonym": cipher.pseudonym_series(refs).alias("pseudonym")})
    con.register("__refs_known_view", mapping.to_arrow())
    try:
        new = query(con, "select pseudonym, ref from __refs_known_view anti join ref_index using (pseudonym)")
    finally:
        con.unregister("__refs_known_view")
    store_new_references(con, cipher, new)
    return frame.with_columns(
        pl.col(c).cast(pl.String).replace_strict(mapping["ref"], mapping["pseudonym"], default=None)
        for c in present
    )


def distinct_references(
    con: duckdb.DuckDBPyConnection, sources: Sequence[tuple[str, str]], where: str = "true"
) -> pl.DataFrame | None:
    """The distinct references of ``sources`` (pairs of a relation, as SQL, and one of its reference columns) in
    the rows meeting ``where``, one row each: ``ref, household`` (a reference in a household column, and elsewhere
    too, is a household's). None when there are no sources. Ingest reads a chunk's ``__conv`` (rows not
    ``__bad``); a migration reads every table of the old file."""
    if not sources:
        return None
    union = " union all ".join(
        f"select {quote_identifier_sql(c)} as ref, {str(c in HOUSEHOLD_COLUMNS).lower()} as household"
        f" from {relation} where {where} and {quote_identifier_sql(c)} is not null"
        for relation, c in sources
    )
    # one row per reference: the insert joins the map once per reference column, so a repeated reference would
    # repeat rows
    return query(con, f"select ref, bool_or(household) as household from ({union}) group by ref")


class PseudonymMemo:
    """The household references one load has hashed so far (``ref, pseudonym``), shared by its extracts.

    A tenancy's reference comes back in every chunk of rent, repairs, ASB and the tenancies extract itself: a
    third of a backfill's references were hashed again (docs/scaling.md). Record references (jobs, cases,
    recharges) are each in one file, so they are not kept. Safe to share between the threads loading extracts
    side by side; pseudonyms depend only on the key, so a reference hashed by both is kept once."""

    def __init__(self) -> None:
        self._known = pl.DataFrame(schema={"ref": pl.String, "pseudonym": pl.String})
        self._lock = threading.Lock()

    def known(self) -> pl.DataFrame:
        return self._known

    def remember(self, hashed: pl.DataFrame) -> None:
        """Keep ``hashed`` (``ref, pseudonym``) beside what is known (each reference once)."""
        if hashed.is_empty():
            return
        with self._lock:
            fresh = hashed.select("ref", "pseudonym").join(self._known, on="ref", how="anti")
            self._known = pl.concat([self._known, fresh], rechunk=True)


def with_pseudonyms(
    cipher: FieldCipher, refs: pl.DataFrame, memo: PseudonymMemo | None = None
) -> pl.DataFrame:
    """``refs`` (from :func:`distinct_references`) with each reference's ``pseudonym`` (rows in any order). No DuckDB:
    the load runs it on a side thread while the chunk's texts are classified (hashing holds the GIL, polars's
    classification does not). With ``memo``, household references hashed earlier in the load are not hashed
    again, and those hashed now are remembered."""
    if memo is None:
        return refs.with_columns(pseudonym=cipher.pseudonym_series(refs["ref"]))
    household = pl.col("household")
    ours, memory = refs.filter(household), memo.known()
    known = ours.join(memory, on="ref", how="inner")
    rest = pl.concat([ours.join(memory, on="ref", how="anti"), refs.filter(~household)])
    rest = rest.with_columns(pseudonym=cipher.pseudonym_series(rest["ref"]))
    memo.remember(rest.filter(household))
    return pl.concat([known, rest])


def stage_reference_map(con: duckdb.DuckDBPyConnection, mapped: pl.DataFrame) -> pl.DataFrame:
    """Keep ``mapped`` (:func:`with_pseudonyms`) as the temporary table ``__refmap (ref, pseudonym, household)``
    for the insert to join (:func:`map_joins`); returns the references not yet in any book (``pseudonym, ref,
    household``, also kept as the temporary table ``__refnew``) for :func:`store_new_references`, inside the
    insert's transaction."""
    con.register("__refmap_view", mapped.to_arrow())
    try:
        con.execute(f"create or replace temp table {MAP_TABLE} as select * from __refmap_view")
    finally:
        con.unregister("__refmap_view")
    con.execute(
        f"create or replace temp table {NEW_TABLE} as"
        f" select pseudonym, ref, household from {MAP_TABLE} m anti join ref_index i using (pseudonym)"
    )
    return query(con, f"select * from {NEW_TABLE}")


def store_new_references(
    con: duckdb.DuckDBPyConnection, cipher: FieldCipher, new: pl.DataFrame | None
) -> None:
    """Seal ``new`` (pseudonym, ref) as one book and index it; call inside the transaction that writes the rows.
    With a ``household`` column (what :func:`stage_reference_map` returns), household and record references go to
    a book each; the index is then written from the chunk's temporary table ``__refnew`` (the same rows: DuckDB
    reads its own table several times faster than a frame handed over from Python).

    Two extracts loading side by side may both store a reference first seen by each: a pseudonym in two books is
    harmless (both hold the same reference)."""
    if new is None or new.is_empty():
        return
    if "household" not in new.columns:
        book_id = _seal_book(con, cipher, new)
        con.register("__refnew_view", new.select("pseudonym").to_arrow())
        try:
            con.execute("insert into ref_index select pseudonym, $b from __refnew_view", {"b": book_id})
        finally:
            con.unregister("__refnew_view")
        return
    books = {
        bool(household): _seal_book(con, cipher, part)
        for (household,), part in new.group_by("household", maintain_order=True)
    }
    con.execute(
        f"insert into ref_index select pseudonym, if(household, $h, $r) from {NEW_TABLE}",
        {"h": books.get(True), "r": books.get(False)},
    )


def _seal_book(con: duckdb.DuckDBPyConnection, cipher: FieldCipher, refs: pl.DataFrame) -> int:
    """Seal ``refs`` (pseudonym, ref) as one new book; its id."""
    book_id = next_id(con, "seq_ref_book")
    buffer = io.BytesIO()
    refs.select("pseudonym", "ref").write_ipc(buffer, compression="lz4")
    con.execute("insert into ref_books values (?, ?)", [book_id, cipher.seal_bytes(buffer.getvalue())])
    return book_id


def map_joins(columns: Sequence[str]) -> tuple[dict[str, str], str]:
    """(column -> alias, the LEFT JOINs of ``__refmap`` that give each reference column of ``__conv c`` its
    pseudonym)."""
    aliases = {c: f"__r{i}" for i, c in enumerate(columns)}
    # A household column's references are all marked household in the map (distinct_references): its join builds
    # its hash table from those (a few hundred thousand), not from every job reference of the chunk as well.
    joins = " ".join(
        f"left join {_map_of(c)} {a} on {a}.ref = c.{quote_identifier_sql(c)}" for c, a in aliases.items()
    )
    return aliases, joins


def _map_of(column: str) -> str:
    if column in HOUSEHOLD_COLUMNS:
        return f"(select ref, pseudonym from {MAP_TABLE} where household)"
    return MAP_TABLE


def reveal(
    con: duckdb.DuckDBPyConnection, cipher: FieldCipher, frame: pl.DataFrame, columns: Sequence[str]
) -> pl.DataFrame:
    """``frame`` with each of ``columns`` (those present) turned back from pseudonyms into the landlord's
    references, for a person to read. Only the books holding the frame's pseudonyms are opened."""
    present = [c for c in columns if c in frame.columns]
    if not cipher.encrypts or not present or frame.is_empty():
        return frame
    wanted = pl.concat([frame[c].cast(pl.String) for c in present]).drop_nulls().unique().alias("pseudonym")
    if wanted.is_empty():
        return frame
    mapping = lookup(con, cipher, wanted)
    return frame.with_columns(
        pl.col(c).cast(pl.String).replace(mapping["pseudonym"], mapping["ref"]) for c in present
    )


def reveal_quoted(
    con: duckdb.DuckDBPyConnection,
    cipher: FieldCipher,
    frame: pl.DataFrame,
    text: str,
    quoted: str,
    also: Sequence[str] = (),
) -> pl.DataFrame:
    """``frame`` with the pseudonym of column ``quoted`` that column ``text`` quotes (SQL-built facts such as
    "for job <ref>") replaced by the reference, and ``quoted`` dropped; the columns ``also`` are turned back as
    :func:`reveal` does, from the same books (each book is opened once)."""
    if quoted not in frame.columns:
        return reveal(con, cipher, frame, also)
    if cipher.encrypts and not frame.is_empty():
        frame = reveal(con, cipher, frame.with_columns(pl.col(quoted).alias("__clear")), ("__clear", *also))
        clear = frame["__clear"]
        frame = frame.drop("__clear")
        # a few rows (the listed households' records): one replacement per row
        texts = [
            t if t is None or p is None or c is None else t.replace(p, c)
            for t, p, c in zip(frame[text].to_list(), frame[quoted].to_list(), clear.to_list(), strict=True)
        ]
        frame = frame.with_columns(pl.Series(text, texts, dtype=pl.String))
    return frame.drop(quoted)


def lookup(con: duckdb.DuckDBPyConnection, cipher: FieldCipher, pseudonyms: pl.Series) -> pl.DataFrame:
    """(pseudonym, ref) for each of ``pseudonyms`` found in the books."""
    con.register("__reveal_view", pl.DataFrame({"pseudonym": pseudonyms}).to_arrow())
    try:
        books = con.sql(
            "select book_sealed from ref_books where book_id in"
            " (select distinct book_id from ref_index semi join __reveal_view using (pseudonym))"
        ).fetchall()
    finally:
        con.unregister("__reveal_view")
    if not books:
        return pl.DataFrame(schema={"pseudonym": pl.String, "ref": pl.String})
    opened = pl.concat([pl.read_ipc(io.BytesIO(cipher.open_bytes(b))) for (b,) in books])
    return opened.filter(pl.col("pseudonym").is_in(pseudonyms.implode())).unique("pseudonym", keep="first")


def decrypt_columns(cipher: FieldCipher, frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """``frame`` with each ``<name>_enc`` of ``columns`` decrypted into ``<name>``, in the same place."""
    return frame.with_columns(
        pl.Series(c, cipher.decrypt_many(frame[c].to_list()), dtype=pl.String) for c in columns
    ).rename({c: c.removesuffix("_enc") for c in columns})


def pseudonymise_in_place(
    con: duckdb.DuckDBPyConnection, cipher: FieldCipher, tables: Sequence[str] | None = None
) -> int:
    """Replace the clear references held in ``tables`` (default: every table with a reference column) by their
    pseudonyms, each reference sealed in a book. For a database written before references were pseudonymised,
    and for rows a test writes by hand. Returns the number of distinct references. Call inside a transaction."""
    if not cipher.encrypts:
        return 0
    found = con.sql(
        "select c.table_name, c.column_name from information_schema.columns c"
        " join information_schema.tables t using (table_catalog, table_schema, table_name)"
        " where c.table_catalog = current_database() and c.table_schema = 'main'"
        " and t.table_type = 'BASE TABLE' and list_contains($cols, c.column_name)"
        " order by c.table_name, c.ordinal_position",
        params={"cols": list(REFERENCE_COLUMNS)},
    ).fetchall()
    targets = [(str(t), str(c)) for t, c in found if tables is None or t in tables]
    if not targets:
        return 0
    union = " union ".join(
        f"select {quote_identifier_sql(c)} as ref from {quote_identifier_sql(t)}"
        f" where {quote_identifier_sql(c)} is not null"
        for t, c in targets
    )
    refs = query(con, union)["ref"]
    frame = pl.DataFrame({"ref": refs, "pseudonym": cipher.pseudonym_series(refs).alias("pseudonym")})
    store_new_references(con, cipher, frame)
    con.register("__inplace_view", frame.to_arrow())
    try:
        for t, c in targets:
            col = quote_identifier_sql(c)
            con.execute(
                f"update {quote_identifier_sql(t)} set {col} = m.pseudonym from __inplace_view m"
                f" where {quote_identifier_sql(t)}.{col} = m.ref"
            )
    finally:
        con.unregister("__inplace_view")
    return frame.height
