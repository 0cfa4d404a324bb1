"""End to end on a small synthetic landlord: synth -> ingest -> score_week (slow: about half a minute)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

AS_OF = dt.date(2025, 6, 29)


@pytest.mark.slow
def test_synthetic_landlord_lists_live_patterns_and_never_known_cases(tmp_path: Path) -> None:
    from pipelines.core.settings import load_settings
    from pipelines.ingest.classifier import classifier_from_settings
    from pipelines.ingest.folder import ingest_folder
    from pipelines.ingest.mapping import load_mapping
    from pipelines.scoring.week import score_week
    from pipelines.synth.standard import write_landlord
    from pipelines.warehouse.connection import open_warehouse

    settings = load_settings()
    summary = write_landlord(tmp_path / "extracts", homes=1500, years=2, seed=11, as_of=AS_OF)
    wh = open_warehouse(tmp_path / "db.duckdb", allow_unencrypted=True)
    classify = classifier_from_settings(settings.classification)
    ingest_folder(
        wh, tmp_path / "extracts", load_mapping(summary.mapping_path), classify=classify, today=AS_OF
    )
    week = score_week(wh.con, settings, AS_OF)

    key = pl.read_csv(summary.key_path, try_parse_dates=True)
    ranking = pl.concat(
        [week.listed.select("tenancy_ref", "score"), week.carried.select("tenancy_ref", "score")]
    )
    ranked = set(ranking["tenancy_ref"])
    known = set(key.filter(pl.col("kind") == "known_case")["tenancy_ref"])
    live = set(
        key.filter(pl.col("kind").is_in(["da_pattern", "known_case_lapsed"]) & pl.col("live_at_as_of"))[
            "tenancy_ref"
        ]
    )
    assert not ranked & known
    assert live, "the synthetic landlord should plant live patterns"
    assert len(live & ranked) / len(live) >= 0.8
    assert all(len(text) > 0 for text in week.listed["reasons"].to_list())
    wh.close()
