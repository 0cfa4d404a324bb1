"""Experiment (issue 16): does a learned second opinion help the rules, without adding false positives?

    .venv/bin/python benchmarks/exp_learned_second_opinion.py [--reads raw|masked] [--seeds 10] [--homes 5000]
    .venv/bin/python benchmarks/exp_learned_second_opinion.py --frozen   # only the frozen sets' totals (log it!)

The model (``features/learned.py``: TF-IDF character 2-5-grams inside word boundaries, one sigmoid-calibrated
logistic regression per category) is trained on ``pipelines/ingest/second_opinion.training_corpus`` (the two
synthetic catalogues and the team-written ``tests/data/robustness_dev.csv``, each with seeded slips and
abbreviations) and may add a category only to a description the rules left empty, at or above a threshold.

Measured, for each threshold, rules alone against rules + model (micro-F1 and the model's added categories,
right and wrong):

- the real dev set (``../shared/data/real_repairs_dev.csv``, read at run time, never trained on) clean and with
  the benchmark's keyboard slips (seeds 0..N-1, the benchmark's own draws);
- the team dev set, **cross-fitted**: five folds, each scored by a model trained without it (it is training data);
- the standard synthetic landlord's ordinary jobs (in-sample: its catalogue is training text, so this is a floor
  on the false-positive rate, not an estimate);
- prediction time per 10,000 descriptions the rules left empty.

``--reads masked`` gives the model the rules' normalised text with every category's look-alikes cut out (as the
rules read it) instead of the raw description. The frozen sets are read only with ``--frozen`` (then nothing
else is measured, only totals are printed, never a row; log each use in ``tests/data/README.md``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_classification import scores  # noqa: E402
from benchmarks.bench_text_robustness import DEV, FROZEN, FROZEN_B, OWN_DEV, truth_of  # noqa: E402
from features.classification import (  # noqa: E402
    _BREAK,
    CATEGORIES,
    Vocabulary,
    _plain_words,
    _read_words,
    classify_texts,
)
from features.learned import SecondOpinion  # noqa: E402
from features.perturb import with_slips  # noqa: E402
from pipelines.ingest.second_opinion import SEED, training_corpus  # noqa: E402

THRESHOLDS = (0.9, 0.95, 0.98, 0.99, 0.995)


def masked_reader(vocab: Vocabulary) -> Callable[[list[str]], list[str]]:
    """The text as the rules read it (abbreviations, corrections, negation) with every look-alike cut out."""

    def read(texts: list[str]) -> list[str]:
        plain = pl.DataFrame({"t": texts}, schema={"t": pl.String}).select(p=_plain_words(pl.col("t")))["p"]
        words = plain.str.extract_all(r"\b[a-z]{4,}\b").explode().unique().drop_nulls().to_list()
        fixes = vocab.corrector.corrections(words) if vocab.corrector else {}
        expr = _read_words(pl.col("p"), vocab, fixes)
        for rules in vocab.categories:
            if rules.look_alikes:
                expr = expr.str.replace_all(rules.look_alikes, _BREAK)
        return pl.DataFrame({"p": plain}).select(expr.alias("p"))["p"].to_list()

    return read


def compare(
    name: str, texts: list[str], truth: pl.Series, probs: np.ndarray, vocab: Vocabulary, tally: dict
) -> None:
    """Rules alone against rules + model for each threshold; ``probs`` is the model on ``texts``."""
    rules = classify_texts(pl.Series(texts, dtype=pl.String), None, vocab, {})["categories"]
    silent = (rules.list.len() == 0).to_numpy()
    want = truth.to_list()
    for thr in THRESHOLDS:
        added = [
            [c for c, p in zip(CATEGORIES, probs[i], strict=True) if p >= thr] if silent[i] else []
            for i in range(len(texts))
        ]
        both = pl.Series(
            [sorted({*r, *a}) for r, a in zip(rules.to_list(), added, strict=True)], dtype=pl.List(pl.String)
        )
        row = tally.setdefault((name, thr), {"rules": [], "both": [], "tp": 0, "fp": 0})
        row["rules"].append(scores(truth, rules)["micro"][2])
        row["both"].append(scores(truth, both)["micro"][2])
        row["tp"] += sum(c in w for a, w in zip(added, want, strict=True) for c in a)
        row["fp"] += sum(c not in w for a, w in zip(added, want, strict=True) for c in a)


def report(tally: dict) -> None:
    for (name, thr), row in tally.items():
        print(
            f"{name:<32} threshold {thr}: micro-F1 rules {statistics.median(row['rules']):.3f} -> with model "
            f"{statistics.median(row['both']):.3f} (median of {len(row['rules'])}); model added {row['tp']} right, "
            f"{row['fp']} wrong"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reads", choices=("raw", "masked"), default="raw")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--homes", type=int, default=5_000)
    parser.add_argument("--frozen", action="store_true", help="score only the two frozen sets (totals)")
    args = parser.parse_args()
    vocab_data = yaml.safe_load((ROOT / "conf" / "vocabulary.yaml").read_text(encoding="utf-8"))
    vocab = Vocabulary.from_dict(vocab_data)
    read = masked_reader(vocab) if args.reads == "masked" else (lambda texts: texts)
    tally: dict = {}

    texts, labels = training_corpus(vocab_data)
    start = time.perf_counter()
    opinion = SecondOpinion.fit(read(texts), labels, CATEGORIES, SEED)
    print(f"fitted on {len(texts):,} texts in {time.perf_counter() - start:.1f} s (reads {args.reads})")
    if args.frozen:
        for path in (FROZEN, FROZEN_B):
            frozen = pl.read_csv(path, infer_schema=False)
            frozen_texts = frozen["description"].fill_null("").to_list()
            probs = opinion.probabilities(read(frozen_texts))
            compare(path.name, frozen_texts, truth_of(frozen), probs, vocab, tally)
        report(tally)
        return

    dev = pl.read_csv(DEV, infer_schema=False)
    dev_texts, dev_truth = dev["description"].fill_null("").to_list(), truth_of(dev)
    compare("real dev, clean", dev_texts, dev_truth, opinion.probabilities(read(dev_texts)), vocab, tally)
    for seed in range(args.seeds):
        rng = random.Random(seed)
        slipped = [with_slips(t, rng) for t in dev_texts]
        compare("real dev, slips", slipped, dev_truth, opinion.probabilities(read(slipped)), vocab, tally)

    team = pl.read_csv(OWN_DEV, infer_schema=False)
    team_texts, team_truth = team["description"].fill_null("").to_list(), truth_of(team)
    rng = random.Random(0)
    team_slipped = [with_slips(t, rng) for t in team_texts]
    fold = np.arange(team.height) % 5
    np.random.default_rng(SEED).shuffle(fold)
    clean_p, slip_p = np.zeros((team.height, 5)), np.zeros((team.height, 5))
    for k in range(5):
        path = Path(f"/tmp/exp_learned_fold{k}.csv")
        team.filter(pl.Series(fold != k)).write_csv(path)
        fold_texts, fold_labels = training_corpus(vocab_data, team_dev=path)
        model = SecondOpinion.fit(read(fold_texts), fold_labels, CATEGORIES, SEED)
        rows = np.flatnonzero(fold == k)
        clean_p[rows] = model.probabilities(read([team_texts[i] for i in rows]))
        slip_p[rows] = model.probabilities(read([team_slipped[i] for i in rows]))
    compare("team dev (cross-fitted), clean", team_texts, team_truth, clean_p, vocab, tally)
    compare("team dev (cross-fitted), slips", team_slipped, team_truth, slip_p, vocab, tally)
    kinds = team["kind"].to_list()
    rules = classify_texts(team["description"], None, vocab, {})["categories"].list.len() == 0
    for thr in THRESHOLDS:
        wrong = [
            kinds[i]
            for i in range(team.height)
            if rules[i]
            and any(
                p >= thr and c not in team_truth[i].to_list()
                for c, p in zip(CATEGORIES, clean_p[i], strict=True)
            )
        ]
        print(f"team dev clean, threshold {thr}: rows given a wrong category by the model, by kind: {wrong}")

    report(tally)

    if args.homes:
        from pipelines.synth.standard import build_landlord

        jobs = build_landlord(homes=args.homes, years=3, seed=7, as_of=dt.date(2026, 6, 30)).repairs
        distinct = jobs.select("description").unique()
        silent = classify_texts(distinct["description"], None, vocab, {})["categories"].list.len() == 0
        empty = distinct.filter(silent)["description"].to_list()
        start = time.perf_counter()
        pmax = opinion.probabilities(read(empty)).max(axis=1)
        took = time.perf_counter() - start
        top = dict(zip(empty, pmax, strict=True))
        ordinary = jobs.filter(~pl.col("is_red_flag"))["description"].to_list()
        for thr in THRESHOLDS:
            fp = sum(top.get(t, 0.0) >= thr for t in ordinary)
            print(f"synthetic ordinary jobs flagged by the model at {thr}: {fp} of {len(ordinary):,}")
        print(
            f"prediction: {len(empty):,} silent distinct texts in {took:.1f} s "
            f"= {took / len(empty) * 1e4:.1f} s per 10k"
        )


if __name__ == "__main__":
    main()
