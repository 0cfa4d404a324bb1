"""`redflags classify` end to end on small CSV files, and the classifier ingest builds from settings."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.cli.main import main as cli
from pipelines.core.errors import UserError
from pipelines.core.settings import ClassificationSettings
from pipelines.ingest.classifier import classifier_from_settings


def _run(tmp_path: Path, content: bytes, *extra: str) -> tuple[int, Path]:
    source = tmp_path / "in.csv"
    source.write_bytes(content)
    out = tmp_path / "out.csv"
    code = cli(["classify", "--input", str(source), "--out", str(out), *extra])
    return code, out


def test_adds_categories_and_location(tmp_path: Path) -> None:
    code, out = _run(tmp_path, b"job_ref,description\nJ1,Renew rear door\nJ2,Sweep flue\nJ3,\n")
    assert code == 0
    frame = pl.read_csv(out, infer_schema=False)
    assert frame.columns == ["job_ref", "description", "categories", "location"]
    assert frame["categories"].fill_null("").to_list() == ["door_damage", "", ""]
    assert frame["location"].to_list() == ["external", None, None]


def test_evidence_column_and_other_column(tmp_path: Path) -> None:
    code, out = _run(tmp_path, b"notes;code\nchange locks;A1\n", "--column", "notes", "--evidence")
    assert code == 0
    frame = pl.read_csv(out, infer_schema=False)
    assert frame["categories"].to_list() == ["lock_change"]
    assert frame["evidence"].to_list() == ["lock_change: change locks"]


@pytest.mark.parametrize(
    "content",
    [
        "description\nRenew window lock\nSmashed window – café\n".encode(),
        b"\xef\xbb\xbfdescription\nRenew window lock\nSmashed window \xe2\x80\x93 caf\xc3\xa9\n",
        "description\nRenew window lock\nSmashed window – café\n".encode("cp1252"),
    ],
    ids=["utf8", "utf8-bom", "cp1252"],
)
def test_encodings(tmp_path: Path, content: bytes) -> None:
    code, out = _run(tmp_path, content)
    assert code == 0
    frame = pl.read_csv(out, infer_schema=False)
    assert frame.columns[0] == "description"
    assert frame["description"].to_list()[1] == "Smashed window – café"
    assert frame["categories"].fill_null("").to_list() == ["", "window_damage"]


def test_cells_are_spreadsheet_safe(tmp_path: Path) -> None:
    code, out = _run(tmp_path, b'description,ref\n"=HYPERLINK(1)",+44\n"-renew lock",@x\n')
    assert code == 0
    frame = pl.read_csv(out, infer_schema=False)
    assert frame["description"].to_list() == ["'=HYPERLINK(1)", "'-renew lock"]
    assert frame["ref"].to_list() == ["'+44", "'@x"]


def test_missing_column_names_file_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _run(tmp_path, b"job,text\n1,Renew door\n")
    assert code == 1
    err = capsys.readouterr().err
    assert "in.csv" in err and "'description'" in err and "job, text" in err


def test_missing_code_column_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _run(tmp_path, b"description\nRenew door\n", "--code-column", "sor")
    assert code == 1
    assert "'sor'" in capsys.readouterr().err


def test_unreadable_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli(["classify", "--input", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o.csv")])
    assert code == 1
    assert "nope.csv" in capsys.readouterr().err
    code, _ = _run(tmp_path, b"")
    assert code == 1
    assert "in.csv" in capsys.readouterr().err


def test_classifier_from_settings_uses_sor_codes() -> None:
    classify = classifier_from_settings(ClassificationSettings(sor_codes={"JN9": ["lock_change"], "GR1": []}))
    frame = classify(
        pl.Series(["odd text", "4mm clear glass 1m2", "renew rear door"]), pl.Series(["jn9", "GR1", None])
    )
    assert frame["categories"].to_list() == [["lock_change"], [], ["door_damage"]]
    assert classify(pl.Series(["renew rear door"]), None)["categories"].to_list() == [["door_damage"]]


def test_classifier_from_settings_errors_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="vocabulary file"):
        classifier_from_settings(ClassificationSettings(vocabulary_file=str(tmp_path / "missing.yaml")))
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories: {doors: {patterns: [x]}}\n", encoding="utf-8")
    with pytest.raises(UserError, match="unknown categories"):
        classifier_from_settings(ClassificationSettings(vocabulary_file=str(bad)))
    with pytest.raises(UserError, match="sor_codes"):
        classifier_from_settings(ClassificationSettings(sor_codes={"A": ["doors"]}))
