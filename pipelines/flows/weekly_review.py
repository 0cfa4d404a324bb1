"""Flow ``weekly-review``: ingest, validate, classify, build features, score, publish — and ``redflags run``.

The flow body only wires steps together; each step is a plain function that tests call directly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipelines.core.errors import ConfigError, retry_io
from pipelines.core.progress import get_progress
from pipelines.core.settings import Settings, load_settings, resolve_conf_file
from pipelines.core.weeks import last_sunday
from pipelines.ingest.classifier import classifier_from_settings
from pipelines.ingest.folder import ingest_folder
from pipelines.ingest.knowledge import extract_knowledge, knowledge_lines, list_warnings
from pipelines.ingest.mapping import load_mapping
from pipelines.publishing.review_list import publish_list
from pipelines.scoring.week import known_by, record_week_features, score_week
from pipelines.warehouse.audit import record_list_published
from pipelines.warehouse.connection import Warehouse, open_warehouse
from pipelines.warehouse.runs import recorded_run

log = logging.getLogger(__name__)

KIND = "weekly-review"


@dataclass(frozen=True)
class WeeklyResult:
    as_of: dt.date
    list_id: str
    folder: str
    listed: int
    carried: dict[str, int]
    suppressed: dict[str, int]
    files_loaded: int
    files_failed: int
    rows_quarantined: int
    failures: list[str]
    # per extract: newest extract date used, files and rows left out as not yet known
    knowledge: list[str] = field(default_factory=list)
    # one sentence per reason the list is empty or stale (pipelines/ingest/knowledge.py)
    warnings: list[str] = field(default_factory=list)
    # of the carried households, those already waiting a week or more before this one
    waiting_weeks_2plus: int = 0
    # whether the outcome-trained re-ranker ordered the list and, if not, why (one sentence)
    learning: str = ""
    # data files in the extracts folder that no extract of the mapping matched (not loaded), relative names
    unmatched: list[str] = field(default_factory=list)


def rules_version(settings: Settings) -> str:
    """Package version plus a hash of the vocabulary file: what classified the repairs."""
    try:
        package = version("repairs-red-flags")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        package = "0+unknown"
    vocab = resolve_conf_file(settings.classification.vocabulary_file)
    digest = hashlib.sha256(vocab.read_bytes()).hexdigest()[:8] if vocab.exists() else "none"
    return f"{package}+vocab.{digest}"


def _ingest(wh: Warehouse, extracts: Path, mapping_path: Path, settings: Settings, out_dir: Path) -> Any:

    mapping = load_mapping(mapping_path)
    return ingest_folder(
        wh,
        extracts,
        mapping,
        classify=classifier_from_settings(settings.classification),
        progress=get_progress(),
        out_dir=out_dir,
    )


def _score(wh: Warehouse, settings: Settings, as_of: dt.date) -> Any:

    with get_progress().stage(f"Scoring households as known on {as_of:%d %b %Y}"):
        # The weekly run keeps rent trajectories between weeks and redoes only what new rows change (the same
        # list as in full: pipelines/scoring/incremental.py).
        return score_week(wh.con, settings, as_of, incremental=True, cipher=wh.cipher)


def _publish(wh: Warehouse, week: Any, settings: Settings, as_of: dt.date, out_dir: Path, run_id: int) -> Any:

    list_id = f"{as_of.isoformat()}-r{run_id}"
    labels = {name: team.label for name, team in settings.teams.items()}
    capacity = {name: team.capacity_per_week for name, team in settings.teams.items()}
    rules = rules_version(settings)
    carried_counts = (
        {t: int(n) for t, n in week.carried.group_by("team").len().iter_rows()} if week.carried.height else {}
    )
    about = [
        f"Week ending {as_of:%d %B %Y}; list {list_id}; settings {settings.version} ({settings.fingerprint()}); "
        f"rules {rules}.",
        "Capacity per team: " + ", ".join(f"{labels[t]} {capacity[t]}" for t in labels) + ".",
        "Above the threshold but beyond capacity (carried to next week): "
        + (", ".join(f"{labels.get(t, t)} {n}" for t, n in carried_counts.items()) or "none")
        + ".",
        "Not listed because already known or recently reviewed: "
        + (", ".join(f"{k} {v}" for k, v in sorted(week.suppressed.items())) or "none")
        + ".",
    ]
    with get_progress().stage("Publishing the review lists"):
        published = publish_list(
            wh,
            week,
            as_of=as_of,
            out_dir=out_dir,
            list_id=list_id,
            team_labels=labels,
            about_lines=about,
            outcome_values=settings.outcomes.values,
        )
    record_list_published(
        wh.con,
        list_id=list_id,
        as_of=as_of,
        listed=week.listed,
        carried=week.carried,
        config_version=settings.version,
        config_fingerprint=settings.fingerprint(),
        rules_version=rules,
        thresholds={"min_points": settings.scoring.min_points, "capacity_per_week": capacity},
        actor="redflags run",
        cipher=wh.cipher,
    )
    record_week_features(wh.con, list_id, week, cipher=wh.cipher)
    return published


# I/O steps retry (a share drive hiccup, a locked file), bad input does not (retry_io); files already loaded
# are skipped on a retry.
ingest_task = task(
    name="ingest-new-files",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_io,
    cache_policy=NO_CACHE,
)(_ingest)
score_task = task(name="score-households", cache_policy=NO_CACHE)(_score)
publish_task = task(
    name="publish-review-list",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_io,
    cache_policy=NO_CACHE,
)(_publish)


@flow(name="weekly-review", validate_parameters=False)
def weekly_review(
    extracts: str | Path | None,
    mapping: str | Path | None,
    as_of: dt.date | None,
    db: str | Path,
    out: str | Path,
    config: str | Path | None = None,
    allow_unencrypted: bool = False,
) -> WeeklyResult:
    as_of = as_of or last_sunday(dt.date.today())  # a scheduled run scores the week that ended last Sunday
    settings = load_settings(config)
    with open_warehouse(db, allow_unencrypted=allow_unencrypted) as wh:
        return weekly_steps(
            wh,
            settings,
            as_of,
            Path(extracts) if extracts and mapping else None,
            Path(mapping) if extracts and mapping else None,
            Path(out),
        )


def weekly_steps(
    wh: Warehouse,
    settings: Settings,
    as_of: dt.date,
    extracts: Path | None,
    mapping: Path | None,
    out: Path,
) -> WeeklyResult:
    """The weekly review's steps on an open warehouse, recorded as one ``runs`` row: ingest what is new (unless
    ``extracts`` is None), score the week, publish the list, and say what the list knew and why it may be empty
    or stale. Shared by flow ``weekly-review`` and each landlord of ``many-landlords``."""
    with recorded_run(wh.con, KIND, as_of) as run:
        ingested = (
            ingest_task(wh, extracts, mapping, settings, out)
            if extracts is not None and mapping is not None
            else None
        )
        week = score_task(wh, settings, as_of)
        published = publish_task(wh, week, settings, as_of, out, run.run_id)
        result = _with_knowledge(wh, settings, weekly_result(as_of, published, week, ingested), week)
        run.status = "failed-files" if result.files_failed else "ok"
        run.counts = {
            "files_loaded": result.files_loaded,
            "files_failed": result.files_failed,
            "rows_quarantined": result.rows_quarantined,
            "warnings": result.warnings or None,
            "detail": result.learning or None,  # the re-ranker's sentence: the report shows it
        }
    return result


def _with_knowledge(wh: Warehouse, settings: Settings, result: WeeklyResult, week: Any) -> WeeklyResult:
    """The result with what the list knew per extract and its warnings (empty or stale list)."""

    by = known_by(settings, result.as_of)
    knowledge = extract_knowledge(wh.con, by)
    warnings = list_warnings(
        knowledge,
        as_of=result.as_of,
        known_by=by,
        listed=result.listed,
        carried=sum(result.carried.values()),
        features=week.features,
        suppressed=result.suppressed,
        long_window_days=settings.features.long_window_days,
        stale_after_days=settings.knowledge.stale_after_days,
    )
    if result.unmatched:
        warnings.append(
            f"{len(result.unmatched)} file(s) in the extracts folder match no extract of the mapping and were "
            "not loaded (the run's output names them)."
        )
    return replace(result, knowledge=knowledge_lines(knowledge), warnings=warnings)


def weekly_result(as_of: dt.date, published: Any, week: Any, ingested: Any) -> WeeklyResult:
    return WeeklyResult(
        as_of=as_of,
        list_id=published.list_id,
        folder=str(published.folder),
        listed=published.listed,
        carried=dict(published.carried),
        suppressed=dict(week.suppressed),
        files_loaded=getattr(ingested, "files_loaded", 0),
        files_failed=getattr(ingested, "files_failed", 0),
        rows_quarantined=getattr(ingested, "rows_quarantined", 0),
        failures=list(getattr(ingested, "failures", [])),
        unmatched=list(getattr(ingested, "unmatched", [])),
        waiting_weeks_2plus=int((week.carried["weeks_waiting"] >= 2).sum()) if week.carried.height else 0,
        learning=week.learning.sentence if getattr(week, "learning", None) is not None else "",
    )


def quiet_prefect() -> Any:
    """Prefect settings for a command-line run: no flow-run heartbeat (saves ~1 s per flow call)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


def preflight(extracts: Path | None, mapping: Path | None, config: str | None, db: Path, allow: bool) -> None:
    """Every problem a person can fix, found before Prefect starts so it is one sentence and nothing else: a
    missing folder, mapping or setting, a bad mapping, and a database that will not open (no key, a wrong
    key, another process holding it)."""

    check_inputs(extracts, mapping, config, parse_mapping=False)
    open_warehouse(db, allow_unencrypted=allow).close()  # a missing or wrong key is said before the mapping
    if mapping is not None:
        load_mapping(mapping)


def check_inputs(
    extracts: Path | None, mapping: Path | None, config: str | Path | None, *, parse_mapping: bool = True
) -> Settings:
    """The settings, after checking what a run reads before it opens its database: the extracts folder and the
    mapping file exist and (``parse_mapping``) the mapping is valid (``ConfigError``/``MappingError``, one
    sentence each)."""
    if extracts is not None and not extracts.is_dir():
        raise ConfigError(f"the extracts folder {extracts} does not exist")
    if mapping is not None and not mapping.is_file():
        raise ConfigError(f"the mapping file {mapping} does not exist")
    settings = load_settings(config)
    if mapping is not None and parse_mapping:
        load_mapping(mapping)
    return settings
