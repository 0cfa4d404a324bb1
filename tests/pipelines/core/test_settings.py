from pathlib import Path

import pytest

from pipelines.core.settings import SettingsError, load_settings


def test_defaults_load_and_have_both_teams() -> None:
    settings = load_settings()
    assert set(settings.teams) == {"repairs_admin", "tst"}
    assert settings.suppression.default_live_months == 12


def test_override_is_deep_merged(tmp_path: Path) -> None:
    override = tmp_path / "landlord.yaml"
    override.write_text("teams:\n  tst:\n    label: TST\n    capacity_per_week: 4\n")
    settings = load_settings(override)
    assert settings.teams["tst"].capacity_per_week == 4
    assert (
        settings.teams["repairs_admin"].capacity_per_week
        == load_settings().teams["repairs_admin"].capacity_per_week
    )


def test_a_typo_fails_at_start_naming_the_setting(tmp_path: Path) -> None:
    override = tmp_path / "typo.yaml"
    override.write_text("suppression:\n  default_live_month: 6\n")
    with pytest.raises(SettingsError, match=r"suppression\.default_live_month"):
        load_settings(override)


def test_out_of_bounds_value_is_refused(tmp_path: Path) -> None:
    override = tmp_path / "bounds.yaml"
    override.write_text("suppression:\n  default_live_months: 0\n")
    with pytest.raises(SettingsError, match="default_live_months"):
        load_settings(override)


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    override = tmp_path / "bad.yaml"
    override.write_text("teams: [\n")
    with pytest.raises(SettingsError, match="not valid YAML at line"):
        load_settings(override)


def test_fingerprint_changes_with_a_setting(tmp_path: Path) -> None:
    override = tmp_path / "o.yaml"
    override.write_text("scoring:\n  min_points: 9\n")
    assert load_settings(override).fingerprint() != load_settings().fingerprint()


def test_outcome_values_must_fit_the_sheets_dropdown(tmp_path: Path) -> None:
    long = [f"outcome_number_{i:02d}_with_a_long_name" for i in range(9)]  # 9 x 33 characters, with commas
    path = tmp_path / "o.yaml"
    path.write_text(
        "outcomes:\n  values: [" + ", ".join(long) + "]\n  positive_values: []\n  negative_values: []\n"
    )
    with pytest.raises(SettingsError, match="255 characters"):
        load_settings(path)
    path.write_text(
        "outcomes:\n  values: [" + ", ".join(long[:7]) + "]\n  positive_values: []\n  negative_values: []\n"
    )
    assert len(load_settings(path).outcomes.values) == 7


def test_the_settings_know_the_same_extracts_as_the_mapping() -> None:
    from pipelines.core.settings import EXTRACT_NAMES
    from pipelines.ingest.mapping import CANONICAL

    assert tuple(CANONICAL) == EXTRACT_NAMES


def test_a_programme_scope_names_known_categories(tmp_path: Path) -> None:
    assert load_settings().features.planned_programme_scope["window"] == ("window_damage",)
    cfg = tmp_path / "s.yaml"
    cfg.write_text("features:\n  planned_programme_scope:\n    window: [windows_broken]\n")
    with pytest.raises(SettingsError, match="windows_broken"):
        load_settings(cfg)
