"""The Riverside landlord's text catalogue, read from its data file ``data/riverside.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

TEXT_FILE = Path(__file__).parent / "data" / "riverside.yaml"


@dataclass(frozen=True)
class JobKind:
    name: str
    weight: float
    flags: tuple[str, ...]
    priority: dict[str, float]
    trade: str
    cost: float
    codes: tuple[str, ...]
    texts: tuple[str, ...]


@dataclass(frozen=True)
class TextCatalogue:
    jobs: dict[str, JobKind]
    slip_rate: float
    upper_rate: float
    slips: dict[str, tuple[str, ...]]
    asb_categories: tuple[tuple[str, float], ...]
    asb_domestic: tuple[str, ...]
    asb_texts: dict[str, tuple[str, ...]]
    recharge_reasons: dict[str, tuple[str, ...]]


def load_catalogue(path: Path = TEXT_FILE) -> TextCatalogue:
    """The text catalogue from its YAML file (see the file's comments for each field)."""
    # libyaml's loader when present: the pure-Python one takes a tenth of a second over this file.
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    jobs = {
        name: JobKind(
            name=name,
            weight=float(spec.get("weight", 0.0)),
            flags=tuple(spec.get("flags", ())),
            priority={str(k): float(v) for k, v in spec["priority"].items()},
            trade=str(spec["trade"]),
            cost=float(spec["cost"]),
            codes=tuple(spec.get("codes", ())),
            texts=tuple(spec["texts"]),
        )
        for name, spec in data["jobs"].items()
    }
    return TextCatalogue(
        jobs=jobs,
        slip_rate=float(data["slip_rate"]),
        upper_rate=float(data["upper_rate"]),
        slips={k: tuple(v) for k, v in data["slips"].items()},
        asb_categories=tuple((str(c), float(p)) for c, p in data["asb_categories"]),
        asb_domestic=tuple(data["asb_domestic_categories"]),
        asb_texts={k: tuple(v) for k, v in data["asb_texts"].items()},
        recharge_reasons={k: tuple(v) for k, v in data["recharge_reasons"].items()},
    )
