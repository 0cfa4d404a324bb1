"""Learning from reviewers' outcomes in the weekly run: the re-ranker's settings, its training examples from the
warehouse, and its place between scoring and ranking (models/reranker.py holds the model itself).

The re-ranker is off unless ``outcomes.learning_enabled`` is on and at least ``outcomes.learning_min_outcomes``
referral or no-concern outcomes were reviewed by the as-of date; otherwise the week is scored exactly as the
rules alone score it. Either way ``LearningStatus.sentence`` says which, for the run's summary.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Mapping
from typing import Any

import duckdb
import polars as pl

from models.reranker import (
    EXAMPLE_COLUMNS,
    LEARNING_FEATURES,
    LearningRules,
    LearningStatus,
    fit_reranker,
    moved_reason,
    rerank,
    status_sentence,
    training_examples,
)
from pipelines.core.settings import Settings
from pipelines.warehouse.connection import query
from pipelines.warehouse.crypto import FieldCipher

log = logging.getLogger(__name__)


def learning_rules(settings: Settings) -> LearningRules:
    o = settings.outcomes
    return LearningRules(
        enabled=o.learning_enabled,
        min_outcomes=o.learning_min_outcomes,
        positive_values=tuple(o.positive_values),
        negative_values=tuple(o.negative_values),
        weight=o.learning_weight,
        neighbours=o.learning_neighbours,
        min_similar=o.learning_min_similar,
        similar_distance=o.learning_similar_distance,
        shrinkage=o.learning_shrinkage,
        seed=settings.scoring.anomaly_seed,
    )


def empty_examples() -> pl.DataFrame:
    schema: dict[str, Any] = {
        "tenancy_ref": pl.String,
        "listed_on": pl.Date,
        "reviewed_on": pl.Date,
        "outcome": pl.String,
    }
    return pl.DataFrame(schema={**schema, **{c: pl.Float64 for c in LEARNING_FEATURES}})


def warehouse_examples(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every reviewed listing with the household's features as scored the week it was listed: one row per
    (list, household) with an outcome, its latest outcome for that listing (a correction wins). Listings
    published before features were kept (``review_list_features``) have none and are left out."""
    rows = query(
        con,
        "select f.tenancy_ref, f.as_of as listed_on, o.reviewed_on,"
        " lower(trim(decrypt_text(o.outcome_enc))) as outcome, f.features"
        " from review_list_features f join outcomes o on o.list_id = f.list_id and o.tenancy_ref = f.tenancy_ref"
        " where f.is_listed"
        " qualify row_number() over (partition by f.list_id, f.tenancy_ref"
        " order by o.reviewed_on desc, o.imported_at desc, o.outcome_id desc) = 1"
        " order by listed_on, tenancy_ref",
    )
    if rows.height == 0:
        return empty_examples()
    values = [json.loads(text) for text in rows["features"].to_list()]
    features = pl.DataFrame(
        {c: [_number(v.get(c)) for v in values] for c in LEARNING_FEATURES},
        schema={c: pl.Float64 for c in LEARNING_FEATURES},
    )
    return pl.concat([rows.select(EXAMPLE_COLUMNS), features], how="horizontal")


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, str):
        return None
    return float(value)


def features_json(scored: pl.DataFrame, refs: list[str]) -> pl.DataFrame:
    """``tenancy_ref, features`` (a JSON object of LEARNING_FEATURES) for the households ``refs``."""
    present = [c for c in LEARNING_FEATURES if c in scored.columns]
    part = scored.filter(pl.col("tenancy_ref").is_in(refs)).select(
        "tenancy_ref", *(pl.col(c).cast(pl.Float64) for c in present)
    )
    texts = [
        json.dumps(
            {
                c: (None if v is None or math.isnan(v) else round(v, 6))
                for c, v in row.items()
                if c != "tenancy_ref"
            }
        )
        for row in part.iter_rows(named=True)
    ]
    return pl.DataFrame(
        {"tenancy_ref": part["tenancy_ref"], "features": texts},
        schema={"tenancy_ref": pl.String, "features": pl.String},
    )


