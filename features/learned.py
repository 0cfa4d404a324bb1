"""A learned second opinion on repair text: character n-grams and one calibrated logistic regression per category.

The rules (``features/classification.py``) are the classifier and its explanation. This model may only *add* a
category to a description the rules found nothing in, and only when it is confident; it never removes or changes
what a rule found. Its evidence says that it is the model ("door_damage: learned from similar wording,
p=0.93"), so a reviewer never mistakes it for a rule.

Training text is given by the caller (``pipelines/ingest/second_opinion.py`` builds it from the synthetic
generators' catalogues and the team-written development set, never from real repair text): the model is fitted
at run time with a fixed seed, so the same text and settings give the same model on every run, and nothing
fitted is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

# Character n-grams inside word boundaries: a slip ("dorr", "lokced") still shares most of its 2-5 letter pieces
# with the word it was meant to be, which is what lets the model read text the rules' words miss.
NGRAMS = (2, 5)
# Regularisation of each category's logistic regression (sklearn's C): the training text is small and
# repetitive (catalogue templates), so a moderate C keeps the model from memorising whole phrasings.
REGULARISATION_C = 4.0
CALIBRATION_FOLDS = 3


@dataclass(frozen=True)
class SecondOpinion:
    """A fitted model: ``probabilities`` gives, per text, the calibrated chance of each category."""

    categories: tuple[str, ...]
    vectorizer: TfidfVectorizer
    models: tuple[CalibratedClassifierCV | None, ...]  # None: no positive training example for that category

    @classmethod
    def fit(
        cls, texts: Sequence[str], labels: Sequence[frozenset[str]], categories: Sequence[str], seed: int
    ) -> SecondOpinion:
        """Fit on ``texts`` (one description each) labelled with their categories (empty: no red flag).

        Deterministic for a given input and ``seed`` (liblinear and the calibration folds are seeded).
        """
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} training texts but {len(labels)} label sets")
        vectorizer = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=NGRAMS,
            lowercase=True,
            sublinear_tf=True,
            min_df=2,
            dtype=np.float64,
        )
        matrix = vectorizer.fit_transform(list(texts))
        models: list[CalibratedClassifierCV | None] = []
        for category in categories:
            y = np.array([category in label for label in labels], dtype=np.int8)
            if y.sum() < CALIBRATION_FOLDS or (len(y) - y.sum()) < CALIBRATION_FOLDS:
                models.append(None)
                continue
            base = LogisticRegression(
                C=REGULARISATION_C, solver="liblinear", random_state=seed, max_iter=1000
            )
            model = CalibratedClassifierCV(base, method="sigmoid", cv=CALIBRATION_FOLDS)
            models.append(model.fit(matrix, y))
        return cls(tuple(categories), vectorizer, tuple(models))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probability of each category (columns in ``categories`` order), one row per text."""
        out = np.zeros((len(texts), len(self.categories)), dtype=np.float64)
        if not len(texts):
            return out
        matrix = self.vectorizer.transform(list(texts))
        for j, model in enumerate(self.models):
            if model is not None:
                out[:, j] = model.predict_proba(matrix)[:, 1]
        return out


def added_categories(
    texts: pl.Series, rule_categories: pl.Series, opinion: SecondOpinion, min_probability: float
) -> pl.DataFrame:
    """What the second opinion adds to each text: only where the rules found nothing, only when confident.

    Input: distinct ``texts`` and the rules' ``rule_categories`` for them (list of str, same length), the fitted
    ``opinion`` and the least probability (0-1) at which a category is added.
    Output: one row per input row: ``added`` (list of str, sorted; empty where the rules found something or the
    model is not confident) and ``added_evidence`` ("door_damage: learned from similar wording, p=0.93"; null
    without an addition).
    """
    silent = (rule_categories.fill_null([]).list.len() == 0) & texts.is_not_null()
    rows = np.flatnonzero(silent.to_numpy())
    added: list[list[str]] = [[] for _ in range(len(texts))]
    evidence: list[str | None] = [None] * len(texts)
    if len(rows):
        probs = opinion.probabilities(texts.gather(rows).to_list())
        confident = probs >= min_probability
        # only the few confident rows are looked at one by one
        for k in np.flatnonzero(confident.any(axis=1)):
            picked = [
                (c, float(p))
                for c, p, ok in zip(opinion.categories, probs[k], confident[k], strict=True)
                if ok
            ]
            added[rows[k]] = [c for c, _ in picked]
            evidence[rows[k]] = "; ".join(f"{c}: learned from similar wording, p={p:.2f}" for c, p in picked)
    return pl.DataFrame(
        {"added": added, "added_evidence": evidence},
        schema={"added": pl.List(pl.String), "added_evidence": pl.String},
    )
