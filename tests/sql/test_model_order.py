"""The order of ``MODELS`` (pipelines/scoring/week.py) follows the tables each SQL file reads: a model that reads
another model's table runs after it."""

from __future__ import annotations

import re

import pytest

from pipelines.core.paths import sql_text
from pipelines.scoring.week import MODELS

_COMMENT = re.compile(r"--[^\n]*")
_READS = re.compile(r"\b(?:from|join)\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_CTE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s+as\s+(?:materialized\s+)?\(", re.IGNORECASE)


def _body(text: str, open_paren: int) -> str:
    depth = 0
    for i in range(open_paren, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return text[open_paren : i + 1]
    return text[open_paren:]


def tables_read(sql: str) -> set[str]:
    """The tables a model's SQL reads (the names after ``from`` and ``join``), less its own CTEs; a CTE named
    after the table it selects from (``outcomes as (select * from outcomes)``, the house style) reads it."""
    text = _COMMENT.sub("", sql)
    reads = {t.lower() for t in _READS.findall(text)}
    for cte in _CTE.finditer(text):
        name = cte.group(1).lower()
        if name not in {t.lower() for t in _READS.findall(_body(text, cte.end() - 1))}:
            reads.discard(name)
    return reads


def order_problems(order: list[tuple[str, str]]) -> list[str]:
    """For (model name, its SQL) in run order: each model that reads a model listed at or after itself."""
    position = {name.rsplit("/", 1)[-1].lower(): i for i, (name, _) in enumerate(order)}
    return [
        f"{name} reads {table}, which runs later"
        for i, (name, sql) in enumerate(order)
        for table in sorted(tables_read(sql))
        if position.get(table, -1) >= i and table != name.rsplit("/", 1)[-1].lower()
    ]


def test_tables_read_sees_from_and_join_but_not_ctes_or_comments() -> None:
    sql = """
    -- reads from old_table (a comment)
    with recent as (select * from stg_repairs where x > 1),
    outcomes as (select * from outcomes)
    select r.* from recent as r
    left join known_cases__live as k on k.t = r.t
    join (select * from outcomes__latest) as o on true
    """
    assert tables_read(sql) == {"stg_repairs", "known_cases__live", "outcomes__latest", "outcomes"}


def test_order_problems_finds_a_model_run_before_what_it_reads() -> None:
    order = [("marts/b", "select * from a"), ("intermediate/a", "select * from stg_x")]
    assert order_problems(order) == ["marts/b reads a, which runs later"]
    assert order_problems(list(reversed(order))) == []


def test_every_model_runs_after_the_models_it_reads() -> None:
    order = [(name, sql_text(name)) for name in MODELS]
    assert order_problems(order) == []


@pytest.mark.parametrize("name", MODELS)
def test_each_model_reads_something(name: str) -> None:
    # a parse that found no table at all would make the order check above pass for the wrong reason
    assert tables_read(sql_text(name))
