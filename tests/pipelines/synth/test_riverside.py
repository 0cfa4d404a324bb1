"""pipelines/synth/riverside.py: a second landlord in another hand, loaded through its own mapping."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest
import yaml

from pipelines.synth.files import default_key_path
from pipelines.synth.landlord import KEY_COLUMNS
from pipelines.synth.riverside import HEADERS, write_riverside
from pipelines.synth.riverside_text import load_catalogue

AS_OF = dt.date(2025, 6, 29)
DATE_IN_NAME = re.compile(r"\d{4}-\d{2}-\d{2}|\d{8}|\d{2}-\d{2}-\d{4}")


@pytest.fixture(scope="module")
def riverside(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("riverside") / "extracts"
    summary = write_riverside(out, homes=1200, years=2, seed=3, as_of=AS_OF)
    return {"out": out, "summary": summary, "key": pl.read_csv(summary.key_path, try_parse_dates=True)}


@pytest.mark.slow
def test_file_names_carry_no_date_and_modification_times_are_the_export_moments(
    riverside: dict[str, object],
) -> None:
    out: Path = riverside["out"]  # type: ignore[assignment]
    files = sorted((out / "repairs").glob("*.csv"))
    assert len(files) > 100 and not any(DATE_IN_NAME.search(f.name) for f in files)
    moments = [dt.datetime.fromtimestamp(f.stat().st_mtime, tz=dt.UTC) for f in files]
    assert moments == sorted(moments)  # name order is export order
    assert {m.weekday() for m in moments} == {0} and {m.time() for m in moments} == {dt.time(6, 0)}  # Mondays
    assert moments[-1].date() == AS_OF + dt.timedelta(days=1)  # the export after the as-of week


@pytest.mark.slow
def test_its_own_headers_codes_and_mapping(riverside: dict[str, object]) -> None:
    out: Path = riverside["out"]  # type: ignore[assignment]
    mapping = yaml.safe_load((out / "mapping.yaml").read_text(encoding="utf-8"))
    repairs = mapping["extracts"]["repairs"]
    assert (
        repairs["columns"]["job_ref"] == "Works Order" and repairs["values"]["priority"]["EMG"] == "emergency"
    )
    first = pl.read_csv(sorted((out / "repairs").glob("*.csv"))[-1], infer_schema_length=0)
    assert first.columns == list(HEADERS["repairs"].values())
    assert set(first["Priority Code"]) <= set(repairs["values"]["priority"])
    # tenancy numbers missing on some tenants' jobs; dates as 29-Jun-2025 in the ASB extract
    jobs = pl.concat([pl.read_csv(f, infer_schema_length=0) for f in (out / "repairs").glob("*.csv")])
    blank = jobs.filter(pl.col("Tenancy No").is_null() & ~pl.col("Priority Code").is_in(["VOID"]))
    assert 0.03 < blank.height / jobs.height < 0.3
    asb = pl.read_csv(sorted((out / "asb").glob("*.csv"))[-1], infer_schema_length=0)
    assert asb["Date Opened"].str.contains(r"^\d{2}-[A-Z][a-z]{2}-\d{4}$").all()
    assert set(asb["Party Role"]) <= {"COMP", "PERP", "VICT", "WITN"}


@pytest.mark.slow
def test_answer_key_has_the_standard_format_and_names_weak_corroborated_patterns(
    riverside: dict[str, object],
) -> None:
    key: pl.DataFrame = riverside["key"]  # type: ignore[assignment]
    out: Path = riverside["out"]  # type: ignore[assignment]
    assert tuple(key.columns) == KEY_COLUMNS
    assert riverside["summary"].key_path == default_key_path(out)  # type: ignore[attr-defined]
    patterns = key.filter(pl.col("kind") == "da_pattern")
    assert set(patterns["strength"]) == {"strong", "medium", "weak_corroborated"}
    weak = patterns.filter(pl.col("strength") == "weak_corroborated")
    assert weak["notes"].str.starts_with("2 occasions").all()
    assert {"lookalike_lockout", "lookalike_complainant", "known_case"} <= set(key["kind"])


def test_the_text_catalogue_is_data_and_every_red_flag_kind_has_wording() -> None:
    catalogue = load_catalogue()
    flagged = [j for j in catalogue.jobs.values() if j.flags]
    assert {f for j in flagged for f in j.flags} == {
        "lock_change",
        "door_damage",
        "window_damage",
        "lost_keys",
        "forced_entry",
    }
    assert all(j.texts for j in catalogue.jobs.values())
    assert 0 < catalogue.slip_rate < 0.5


@pytest.mark.slow
def test_it_loads_through_its_mapping_and_weak_corroborated_patterns_become_eligible(
    riverside: dict[str, object], tmp_path: Path
) -> None:
    from pipelines.core.settings import load_settings
    from pipelines.ingest.classifier import classifier_from_settings
    from pipelines.ingest.folder import ingest_folder
    from pipelines.ingest.mapping import load_mapping
    from pipelines.scoring.week import score_week
    from pipelines.warehouse.connection import open_warehouse

    settings = load_settings()
    summary = riverside["summary"]
    with open_warehouse(tmp_path / "rv.duckdb", allow_unencrypted=True) as wh:
        loaded = ingest_folder(
            wh,
            riverside["out"],  # type: ignore[arg-type]
            load_mapping(summary.mapping_path),  # type: ignore[attr-defined]
            classify=classifier_from_settings(settings.classification),
            today=AS_OF + dt.timedelta(days=1),
        )
        assert loaded.files_failed == 0 and loaded.rows_quarantined == 0
        week = score_week(wh.con, settings, AS_OF)
    key: pl.DataFrame = riverside["key"]  # type: ignore[assignment]
    weak = set(
        key.filter((pl.col("strength") == "weak_corroborated") & pl.col("live_at_as_of"))["tenancy_ref"]
    )
    eligible = set(week.features.filter(pl.col("is_eligible"))["tenancy_ref"])
    assert weak and len(weak & eligible) >= 0.5 * len(weak)
    known = set(key.filter(pl.col("kind") == "known_case")["tenancy_ref"])
    assert not known & (set(week.listed["tenancy_ref"]) | set(week.carried["tenancy_ref"]))


def test_redflags_synth_style_riverside_writes_it_and_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli.main import main

    out = tmp_path / "rv"
    argv = [
        "synth",
        "--style",
        "riverside",
        "--out",
        str(out),
        "--homes",
        "200",
        "--years",
        "2",
        "--seed",
        "4",
    ]
    assert main([*argv, "--as-of", "2025-06-29", "--dated-names"]) == 0
    said = capsys.readouterr().out
    assert said.startswith("Riverside Homes (synthetic): 200 homes, 2 years to 2025-06-29 (seed 4)\n")
    assert f"Answer key:           {tmp_path / 'rv_answer_key.csv'} (" in said
    assert (out / "mapping.yaml").is_file() and (tmp_path / "rv_answer_key.csv").is_file()
    # --dated-names reaches the writer: every export's name holds its week-ending date.
    exports = [p for p in out.rglob("*.csv")]
    assert exports and all(DATE_IN_NAME.search(p.name) for p in exports)
    # The standard style's --undated is not the riverside's switch: without --dated-names names carry no date.
    assert main([*argv, "--as-of", "2025-06-29"]) == 0
    assert not any(DATE_IN_NAME.search(p.name) for p in out.rglob("*.csv"))
