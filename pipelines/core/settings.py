"""The one configuration file: every tunable, validated at start-up.

Defaults live in ``conf/settings.yaml``; a landlord's ``--config FILE`` overrides any part of them (deep merge).
Models are frozen and forbid unknown keys, so a typo fails when the command starts, not mid-run.
Config is read here, at the edge, and plain values are passed down to ``features/`` and ``models/``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.core.errors import ConfigError
from pipelines.core.paths import conf_dir


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClassificationSettings(_Section):
    vocabulary_file: str = "vocabulary.yaml"
    # The landlord's own schedule-of-rates codes -> red-flag categories; a code wins over the text.
    # An empty list says "this code is never a red flag", whatever its text.
    sor_codes: dict[str, list[str]] = Field(default_factory=dict)


RED_FLAG_CATEGORIES = ("lock_change", "door_damage", "window_damage", "lost_keys", "forced_entry")
SIGNAL_KINDS = ("repairs", "asb", "arrears", "recharges")


def _known_categories(values: tuple[str, ...]) -> tuple[str, ...]:
    unknown = sorted(set(values) - set(RED_FLAG_CATEGORIES))
    if unknown:
        raise ValueError(
            f"unknown red-flag categories {unknown}; expected some of {list(RED_FLAG_CATEGORIES)}"
        )
    return values


class FeatureSettings(_Section):
    # Windows over which red-flag repairs are counted, ending on the as-of date (see docs/scoring.md).
    short_window_days: int = Field(90, ge=7, le=730)
    recent_window_days: int = Field(180, ge=7, le=730)
    long_window_days: int = Field(365, ge=7, le=1095)
    recency_half_life_days: float = Field(90.0, gt=0, le=3650)
    burst_window_days: int = Field(28, ge=1, le=365)
    burst_min_repairs: int = Field(3, ge=2, le=50)
    tenancy_start_grace_days: int = Field(28, ge=0, le=365)
    block_cluster_window_days: int = Field(14, ge=1, le=120)
    block_cluster_min_households: int = Field(3, ge=2, le=100)
    block_cluster_categories: tuple[str, ...] = ("door_damage", "window_damage", "forced_entry")
    planned_programme_categories: tuple[str, ...] = ("door_damage", "window_damage", "lock_change")
    # What a programme renews, read from its name (a word starting with the term): a door programme's jobs are
    # doors and locks, a window programme's windows. A name with none of the terms covers every planned category.
    planned_programme_scope: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {
            "door": ("door_damage", "lock_change"),
            "window": ("window_damage",),
            "glaz": ("window_damage",),
            "lock": ("lock_change",),
            "cylinder": ("lock_change",),
        }
    )
    police_ref_incident_days: int = Field(14, ge=0, le=90)
    police_ref_max_discounted_incidents: int = Field(1, ge=0, le=10)
    asb_lens_terms: tuple[str, ...] = ()
    asb_lens_roles: tuple[str, ...] = ("subject", "victim", "complainant")
    damage_recharge_terms: tuple[str, ...] = ()
    arrears_clear_weeks: int = Field(8, ge=1, le=104)
    arrears_clear_max_gbp: float = Field(10.0, ge=0, le=1000)
    arrears_rise_min_gbp: float = Field(200.0, ge=0)
    economic_abuse_window_days: int = Field(120, ge=7, le=730)
    peer_prior_home_years: float = Field(50.0, ge=0, le=100_000)
    # Counted red flags within this many days of the previous one are one incident (the unit of evidence).
    incident_gap_days: int = Field(2, ge=0, le=14)
    # Independent records within this many days of the red flags corroborate a single incident.
    corroboration_window_days: int = Field(120, ge=0, le=730)
    corroborating_asb_roles: tuple[str, ...] = ("subject", "victim")

    @field_validator("block_cluster_categories", "planned_programme_categories")
    @classmethod
    def _categories(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return _known_categories(values)

    @field_validator("planned_programme_scope")
    @classmethod
    def _scope_categories(cls, values: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return {
            term.strip().lower(): _known_categories(cats) for term, cats in values.items() if term.strip()
        }

    @model_validator(mode="after")
    def _windows_nest(self) -> FeatureSettings:
        if not self.short_window_days <= self.recent_window_days <= self.long_window_days:
            raise ValueError("windows must nest: short_window_days <= recent_window_days <= long_window_days")
        return self


class SuppressionSettings(_Section):
    markers: tuple[str, ...] = ("domestic abuse", "marac", "sanctuary scheme")
    default_live_months: int = Field(12, ge=1, le=120)
    # Latest reviewers' outcomes that keep a household off the list until a new red flag is reported.
    suppressing_outcomes: tuple[str, ...] = ("no_concern", "already_known")


class ScoringWeights(_Section):
    """Points per counted red-flag repair (by category and location) and per other signal."""

    lock_change_external: float = Field(2.0, ge=0, le=50)
    lock_change_internal: float = Field(2.5, ge=0, le=50)
    lock_change_unknown: float = Field(1.5, ge=0, le=50)
    door_damage_external: float = Field(1.5, ge=0, le=50)
    door_damage_internal: float = Field(2.0, ge=0, le=50)
    door_damage_unknown: float = Field(1.5, ge=0, le=50)
    window_damage: float = Field(1.5, ge=0, le=50)
    lost_keys: float = Field(1.0, ge=0, le=50)
    forced_entry: float = Field(2.0, ge=0, le=50)
    burst: float = Field(2.0, ge=0, le=50)
    extra_category: float = Field(1.0, ge=0, le=50)
    incident_extra_category: float = Field(0.5, ge=0, le=50)
    repeat_incident: float = Field(0.75, ge=0, le=50)
    damage_recharge: float = Field(1.0, ge=0, le=50)
    asb_lens: float = Field(1.5, ge=0, le=50)
    arrears_near_pattern: float = Field(2.0, ge=0, le=50)
    corroborating_signal: float = Field(3.0, ge=0, le=50)


class ScoringSettings(_Section):
    weights: ScoringWeights = ScoringWeights()
    max_counted_per_component: int = Field(6, ge=1, le=100)
    max_counted_other_signals: int = Field(3, ge=1, le=100)
    min_points: float = Field(0.0, ge=0)
    min_red_flag_repairs: int = Field(1, ge=0, le=50)
    # Eligibility (docs/scoring.md): red flags on min_incidents separate occasions in the counting period with at
    # least min_corroborating_signals corroborating signals in it, or on min_incidents_alone occasions alone.
    min_incidents: int = Field(2, ge=1, le=50)
    min_corroborating_signals: int = Field(1, ge=1, le=3)
    min_incidents_alone: int = Field(3, ge=1, le=50)
    surprise_weight: float = Field(1.0, ge=0)
    surprise_cap: float = Field(6.0, gt=0, le=50)
    anomaly_weight: float = Field(1.0, ge=0)
    anomaly_trees: int = Field(200, ge=10, le=5000)
    anomaly_seed: int = 0


class TeamSettings(_Section):
    label: str
    capacity_per_week: int = Field(ge=0, le=10_000)


class RoutingSettings(_Section):
    # A household with repairs red flags plus at least this many other signal kinds (ASB, arrears, recharges)
    # goes to the Tenancy Support Team rather than to repairs administrators.
    tst_min_other_signals: int = Field(2, ge=0, le=3)
    complex_case_min_signals: int = Field(3, ge=1, le=4)
    tst_team: str = "tst"
    default_team: str = "repairs_admin"
    # Room left on the default team's list takes the households that did not fit another team's capacity.
    overflow_to_default_team: bool = True


class OutcomeSettings(_Section):
    values: tuple[str, ...] = ("no_concern", "already_known", "new_concern_referred", "unable_to_assess")
    # How the backtest reads outcomes: positive and negative labels; any other value is left out of precision.
    positive_values: tuple[str, ...] = ("new_concern_referred",)
    negative_values: tuple[str, ...] = ("no_concern",)
    review_within_working_days: int = Field(2, ge=1, le=20)
    learning_enabled: bool = False
    learning_min_outcomes: int = Field(200, ge=20)
    # The re-ranker (models/reranker.py): points per unit of (chance of referral - referral rate), and what counts
    # as a household "like" the reviewed ones (fewer similar reviewed households: rules' order, not extrapolated).
    learning_weight: float = Field(8.0, ge=0.0, le=50.0)
    learning_neighbours: int = Field(15, ge=3, le=200)
    learning_min_similar: int = Field(1, ge=1, le=200)
    learning_similar_distance: float = Field(1.0, gt=0.0, le=10.0)
    # the adjustment times n / (n + shrinkage), n similar reviewed households: little evidence, a small move
    learning_shrinkage: float = Field(2.0, ge=0.0, le=100.0)

    @model_validator(mode="after")
    def _labels_are_outcomes(self) -> OutcomeSettings:
        unknown = sorted(set(self.positive_values + self.negative_values) - set(self.values))
        if unknown:
            raise ValueError(f"positive/negative outcome values not in values: {', '.join(unknown)}")
        if set(self.positive_values) & set(self.negative_values):
            raise ValueError("an outcome value cannot be both positive and negative")
        if len(",".join(self.values)) > 255:  # the review sheet offers them as an Excel dropdown list
            raise ValueError("the outcome values together must fit in 255 characters (Excel's dropdown list)")
        return self


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


# The contract's extracts (docs/contract.md); pipelines.ingest.mapping defines one canonical extract per name
# (tests/pipelines/core/test_settings.py checks the two agree).
EXTRACT_NAMES = (
    "repairs",
    "recharges",
    "asb",
    "rent",
    "tenancies",
    "properties",
    "known_cases",
    "planned_works",
)


class KnowledgeSettings(_Section):
    publication_lag_days: int = Field(1, ge=0, le=14)
    stale_after_days: dict[str, int] = Field(default_factory=lambda: {"repairs": 14, "rent": 14})

    @field_validator("stale_after_days")
    @classmethod
    def _stale_extracts(cls, v: dict[str, int]) -> dict[str, int]:
        for name, days in v.items():
            if name not in EXTRACT_NAMES:
                raise ValueError(f"{name!r} is not an extract ({', '.join(EXTRACT_NAMES)})")
            if not 1 <= days <= 3650:
                raise ValueError(f"{name}: {days} days is not between 1 and 3650")
        return v


class NotificationSettings(_Section):
    """Who hears when a scheduled weekly run fails. Secrets never live here: the SMTP password is read from
    REDFLAGS_SMTP_PASSWORD and the webhook address (it carries a token) from REDFLAGS_WEBHOOK_URL."""

    email_to: tuple[str, ...] = ()
    email_from: str = "redflags@localhost"
    smtp_host: str = ""
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_username: str = ""
    webhook: Literal["none", "teams", "generic"] = "none"
    timeout_seconds: float = Field(15.0, gt=0, le=120)

    @model_validator(mode="after")
    def _email_needs_a_server(self) -> NotificationSettings:
        if self.email_to and not self.smtp_host:
            raise ValueError("email_to is set but smtp_host is not: say which mail server sends the e-mail")
        bad = [a for a in self.email_to if "@" not in a]
        if bad:
            raise ValueError(f"not an e-mail address: {bad[0]}")
        return self


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
    knowledge: KnowledgeSettings = KnowledgeSettings()
    notifications: NotificationSettings = NotificationSettings()

    @model_validator(mode="after")
    def _routing_teams_exist(self) -> Settings:
        for team in (self.routing.tst_team, self.routing.default_team):
            if team not in self.teams:
                raise ValueError(f"routing names the team {team!r}, which is not under teams")
        return self

    def fingerprint(self) -> str:
        """A short hash of the effective configuration, recorded with every published list."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


class SettingsError(ConfigError):
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
