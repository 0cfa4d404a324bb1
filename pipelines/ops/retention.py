"""`redflags purge`: delete what the retention settings say has expired (docs/security.md, "Retention").

A record is expired when its date is more than N days before ``today``: with ``free_text_days = 730`` and
today 2025-06-30 the cut-off is 2023-07-01, so a repair of 2023-06-30 loses its text and one of 2023-07-01
keeps it.

- Repair descriptions (dated by the later of reported and completed), recharge reasons (raised) and ASB
  descriptions (the later of opened and closed): the ``*_enc`` value is set to NULL after ``free_text_days``.
  The row and its red-flag classification stay, so the household's history still counts. The weekly run's kept
  copies of repair rows (``cache_stg_repairs__known``) lose their text by the same statement.
- Quarantine rows (their reason may quote a bad value): deleted after ``free_text_days``.
- Rent snapshots (week ending): deleted after ``rent_snapshots_days``.
- Published list rows and households carried forward (the list's as-of date): deleted after
  ``published_lists_days``.
- Outcomes (reviewed on): the whole row is deleted after ``outcomes_days``. Once expired, the fact that a
  household was reviewed for domestic abuse is itself the sensitive part, so blanking only the rationale
  would keep what matters most.

The audit trail is kept; the purge adds one event to it with the cut-offs and the counts per table, never
content. Everything happens in one transaction. DuckDB keeps deleted bytes in the file's free blocks even
after CHECKPOINT, so :func:`main` then rewrites the file (:func:`pipelines.warehouse.connection.compact_warehouse`).
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
from dataclasses import dataclass, field

from pipelines.core.settings import RetentionSettings
from pipelines.warehouse.audit import record_event
from pipelines.warehouse.caches import CACHE_TABLES, forget_caches, has_table
from pipelines.warehouse.connection import Warehouse, transaction

log = logging.getLogger(__name__)

# Repair descriptions, in raw_repairs and in the weekly run's kept copies of its rows (CACHE_TABLES).
_REPAIR_TEXT = (
    'update "{table}" set description_enc = null where description_enc is not null'
    " and cast(greatest(reported_at, completed_at) as date) < $cutoff"
)
# (count name, retention setting, statement). Each statement binds $cutoff: rows dated before it are expired.
_STATEMENTS: tuple[tuple[str, str, str], ...] = (
    ("raw_repairs.description_enc", "free_text_days", _REPAIR_TEXT.format(table="raw_repairs")),
    (
        "raw_recharges.reason_enc",
        "free_text_days",
        "update raw_recharges set reason_enc = null where reason_enc is not null and raised_at < $cutoff",
    ),
    (
        "raw_asb.description_enc",
        "free_text_days",
        "update raw_asb set description_enc = null where description_enc is not null"
        " and greatest(opened_at, closed_at) < $cutoff",
    ),
    (
        "quarantine",
        "free_text_days",
        "delete from quarantine where cast(quarantined_at as date) < $cutoff",
    ),
    ("raw_rent", "rent_snapshots_days", "delete from raw_rent where week_ending < $cutoff"),
    ("review_list_rows", "published_lists_days", "delete from review_list_rows where as_of < $cutoff"),
    ("carried_forward", "published_lists_days", "delete from carried_forward where as_of < $cutoff"),
    (
        "review_list_features",
        "published_lists_days",
        "delete from review_list_features where as_of < $cutoff",
    ),
    ("outcomes", "outcomes_days", "delete from outcomes where reviewed_on < $cutoff"),
)


@dataclass(frozen=True)
class PurgeSummary:
    """What one purge removed: values nulled or rows deleted per table, and the cut-off date per setting."""

    today: dt.date
    cutoffs: dict[str, dt.date]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def cutoffs(retention: RetentionSettings, today: dt.date) -> dict[str, dt.date]:
    """The first date still kept, per retention setting: ``today - N days``."""
    settings = retention.model_dump()
    return {
        name: today - dt.timedelta(days=int(settings[name])) for name in sorted({s[1] for s in _STATEMENTS})
    }


def purge(wh: Warehouse, retention: RetentionSettings, today: dt.date) -> PurgeSummary:
    """Delete or blank everything expired on ``today`` and record the counts in the audit trail, in one
    transaction, then CHECKPOINT. Rewrite the file afterwards (:func:`compact_warehouse`) so the bytes go."""

    limits = cutoffs(retention, today)
    counts: dict[str, int] = {}
    with transaction(wh.con) as con:
        for name, setting, statement in _STATEMENTS:
            counts[name] = int(con.execute(statement, {"cutoff": limits[setting]}).fetchall()[0][0])
        if counts["raw_rent"]:
            # Rent trajectories kept for the weekly run (pipelines/scoring/incremental.py) were built from the
            # deleted snapshots: they go with them, and the next run recomputes them from what is left.
            forget_caches(con, ["rent__trajectory"])
        if has_table(con, CACHE_TABLES["stg_repairs__known"]):
            # The kept repairs are copies of raw_repairs rows, dated as they are: the same rows lose their text
            # (a weekly purge would otherwise cost a full recomputation of every job each week)
            con.execute(
                _REPAIR_TEXT.format(table=CACHE_TABLES["stg_repairs__known"]),
                {"cutoff": limits["free_text_days"]},
            )
        record_event(
            con,
            cipher=wh.cipher,
            actor=_actor(),
            action="retention_purge",
            detail={
                "today": today.isoformat(),
                "cutoffs": {k: v.isoformat() for k, v in limits.items()},
                "counts": counts,
            },
        )
    wh.con.execute("checkpoint")
    log.info("retention purge: %d values or rows removed", sum(counts.values()))
    return PurgeSummary(today=today, cutoffs=limits, counts=counts)


def _actor() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some service accounts
        return "unknown"
