"""Data files no extract of the mapping claims are named, not silently left behind (``files.unmatched_files``)."""

from __future__ import annotations

from pathlib import Path

from pipelines.ingest.files import resolve_files, unmatched_files


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a,b\n1,2\n")


def _unmatched(root: Path, patterns: list[str]) -> list[str]:
    matched = [p for pattern in patterns for p in resolve_files(root, [pattern])]
    return unmatched_files(root, patterns, matched)


def test_an_export_named_otherwise_is_reported_wherever_the_patterns_look(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "repairs/repairs_2025-06-01.csv",
        "repairs/Repairs Dec.CSV",  # beside the repairs files, another name
        "Rent arrears week 26.xlsx",  # dropped at the top of the folder
        "rent/rent_2025-06-01.parquet",
        "rent/rent_2025-06-08.pq",
    )
    assert _unmatched(tmp_path, ["repairs/repairs_*.csv", "rent/rent_*.parquet"]) == [
        "Rent arrears week 26.xlsx",
        "rent/rent_2025-06-08.pq",
        "repairs/Repairs Dec.CSV",
    ]


def test_what_is_not_an_export_or_lies_elsewhere_is_not_reported(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "repairs_2025-06-01.csv",
        "mapping.yaml",
        "README.txt.bak",
        "notes.docx",
        ".hidden.csv",
        "~$repairs_2025-06-08.xlsx",  # Excel's lock file while someone has it open
        "archive/repairs_2024-01-01.csv",  # a folder no pattern points into
    )
    assert _unmatched(tmp_path, ["repairs_*.csv"]) == []


def test_wildcard_folders_are_expanded_and_a_double_star_stops_the_walk(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "2025/repairs/repairs_1.csv",
        "2025/repairs/other.csv",
        "2026/repairs/stray.tsv",
        "asb/2025/asb_1.csv",
        "asb/2025/odd.csv",  # below the ** part: not walked
    )
    assert _unmatched(tmp_path, ["*/repairs/repairs_*.csv", "asb/**/asb_*.csv"]) == [
        "2025/repairs/other.csv",
        "2026/repairs/stray.tsv",
    ]
