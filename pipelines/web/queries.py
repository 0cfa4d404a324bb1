"""What the web pages read from the warehouse: published lists, a team's worklist, one household, the backlog.

Every function takes an open :class:`~pipelines.warehouse.connection.Warehouse` (opened by the page for the
moment of one request) and binds its values; none writes. Team filters are applied here, in SQL, as well as
checked by the page, so a query can never return another team's rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.warehouse.connection import Warehouse, model_sql, query
from pipelines.warehouse.references import decrypt_columns, pseudonymise, reveal, reveal_quoted


@dataclass(frozen=True)
class PublishedList:
    list_id: str
    as_of: dt.date  # the week ending the list is for
    published_on: dt.date


def due_date(published_on: dt.date, working_days: int) -> dt.date:
    """The day a review is due: ``working_days`` Mondays to Fridays after publication (as the managers' report
    counts them; bank holidays are not taken out)."""
    day, left = published_on, working_days
    while left > 0:
        day += dt.timedelta(days=1)
        if day.isoweekday() < 6:
            left -= 1
    return day


def published_lists(wh: Warehouse) -> list[PublishedList]:
    """Every published list, newest first (by week ending, then publication time)."""
    frame = query(
        wh.con,
        "select list_id, as_of, cast(max(published_at) as date) as published_on from review_list_rows"
        " group by list_id, as_of order by as_of desc, max(published_at) desc, list_id desc",
    )
    return [PublishedList(*row) for row in frame.iter_rows()]


def worklist(wh: Warehouse, list_id: str, teams: Sequence[str]) -> list[dict[str, Any]]:
    """The list's rows for ``teams``, by team then rank, each with its latest outcome so far.

    outcome: the latest outcome recorded for this household on this list (None = not reviewed yet);
    outcomes: how many were recorded (more than one = corrected).
    """
    frame = query(
        wh.con,
        "with latest as ("
        "  select tenancy_ref, decrypt_text(arg_max(outcome_enc, outcome_id)) as outcome,"
        "    arg_max(reviewed_on, outcome_id) as reviewed_on, count(*) as outcomes"
        "  from outcomes where list_id = $list_id group by tenancy_ref)"
        " select r.team, r.rank, r.tenancy_ref, r.score, r.reasons_enc, r.is_complex_case,"
        "   l.outcome, l.reviewed_on, coalesce(l.outcomes, 0) as outcomes"
        " from review_list_rows r left join latest l on r.tenancy_ref = l.tenancy_ref"
        " where r.list_id = $list_id and list_contains($teams, r.team)"
        " order by r.team, r.rank, r.tenancy_ref",
        {"list_id": list_id, "teams": list(teams)},
    )
    frame = decrypt_columns(wh.cipher, reveal(wh.con, wh.cipher, frame, ("tenancy_ref",)), ("reasons_enc",))
    return list(frame.iter_rows(named=True))


def listing(wh: Warehouse, list_id: str, tenancy_ref: str) -> dict[str, Any] | None:
    """The household's row on that list (team, rank, score, reasons, as_of, property_ref), or None."""
    frame = query(
        wh.con,
        "select list_id, as_of, cast(published_at as date) as published_on, tenancy_ref, property_ref, team,"
        " rank, score, reasons_enc, is_complex_case from review_list_rows"
        " where list_id = $list_id and tenancy_ref = $tenancy_ref limit 1",
        {"list_id": list_id, "tenancy_ref": pseudonymise(wh.cipher, [tenancy_ref])[0]},
    )
    if not frame.height:
        return None
    frame = reveal(wh.con, wh.cipher, frame, ("tenancy_ref", "property_ref"))
    return decrypt_columns(wh.cipher, frame, ("reasons_enc",)).row(0, named=True)


def list_records(
    wh: Warehouse, *, list_id: str, as_of: dt.date, window_days: int
) -> dict[str, list[dict[str, Any]]]:
    """Every listed household's records from ``window_days`` before the list's week ending to it, in date order:
    tenancy_ref -> rows of ``on, source, record_ref, categories, location, facts, text_enc`` (text still encrypted;
    decrypt with :func:`decrypted` for the one household shown). See sql/web/list_records.sql."""
    frame = query(
        wh.con,
        model_sql("web/list_records"),
        {"list_id": list_id, "date_from": as_of - dt.timedelta(days=window_days), "as_of": as_of},
    )
    frame = reveal_quoted(wh.con, wh.cipher, frame, "facts", "facts_ref")
    frame = reveal(wh.con, wh.cipher, frame, ("tenancy_ref", "record_ref")).sort(
        ["tenancy_ref", "on", "source", "record_ref"], nulls_last=True, maintain_order=True
    )
    by_household: dict[str, list[dict[str, Any]]] = {}
    for row in frame.iter_rows(named=True):
        by_household.setdefault(row.pop("tenancy_ref"), []).append(row)
    return by_household


def decrypted(wh: Warehouse, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with ``text`` (the free text, decrypted) in place of ``text_enc``."""
    texts = wh.cipher.decrypt_many([r["text_enc"] for r in rows])
    return [
        {**{k: v for k, v in r.items() if k != "text_enc"}, "text": text}
        for r, text in zip(rows, texts, strict=True)
    ]


def records_version(wh: Warehouse) -> tuple[Any, ...]:
    """Changes whenever a list's records could: a file loaded, free text purged, the key rotated."""
    return tuple(
        wh.con.sql(
            "select (select count(*) from loaded_files), (select max(file_id) from loaded_files),"
            " (select max(audit_id) from audit_log where action in ('retention_purge', 'key_rotated'))"
        ).fetchall()[0]
    )


def team_counts(wh: Warehouse, list_id: str) -> list[dict[str, Any]]:
    """Per team on the list: households listed, reviewed (any outcome) and not reviewed yet. Counts only."""
    frame = query(
        wh.con,
        "with reviewed as (select distinct tenancy_ref from outcomes where list_id = $list_id)"
        " select r.team, count(*) as listed, count(v.tenancy_ref) as reviewed,"
        "   count(*) - count(v.tenancy_ref) as awaiting"
        " from review_list_rows r left join reviewed v on r.tenancy_ref = v.tenancy_ref"
        " where r.list_id = $list_id group by r.team order by r.team",
        {"list_id": list_id},
    )
    return list(frame.iter_rows(named=True))


def backlog(wh: Warehouse, list_id: str, teams: Sequence[str]) -> list[dict[str, Any]]:
    """Households carried forward on that list (over their team's capacity), highest score first, with the
    week they were first carried and how many published lists have carried them so far."""
    frame = query(
        wh.con,
        "with this as (select * from carried_forward where list_id = $list_id and list_contains($teams, team)),"
        " earlier as (select c.tenancy_ref, min(c.as_of) as first_carried, count(distinct c.list_id) as times"
        "   from carried_forward c semi join this t on c.tenancy_ref = t.tenancy_ref"
        "   where c.as_of <= (select max(as_of) from this) group by c.tenancy_ref)"
        " select t.team, t.tenancy_ref, t.score, e.first_carried, e.times"
        " from this t join earlier e on t.tenancy_ref = e.tenancy_ref"
        " order by t.team, t.score desc, t.tenancy_ref",
        {"list_id": list_id, "teams": list(teams)},
    )
    # ties in score fall in the landlord's reference order, as on the published list
    frame = reveal(wh.con, wh.cipher, frame, ("tenancy_ref",)).sort(
        ["team", "score", "tenancy_ref"], descending=[False, True, False], maintain_order=True
    )
    return list(frame.iter_rows(named=True))
