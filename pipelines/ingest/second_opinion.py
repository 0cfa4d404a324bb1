"""The learned second opinion's training text, and the fitted model (``features/learned.py``) for a run.

Training text lives in this repository and was written for it, never taken from real repairs:

- the synthetic landlords' text catalogues (``pipelines/synth/data/standard.yaml``: each job's templates filled
  with its slots, and its schedule-of-rates lines; ``riverside.yaml``: each job's notes), labelled with the
  job's ``flags``;
- the team-written development set ``tests/data/robustness_dev.csv`` (labelled by hand);

each copied with seeded keyboard slips and with the vocabulary's abbreviations swapped in
(``features/perturb.py``, the benchmark's own perturbations). The real labelled dev set
(``../shared/data/real_repairs_dev.csv``) and the two frozen sets are never read here.

The model is fitted when first asked for, with a fixed seed, and kept for the life of the process.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from features.classification import CATEGORIES
from features.learned import SecondOpinion
from features.perturb import abbreviator, with_slips
from pipelines.synth import riverside_text
from pipelines.synth import text as standard_text

log = logging.getLogger(__name__)

TEAM_DEV = Path(__file__).resolve().parents[2] / "tests" / "data" / "robustness_dev.csv"
SEED = 16  # issue 16: any fixed number; the same seed gives the same model on every run
VARIANTS_PER_JOB = 60  # filled templates per standard job type: enough to show each slot's values
SLIPPED_COPIES = 2  # copies of each text with a slip in one word in four (4+ letters)


def training_corpus(
    vocab_data: Mapping[str, Any], seed: int = SEED, team_dev: Path = TEAM_DEV
) -> tuple[list[str], list[frozenset[str]]]:
    """Training texts and their category sets (empty: not a red flag), augmented, in a fixed order."""
    texts: list[str] = []
    labels: list[frozenset[str]] = []
    rng = np.random.default_rng(seed)
    for job in standard_text.job_catalogue():
        variants = standard_text.expand_variants(job, rng, n=VARIANTS_PER_JOB)
        for text in [*variants, *(t for _, t in job.sor)]:
            texts.append(text)
            labels.append(frozenset(job.flags))
    for kind in riverside_text.load_catalogue().jobs.values():
        for text in kind.texts:
            texts.append(text)
            labels.append(frozenset(kind.flags))
    if team_dev.exists():
        dev = pl.read_csv(team_dev, infer_schema=False)
        for text, cats in zip(dev["description"].fill_null(""), dev["categories"].fill_null(""), strict=True):
            texts.append(text)
            labels.append(frozenset(c for c in cats.split(";") if c))
    pick = random.Random(seed)
    abbreviate = abbreviator(vocab_data)
    base = list(zip(texts, labels, strict=True))
    for text, label in base:
        for _ in range(SLIPPED_COPIES):
            texts.append(with_slips(text, pick))
            labels.append(label)
        texts.append(abbreviate(text, pick))
        labels.append(label)
    unknown = {c for label in labels for c in label} - set(CATEGORIES)
    if unknown:
        raise ValueError(f"training labels name unknown categories {sorted(unknown)}")
    return texts, labels


@functools.cache
def fitted_second_opinion(vocabulary_file: Path, seed: int = SEED) -> SecondOpinion:
    """The second opinion fitted on ``training_corpus`` (the vocabulary file gives the abbreviations)."""
    import yaml

    vocab_data = yaml.safe_load(vocabulary_file.read_text(encoding="utf-8"))
    texts, labels = training_corpus(vocab_data, seed)
    log.info("fitting the learned second opinion on %d training texts", len(texts))
    return SecondOpinion.fit(texts, labels, CATEGORIES, seed)
