"""Hand-written rows for SQL-model and scoring tests: a tiny landlord in an in-memory warehouse.

Each helper inserts one row into a raw_* table with sensible defaults; ``known_on`` defaults to the event's
own date (the day it was extracted), so knowledge-time tests override it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import duckdb
import polars as pl

from pipelines.core.settings import Settings, load_settings
from pipelines.scoring.week import MODELS, model_params
from pipelines.warehouse.connection import materialise_model, open_warehouse, query

D = dt.date


def _day(value: str | dt.date) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


class Landlord:
    """A warehouse with helpers to insert rows and run the models as of a date."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.wh = open_warehouse(":memory:", allow_unencrypted=True)
        self.con: duckdb.DuckDBPyConnection = self.wh.con
        self.settings = settings or load_settings()
        self._row = 1

    def _next(self) -> int:
        self._row += 1
        return self._row

    def property(
        self, ref: str, block: str | None = "B1", estate: str | None = "E1", kind: str = "flat", beds: int = 2
    ) -> None:
        self.con.execute(
            "insert into raw_properties values (?, ?, ?, ?, ?, 1, ?, ?)",
            [ref, block, estate, kind, beds, self._next(), D(2000, 1, 1)],
        )

    def tenancy(
        self, ref: str, prop: str, start: str, end: str | None = None, known_on: str | None = None
    ) -> None:
        self.con.execute(
            "insert into raw_tenancies values (?, ?, ?, ?, 1, ?, ?)",
            [ref, prop, _day(start), end and _day(end), self._next(), _day(known_on or start)],
        )

    def home(self, tenancy: str, prop: str, start: str = "2020-01-01", **kwargs: Any) -> None:
        self.property(prop, **kwargs)
        self.tenancy(tenancy, prop, start)

    def repair(
        self,
        job: str,
        prop: str,
        tenancy: str | None,
        on: str,
        categories: Sequence[str] = ("lock_change",),
        location: str | None = "external",
        *,
        priority: str = "emergency",
        status: str = "completed",
        evidence: str | None = None,
        police: bool = False,
        communal_text: bool = False,
        known_on: str | None = None,
        file_id: int = 1,
        description: bytes | None = None,
    ) -> None:
        self.con.execute(
            "insert into raw_repairs values"
            " (?, ?, ?, ?, null, null, ?, ?, 'locksmith', ?, 50, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                job,
                prop,
                tenancy,
                dt.datetime.combine(_day(on), dt.time(9)),
                description,
                priority,
                status,
                list(categories),
                location if categories else None,
                evidence,
                police,
                communal_text,
                file_id,
                self._next(),
                _day(known_on or on),
            ],
        )

    def recharge(
        self,
        ref: str,
        tenancy: str,
        on: str,
        amount: float,
        job: str | None = None,
        categories: Sequence[str] = (),
    ) -> None:
        self.con.execute(
            "insert into raw_recharges values (?, ?, null, ?, ?, ?, null, 'raised', ?, 1, ?, ?)",
            [ref, tenancy, job, _day(on), amount, list(categories), self._next(), _day(on)],
        )

    def asb(self, case: str, tenancy: str, on: str, category: str, role: str | None = "subject") -> None:
        self.con.execute(
            "insert into raw_asb values (?, ?, ?, null, ?, ?, null, 1, ?, ?)",
            [case, tenancy, _day(on), category, role, self._next(), _day(on)],
        )

    def rent(self, tenancy: str, first_week: str, balances: Sequence[float], charge: float = 100.0) -> None:
        start = _day(first_week)
        for i, balance in enumerate(balances):
            week = start + dt.timedelta(days=7 * i)
            self.con.execute(
                "insert into raw_rent values (?, ?, ?, ?, 1, ?, ?)",
                [tenancy, week, balance, charge, self._next(), week],
            )

    def known_case(self, tenancy: str, marker: str, start: str, end: str | None = None) -> None:
        self.con.execute(
            "insert into raw_known_cases values (?, ?, ?, ?, 1, ?, ?)",
            [
                tenancy,
                self.wh.cipher.encrypt(marker),
                _day(start),
                end and _day(end),
                self._next(),
                _day(start),
            ],
        )

    def planned(
        self,
        programme: str,
        start: str,
        end: str | None = None,
        *,
        prop: str | None = None,
        block: str | None = None,
        estate: str | None = None,
    ) -> None:
        self.con.execute(
            "insert into raw_planned_works values (?, ?, ?, ?, ?, ?, 1, ?, ?)",
            [prop, block, estate, programme, _day(start), end and _day(end), self._next(), _day(start)],
        )

    def outcome(self, tenancy: str, outcome: str, reviewed_on: str, outcome_id: int = 1) -> None:
        self.con.execute(
            "insert into outcomes values (?, 'L1', ?, ?, ?, 'reviewer', null, ?, ?, 'f.csv', 2)",
            [
                outcome_id,
                _day(reviewed_on),
                tenancy,
                self.wh.cipher.encrypt(outcome),
                _day(reviewed_on),
                dt.datetime.combine(_day(reviewed_on), dt.time(12)),
            ],
        )

    def build(self, as_of: str, upto: str = "marts/household_evidence", **overrides: Any) -> None:
        """Materialise the models in order up to and including ``upto``, with parameter overrides."""
        params = model_params(self.settings, _day(as_of)) | overrides
        for name in MODELS:
            materialise_model(self.con, name, params)
            if name == upto:
                return

    def table(self, name: str, order_by: str = "1") -> pl.DataFrame:
        return query(self.con, f"select * from {name} order by {order_by}")

    def row(self, name: str, key_column: str, key: str) -> dict[str, Any]:
        rows = query(self.con, f"select * from {name} where {key_column} = $k", {"k": key}).to_dicts()
        assert len(rows) == 1, f"expected one {name} row for {key}, got {len(rows)}"
        return rows[0]
