"""The landlords file of ``redflags many``: what it accepts, and one sentence naming the entry for what it does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.core.errors import ConfigError
from pipelines.flows.many_landlords import load_landlords

GOOD = """\
landlords:
  - name: north
    extracts: north/exports
    mapping: north/mapping.yaml
    db: /secure/north/rf.duckdb
    out: north/lists
    key_env: NORTH_DB_KEY
  - name: 7
    extracts: /data/south
    mapping: /data/south/mapping.yaml
    db: /secure/south/rf.duckdb
    out: /secure/south/lists
    key_env: SOUTH_DB_KEY
    config: south.yaml
    allow_unencrypted: true
"""


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "landlords.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_landlords_file_becomes_jobs_with_paths_from_its_folder(tmp_path: Path) -> None:
    north, south = load_landlords(_file(tmp_path, GOOD))

    assert north.name == "north"
    assert north.extracts == tmp_path / "north" / "exports"
    assert north.mapping == tmp_path / "north" / "mapping.yaml"
    assert north.db == Path("/secure/north/rf.duckdb")
    assert north.out == tmp_path / "north" / "lists"
    assert north.key_env == "NORTH_DB_KEY"
    assert north.config is None and north.allow_unencrypted is False
    assert south.name == "7"
    assert south.config == tmp_path / "south.yaml"
    assert south.allow_unencrypted is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("landlords: []\n", "expected a 'landlords:' list"),
        ("- name: north\n", "expected a 'landlords:' list"),
        ("landlords: [north]\n", "landlord 1 is not a mapping"),
        (GOOD.replace("    db: /secure/north/rf.duckdb\n", ""), r"landlord 1 \(north\): 'db' is missing"),
        (
            GOOD.replace("key_env: SOUTH_DB_KEY", "key_env: s3cr3t passphrase!"),
            r"landlord 2 \(7\): key_env must be",
        ),
        (
            GOOD.replace("key_env: NORTH_DB_KEY", "key: NORTH_DB_KEY"),
            r"landlord 1 \(north\): unknown field 'key'",
        ),
        (GOOD.replace("name: 7", "name: north"), "the landlord name 'north' appears twice"),
        ("landlords: [\n", "is not a YAML file"),
    ],
)
def test_a_bad_landlords_file_is_one_sentence_naming_the_entry(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_landlords(path)
    assert str(path) in str(caught.value)


def test_a_missing_landlords_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_landlords(tmp_path / "nowhere.yaml")
