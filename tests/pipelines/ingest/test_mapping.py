from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.ingest.mapping import CANONICAL, MappingError, load_mapping, mapping_from_dict


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "landlord.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_mapping_parses_into_frozen_models(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
landlord: Example District Council
extracts:
  repairs:
    files: "Repairs_Export_*.csv"
    encoding: Windows-1252
    delimiter: ";"
    date_format: "%d/%m/%Y"
    columns: {job_ref: "Job Number", property_ref: "Prop Ref", description: "Job Description"}
    values:
      priority: {E: emergency, " u ": urgent, 1: routine}
  rent:
    files: [rent/*.xlsx, rent/*.parquet]
    sheet: Balances
    header_row: 3
""",
    )
    mapping = load_mapping(path)
    repairs = mapping.extracts["repairs"]
    assert mapping.landlord == "Example District Council"
    assert repairs.files == ("Repairs_Export_*.csv",)
    assert repairs.encoding == "cp1252"
    assert repairs.delimiter == ";"
    # keys are matched case-insensitively on trimmed text; YAML's integer key 1 is the text "1"
    assert repairs.value_map["priority"] == {"e": "emergency", "u": "urgent", "1": "routine"}
    assert mapping.extracts["rent"].header_row == 3
    with pytest.raises(Exception, match="frozen"):
        repairs.encoding = "utf-8"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("extracts", "expected"),
    [
        ({"repair": {"files": "a.csv"}}, "extracts.repair: not a canonical extract"),
        (
            {"repairs": {"files": "a.csv", "columns": {"job_rf": "Job"}}},
            "extracts.repairs.columns.job_rf: not a column",
        ),
        (
            {"repairs": {"files": "a.csv", "encoding": "ebcdic"}},
            "extracts.repairs.encoding: 'ebcdic' is not a supported",
        ),
        (
            {"repairs": {"files": "a.csv", "values": {"priority": {"E": "asap"}}}},
            "values.priority.E: 'asap' is not one of",
        ),
        ({"repairs": {"files": "a.csv", "colums": {}}}, "extracts.repairs.colums: is not a mapping key"),
        ({"repairs": {"columns": {}}}, "extracts.repairs.files: is required"),
        ({"repairs": {"files": "../elsewhere/*.csv"}}, "must be relative to the extracts folder"),
        ({"repairs": {"files": "a.csv", "header_row": 0}}, "extracts.repairs.header_row"),
        ({"repairs": {"files": "a.csv", "columns": {"job_ref": "X", "property_ref": "x"}}}, "mapped twice"),
        (
            {"repairs": {"files": "a.csv", "values": {"cost_gbp": {"a": "b"}}}},
            "value maps apply to text columns",
        ),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path: Path, extracts: dict, expected: str) -> None:
    import yaml

    path = _write(tmp_path, yaml.safe_dump({"extracts": extracts}))
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    assert str(info.value).startswith("landlord.yaml: ")
    assert expected in str(info.value)


def test_unreadable_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="does not exist"):
        load_mapping(tmp_path / "nope.yaml")
    with pytest.raises(MappingError, match=r"landlord.yaml is not valid YAML at line 3"):
        load_mapping(_write(tmp_path, "extracts:\n  repairs: [unclosed\n"))
    with pytest.raises(MappingError, match="must be a YAML mapping"):
        mapping_from_dict(["a"], source="m.yaml")


def test_the_contract_keys_and_required_columns() -> None:
    assert CANONICAL["asb"].key == ("case_ref", "tenancy_ref")
    assert CANONICAL["rent"].required == ("tenancy_ref", "week_ending", "balance_gbp")
    assert [c.name for c in CANONICAL["repairs"].columns if c.is_free_text] == ["description"]
    assert set(CANONICAL) == {
        "repairs",
        "recharges",
        "asb",
        "rent",
        "tenancies",
        "properties",
        "known_cases",
        "planned_works",
    }