def record_features(
    con: duckdb.DuckDBPyConnection,
    *,
    list_id: str,
    as_of: dt.date,
    scored: pl.DataFrame,
    listed: list[str],
    rules_listed: list[str],
    learning_active: bool,
    cipher: FieldCipher | None = None,
) -> int:
    """Keep, with the published list, the feature vectors of the households listed and of those the rules alone
    would have listed (append-only; joins the caller's transaction, if any). Returns the rows inserted.

    ``scored`` and the lists hold the landlord's references (as ``score_week`` returns them); with the
    warehouse's ``cipher`` they are stored as its pseudonyms, as every other table holds them (docs/security.md)."""
    refs = list(dict.fromkeys([*listed, *rules_listed]))
    frame = features_json(scored, refs).with_columns(
        list_id=pl.lit(list_id),
        as_of=pl.lit(as_of),
        is_listed=pl.col("tenancy_ref").is_in(listed),
        rules_listed=pl.col("tenancy_ref").is_in(rules_listed),
        learning_active=pl.lit(learning_active),
    )
    if frame.height == 0:
        return 0
    if cipher is not None:
        frame = frame.with_columns(tenancy_ref=cipher.pseudonym_series(frame["tenancy_ref"]))
    con.register("__list_features", frame.to_arrow())
    try:
        con.execute(
            "insert into review_list_features"
            " (list_id, as_of, tenancy_ref, is_listed, rules_listed, learning_active, features)"
            " select list_id, as_of, tenancy_ref, is_listed, rules_listed, learning_active, features"
            " from __list_features"
        )
    finally:
        con.unregister("__list_features")
    return frame.height


def apply_learning(
    scored: pl.DataFrame,
    rules: LearningRules,
    as_of: dt.date,
    examples: pl.DataFrame | None,
) -> tuple[pl.DataFrame, LearningStatus]:
    """The scored frame with the re-ranker's columns (``rank_score`` among them) when it is active, else the frame
    unchanged; and the week's status. ``examples``: reviewed listings with their features (``warehouse_examples``
    or a simulation's); only those reviewed by ``as_of`` are used."""
    if not rules.enabled:
        return scored, LearningStatus(
            False, status_sentence(enabled=False, outcomes=0, min_outcomes=rules.min_outcomes, as_of=as_of)
        )
    train = training_examples(examples if examples is not None else empty_examples(), as_of, rules)
    n = train.height
    if n < rules.min_outcomes:
        sentence = status_sentence(enabled=True, outcomes=n, min_outcomes=rules.min_outcomes, as_of=as_of)
        return scored, LearningStatus(False, sentence, outcomes=n)
    fitted = fit_reranker(train, rules)
    if isinstance(fitted, str):
        sentence = status_sentence(
            enabled=True, outcomes=n, min_outcomes=rules.min_outcomes, as_of=as_of, problem=fitted
        )
        return scored, LearningStatus(False, sentence, outcomes=n)
    referred = int(train["label"].sum())
    return rerank(scored, fitted, rules), LearningStatus(
        True, "", outcomes=n, referred=referred, validation_auc=fitted.validation_auc
    )


def explain_moves(listed: pl.DataFrame, rules_listed: pl.DataFrame, scored: pl.DataFrame) -> dict[str, str]:
    """The sentence for each listed household the re-ranker moved: its own adjustment is not zero and its place
    differs from the rules' (another rank in its team, another team, or carried forward under the rules)."""
    before: Mapping[str, tuple[str, int]] = {
        ref: (team, rank)
        for ref, team, rank in rules_listed.select("tenancy_ref", "team", "rank").iter_rows()
    }
    support = {
        ref: (adj, similar, referred)
        for ref, adj, similar, referred in scored.select(
            "tenancy_ref", "learning_adjustment", "similar_reviewed", "similar_referred"
        ).iter_rows()
    }
    out: dict[str, str] = {}
    for ref, team, rank in listed.select("tenancy_ref", "team", "rank").iter_rows():
        adj, similar, referred = support.get(ref, (0.0, 0, 0))
        if not adj or before.get(ref) == (team, rank):
            continue
        out[ref] = moved_reason(int(similar), int(referred), up=adj > 0)
    return out


def finish_status(status: LearningStatus, rules: LearningRules, as_of: dt.date, moved: int) -> LearningStatus:
    """The active status with its sentence, once the moves are known."""
    sentence = status_sentence(
        enabled=True,
        outcomes=status.outcomes,
        min_outcomes=rules.min_outcomes,
        as_of=as_of,
        referred=status.referred,
        moved=moved,
        auc=status.validation_auc,
    )
    log.info("re-ranker active: %d outcomes, %d households moved", status.outcomes, moved)
    return LearningStatus(True, sentence, status.outcomes, status.referred, moved, status.validation_auc)
