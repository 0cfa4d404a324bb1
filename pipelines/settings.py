"""The one configuration file: every tunable, validated at start-up.

Defaults live in ``conf/settings.yaml``; a landlord's ``--config FILE`` overrides any part of them (deep merge).
Models are frozen and forbid unknown keys, so a typo fails when the command starts, not mid-run.
Config is read here, at the edge, and plain values are passed down to ``features/`` and ``models/``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipelines.errors import UserError
from pipelines.paths import conf_dir


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClassificationSettings(_Section):
    vocabulary_file: str = "vocabulary.yaml"
    # The landlord's own schedule-of-rates codes -> red-flag categories; a code wins over the text.
    # An empty list says "this code is never a red flag", whatever its text.
    sor_codes: dict[str, list[str]] = Field(default_factory=dict)


class FeatureSettings(_Section):
    windows_days: tuple[int, ...] = (90, 180, 365)
    burst_window_days: int = Field(28, ge=1, le=365)
    burst_min_repairs: int = Field(3, ge=2, le=50)
    tenancy_start_grace_days: int = Field(28, ge=0, le=365)
    block_cluster_window_days: int = Field(14, ge=1, le=120)
    block_cluster_min_households: int = Field(3, ge=2, le=100)
    asb_lens_terms: tuple[str, ...] = ()
    damage_recharge_terms: tuple[str, ...] = ()
    arrears_clear_weeks: int = Field(8, ge=1, le=104)
    arrears_rise_min_gbp: float = Field(200.0, ge=0)
    economic_abuse_window_days: int = Field(120, ge=7, le=730)


class SuppressionSettings(_Section):
    markers: tuple[str, ...] = ("domestic abuse", "marac", "sanctuary scheme")
    default_live_months: int = Field(12, ge=1, le=120)


class ScoringSettings(_Section):
    weights: dict[str, float] = Field(default_factory=dict)
    min_points: float = Field(4.0, ge=0)
    surprise_weight: float = Field(1.0, ge=0)
    anomaly_weight: float = Field(1.0, ge=0)
    anomaly_seed: int = 0


class TeamSettings(_Section):
    label: str
    capacity_per_week: int = Field(ge=0, le=10_000)


class RoutingSettings(_Section):
    # A household with repairs red flags plus at least this many other signal kinds (ASB, arrears, recharges)
    # goes to the Tenancy Support Team rather than to repairs administrators.
    tst_min_other_signals: int = Field(2, ge=0, le=3)
    complex_case_min_signals: int = Field(3, ge=1, le=4)


class OutcomeSettings(_Section):
    values: tuple[str, ...] = ("no_concern", "already_known", "new_concern_referred", "unable_to_assess")
    review_within_working_days: int = Field(2, ge=1, le=20)
    learning_enabled: bool = False
    learning_min_outcomes: int = Field(200, ge=20)


class RetentionSettings(_Section):
    free_text_days: int = Field(730, ge=30)
    rent_snapshots_days: int = Field(1095, ge=30)
    published_lists_days: int = Field(2190, ge=30)
    outcomes_days: int = Field(2190, ge=30)


class MonitoringSettings(_Section):
    drift_band_ratio: float = Field(2.0, gt=1.0)
    drift_trailing_weeks: int = Field(8, ge=2, le=52)
    fairness_max_ratio: float = Field(1.25, gt=1.0)
    small_count_threshold: int = Field(5, ge=1, le=20)


class ScheduleSettings(_Section):
    cron: str = "0 6 * * 1"
    timezone: str = "Europe/London"


class Settings(_Section):
    version: str
    classification: ClassificationSettings = ClassificationSettings()
    features: FeatureSettings = FeatureSettings()
    suppression: SuppressionSettings = SuppressionSettings()
    scoring: ScoringSettings = ScoringSettings()
    teams: dict[str, TeamSettings]
    routing: RoutingSettings = RoutingSettings()
    outcomes: OutcomeSettings = OutcomeSettings()
    retention: RetentionSettings = RetentionSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    schedule: ScheduleSettings = ScheduleSettings()

    def fingerprint(self) -> str:
        """A short hash of the effective configuration, recorded with every published list."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


class SettingsError(UserError):
    pass


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SettingsError(f"cannot read the config file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SettingsError(f"the config file {path} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"the config file {path} must be a mapping of settings")
    return data


def load_settings(path: str | Path | None = None) -> Settings:
    """The default settings, overridden by ``path`` if given."""
    data = _read_yaml(conf_dir() / "settings.yaml")
    source = "the default settings"
    if path is not None:
        data = _deep_merge(data, _read_yaml(Path(path)))
        source = str(path)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SettingsError(f"{source}: setting '{where}': {first['msg']}") from None


def resolve_conf_file(name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else conf_dir() / path
