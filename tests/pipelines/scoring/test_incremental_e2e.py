"""Eight weeks of a synthetic landlord both ways: the weekly run with kept rent trajectories and repairs
(incremental) and a full recomputation publish byte-identical lists every week (issue 23), with late restated rent
and repairs files and a settings change on the way; the stg_repairs rows are equal too. Both generator styles.
Slow: sixteen ingests and sixteen published weeks per style.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from pipelines.core.settings import Settings, load_settings
from pipelines.flows.weekly_review import _publish
from pipelines.ingest.classifier import classifier_from_settings
from pipelines.ingest.folder import ingest_folder
from pipelines.ingest.mapping import load_mapping
from pipelines.scoring.week import score_week
from pipelines.synth.riverside import write_riverside
from pipelines.synth.standard import write_landlord
from pipelines.warehouse.connection import open_warehouse, query

pytestmark = pytest.mark.slow

END = dt.date(2025, 6, 29)
WEEKS = [END - dt.timedelta(days=7 * n) for n in range(7, -1, -1)]
RESTATED_IN = 3  # the week a restated rent file for two weeks back arrives
REPAIRS_RESTATED_IN = 4  # the week a restated repairs file for three weeks back arrives
SETTINGS_FROM = 5  # the week the arrears settings change
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _file_date(path: Path) -> dt.date:
    found = _DATE.search(path.name)
    assert found, path
    return dt.date.fromisoformat(found.group(0))


def _arrive(source: Path, folder: Path, known_by: dt.date) -> None:
    """Link into ``folder`` every export of ``source`` dated by ``known_by`` (what has arrived by then)."""
    for path in source.rglob("*.csv"):
        target = folder / path.relative_to(source)
        if _file_date(path) <= known_by and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)


def _restate(
    folder: Path, extract: str, dated: dt.date, words: tuple[str, ...], value: Callable[[int], str]
) -> int:
    """A late file restating the ``extract`` file dated ``dated``: a third of its rows with the first column
    whose header holds one of ``words`` changed to ``value(n)``, under a new name with the same date (already known
    when it arrives). Returns how many rows it restates."""
    [original] = [p for p in (folder / extract).iterdir() if _file_date(p) == dated]
    with original.open(encoding="latin-1", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1::3]
    column = next(i for i, name in enumerate(header) if any(w in name.lower() for w in words))
    for n, row in enumerate(body):
        row[column] = value(n)
    late = original.with_name(original.name.replace(dated.isoformat(), f"{dated.isoformat()}-restated"))
    with late.open("w", encoding="latin-1", newline="") as handle:
        csv.writer(handle).writerows([header, *body])
    return len(body)


def _changed(settings: Settings) -> Settings:
    data = settings.model_dump()
    data["features"]["arrears_clear_weeks"] = 4
    data["features"]["arrears_clear_max_gbp"] = 50.0
    data["features"]["arrears_rise_min_gbp"] = 100.0
    return Settings.model_validate(data)


def _published(out: Path, as_of: dt.date) -> dict[str, bytes]:
    folder = out / as_of.isoformat()
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.csv"))}


class _Listen(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.mark.parametrize("style", ["standard", "riverside"])
def test_eight_incremental_weeks_publish_what_a_full_recomputation_does(tmp_path: Path, style: str) -> None:
    source = tmp_path / "exports"
    if style == "standard":
        write_landlord(source, homes=500, years=2, seed=23, as_of=END, rent_years=1)
    else:
        write_riverside(source, homes=500, years=2, seed=23, as_of=END, dated=True)
    arrived = tmp_path / "arrived"
    arrived.mkdir()
    (arrived / "mapping.yaml").write_bytes((source / "mapping.yaml").read_bytes())
    mapping = load_mapping(arrived / "mapping.yaml")
    base = load_settings()
    classify = classifier_from_settings(base.classification)
    ways = {"incremental": True, "full": False}
    whs = {way: open_warehouse(tmp_path / f"{way}.duckdb", allow_unencrypted=True) for way in ways}
    # a handler of the module's own logger sees each of its records once, whatever handlers and levels earlier
    # tests in this process left on the root or "pipelines" loggers (caplog's root handler saw them twice)
    kept: list[str] = []
    seen = _Listen()
    logger = logging.getLogger("pipelines.scoring.incremental")
    level, disabled = logger.level, logger.disabled
    logger.setLevel(logging.INFO)
    logger.disabled = False
    logger.addHandler(seen)
    try:
        for n, as_of in enumerate(WEEKS):
            settings = base if n < SETTINGS_FROM else _changed(base)
            _arrive(source, arrived, as_of + dt.timedelta(days=settings.knowledge.publication_lag_days))
            if n == RESTATED_IN:
                assert (
                    _restate(arrived, "rent", WEEKS[n - 2], ("balance",), lambda i: f"{350 + 7 * i}.25") > 20
                )
            if (
                n == REPAIRS_RESTATED_IN
            ):  # new versions of old jobs: another cost (standard "cost_gbp", riverside
                # "Order Value")
                assert (
                    _restate(arrived, "repairs", WEEKS[n - 3], ("cost", "value"), lambda i: f"{90 + i}.50")
                    > 5
                )
            published = {}
            features = {}
            repairs = {}
            for way, incremental in ways.items():
                wh = whs[way]
                ingest_folder(wh, arrived, mapping, classify=classify, today=as_of + dt.timedelta(days=1))
                seen.messages.clear()
                week = score_week(wh.con, settings, as_of, incremental=incremental)
                if incremental:
                    kept += seen.messages
                _publish(wh, week, settings, as_of, tmp_path / f"out-{way}", run_id=100 + n)
                published[way] = _published(tmp_path / f"out-{way}", as_of)
                features[way] = week.features
                # a file by its content, not its number (each warehouse numbers files in its own load order:
                # extracts load side by side)
                repairs[way] = query(
                    wh.con,
                    "select r.* replace (f.sha256 as file_id) from stg_repairs as r"
                    " inner join loaded_files as f using (file_id) order by job_ref",
                )
            assert published["incremental"] == published["full"], f"week {n} ({as_of})"
            # every job's row as the models downstream read it: exact, blobs and all
            assert repairs["incremental"].equals(repairs["full"]), f"stg_repairs, week {n} ({as_of})"
            assert repairs["full"].height > 100
            assert published["full"]["review_list.csv"].count(b"\n") > 1, "a list with households on it"
            # every feature of every household: exact, but for floats summed in parallel (DuckDB adds a group's
            # values in whatever order its threads finish, on either path), to 12 significant digits
            assert_frame_equal(
                features["incremental"], features["full"], check_exact=False, rel_tol=1e-12, abs_tol=0
            )
    finally:
        logger.removeHandler(seen)
        logger.setLevel(level)
        logger.disabled = disabled
        for wh in whs.values():
            wh.close()
    # the kept rows were used: recomputed in full only the first week and when the settings changed
    for model in ("rent trajectories", "repairs"):
        said = [message for message in kept if message.startswith(f"{model}:")]
        full_weeks = [i for i, message in enumerate(said) if message.endswith("full")]
        assert len(said) == len(WEEKS) and full_weeks == [0, SETTINGS_FROM], model
