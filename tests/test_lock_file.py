"""The lock file installs what pyproject.toml asks for, and the README's two commands and CI use it.

`requirements.lock` (uv pip compile, universal, Python 3.11) pins the versions the suite passed with. These
checks fail when a dependency is added to pyproject.toml without refreshing the lock, when a pin falls
outside the range pyproject.toml allows, or when one of the install commands stops using the lock.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;]+)(?:\s*;\s*(?P<marker>.+))?$")


def parse_lock(text: str) -> dict[str, list[tuple[Version, str | None]]]:
    """Pins per canonical package name: (version, environment marker or None). Comment lines are skipped."""
    pins: dict[str, list[tuple[Version, str | None]]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        if match is None:
            raise ValueError(f"requirements.lock line {number} is not a 'name==version' pin: {line!r}")
        name = canonicalize_name(match["name"])
        pins.setdefault(name, []).append((Version(match["version"]), match["marker"]))
    return pins


def declared_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(text) for text in project["dependencies"]]
    for extra in project.get("optional-dependencies", {}).values():
        declared += [Requirement(text) for text in extra]
    return [r for r in declared if canonicalize_name(r.name) != canonicalize_name(project["name"])]


def unmet_requirements(
    requirements: list[Requirement], pins: dict[str, list[tuple[Version, str | None]]]
) -> list[str]:
    """One sentence per requirement the lock does not pin, or pins outside the declared range."""
    problems = []
    for requirement in requirements:
        if requirement.marker is not None and not requirement.marker.evaluate({"python_version": "3.11"}):
            continue
        versions = pins.get(canonicalize_name(requirement.name))
        if not versions:
            problems.append(f"{requirement.name} is not in requirements.lock")
            continue
        outside = [str(v) for v, _ in versions if not requirement.specifier.contains(v, prereleases=True)]
        if outside:
            problems.append(
                f"{requirement.name} is pinned to {', '.join(outside)}, outside {requirement.specifier}"
            )
    return problems


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    pins = parse_lock((ROOT / "requirements.lock").read_text())
    assert unmet_requirements(declared_requirements(), pins) == []


def test_a_new_or_out_of_range_dependency_is_caught() -> None:
    pins = parse_lock("duckdb==2.0.1\npandas==2.2.3\n")
    problems = unmet_requirements(
        [Requirement("duckdb>=2.0,<3"), Requirement("pandas>=3.0,<4"), Requirement("rapidfuzz>=3")], pins
    )
    assert problems == [
        "pandas is pinned to 2.2.3, outside <4,>=3.0",
        "rapidfuzz is not in requirements.lock",
    ]


def test_a_line_that_is_not_a_pin_is_refused_with_its_line_number() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_lock("duckdb==2.0.1\nduckdb>=2\n")


def test_the_readme_commands_and_ci_install_from_the_lock() -> None:
    readme = (ROOT / "README.md").read_text()
    two_commands = readme.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    installs = re.findall(r"^python3 -m venv .*$", two_commands, flags=re.MULTILINE)
    assert len(installs) == 2
    assert all("-c requirements.lock" in line for line in installs)
    ci_command = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci_command == installs[1], "`.ci/run` must run exactly the README's test command"
