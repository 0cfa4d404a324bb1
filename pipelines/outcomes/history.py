"""One household's history (``redflags history`` and the household page): what the lists said about it and
what reviewers decided, in date order. Reads the warehouse; writes nothing."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from pipelines.warehouse.connection import Warehouse, query
from pipelines.warehouse.references import decrypt_columns, pseudonymise


@dataclass(frozen=True)
class History:
    """One household's record: what lists said (facts) and what reviewers decided (decisions), by date."""

    tenancy_ref: str
    listings: pl.DataFrame  # as_of, list_id, team, rank, score, reasons
    carried: pl.DataFrame  # as_of, list_id, team, score
    outcomes: (
        pl.DataFrame
    )  # reviewed_on, list_id, as_of, outcome, reviewer, rationale, imported_at, is_correction

    @property
    def is_empty(self) -> bool:
        return self.listings.is_empty() and self.carried.is_empty() and self.outcomes.is_empty()


def household_history(wh: Warehouse, tenancy_ref: str) -> History:
    params = {"ref": pseudonymise(wh.cipher, [tenancy_ref])[0]}
    listings = query(
        wh.con,
        "select as_of, list_id, team, rank, score, reasons_enc, published_at from review_list_rows"
        " where tenancy_ref = $ref order by as_of, published_at, list_id",
        params,
    )
    listings = decrypt_columns(wh.cipher, listings, ("reasons_enc",))
    carried = query(
        wh.con,
        "select as_of, list_id, team, score from carried_forward where tenancy_ref = $ref"
        " order by as_of, list_id",
        params,
    )
    outcomes = query(
        wh.con,
        "select reviewed_on, list_id, as_of, outcome_enc, reviewer_enc, rationale_enc, imported_at,"
        " row_number() over (partition by list_id order by outcome_id) > 1 as is_correction"
        " from outcomes where tenancy_ref = $ref order by reviewed_on, imported_at, outcome_id",
        params,
    )
    outcomes = decrypt_columns(wh.cipher, outcomes, ("outcome_enc", "reviewer_enc", "rationale_enc"))
    return History(tenancy_ref, listings, carried, outcomes)


def _wrap(text: str, indent: str, width: int = 100) -> Iterator[str]:
    yield from textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent) or [indent]


def format_history(history: History) -> str:
    """Plain text for an authorised reviewer's terminal: facts first, then decisions, each in date order."""
    lines = [
        f"Household {history.tenancy_ref}",
        "A listing is a prompt for a closer look, never a finding about anyone.",
        "",
        "FACTS - what the weekly lists recorded (week ending, in date order)",
    ]
    facts: list[tuple[dt.date, str, list[str]]] = []
    for r in history.listings.iter_rows(named=True):
        head = (
            f"  {r['as_of']:%d/%m/%Y}  listed for {r['team']}, rank {r['rank']}, score {r['score']:.2f}"
            f"  (list {r['list_id']})"
        )
        facts.append((r["as_of"], r["list_id"], [head, *_wrap(f"reasons: {r['reasons']}", " " * 14)]))
    for r in history.carried.iter_rows(named=True):
        head = (
            f"  {r['as_of']:%d/%m/%Y}  above the threshold but over {r['team']}'s capacity: carried forward, "
            f"score {r['score']:.2f}  (list {r['list_id']})"
        )
        facts.append((r["as_of"], r["list_id"], [head]))
    if not facts:
        lines.append("  (never listed)")
    for _, _, block in sorted(facts, key=lambda f: (f[0], f[1])):
        lines += block
    lines += ["", "DECISIONS - what reviewers recorded, with who, when and why (in date order)"]
    if history.outcomes.is_empty():
        lines.append("  (no outcome recorded yet)")
    for r in history.outcomes.iter_rows(named=True):
        head = (
            f"  {r['reviewed_on']:%d/%m/%Y}  {r['outcome']}  by {r['reviewer']}  "
            f"(list of week ending {r['as_of']:%d/%m/%Y}, {r['list_id']})"
        )
        lines.append(head)
        if r["is_correction"]:
            lines.append(" " * 14 + "corrects an earlier outcome for the same list (both are kept)")
        lines += _wrap(f"why: {r['rationale']}", " " * 14)
    return "\n".join(lines) + "\n"
