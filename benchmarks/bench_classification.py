"""Benchmark the red-flag classifier: accuracy on the real dev set beside a naive keyword rule; throughput.

    .venv/bin/python benchmarks/bench_classification.py [--rows 3000000] [--runs 3] [--loop-rows 100000]

Accuracy: per-category precision / recall / F1 and micro-F1 on ../shared/data/real_repairs_dev.csv (read at
run time; nothing from it is stored). Throughput: ``classify_texts`` on synthetic descriptions
(schedule-of-rates lines repeated as real exports repeat them, plus call-centre notes varied by numbers, rooms
and wording so that about a third of texts are distinct), median of several runs; beside it, a per-row Python
loop (``re`` module) applying the same compiled rules, timed on a sample and scaled per row.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import statistics
import sys
import time
from pathlib import Path

import polars as pl
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from features.classification import CATEGORIES, Vocabulary, classify_texts  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "real_repairs_dev.csv"

NAIVE = {
    "lock_change": r"lock",
    "door_damage": r"door",
    "window_damage": r"window|glass",
    "lost_keys": r"key",
    "forced_entry": r"forced|break in",
}

# Synthetic phrasing, written for this benchmark (not taken from any real export).
SOR_LINES = [
    "Replace euro cylinder lock",
    "Renew mortice deadlock",
    "Ease and adjust door",
    "Renew door closer",
    "4mm clear glass up to 0.5m2",
    "6mm obscure glass over 1.5m2",
    "Double glazed unit up to 1m2",
    "Board up window",
    "Renew internal door and casing",
    "Renew external door and frame",
    "Renew WC pan",
    "Clear blocked gully",
    "Renew radiator valve",
    "Renew window restrictor",
    "Renew kitchen cupboard door",
    "Clean flue",
    "Renew ceiling rose",
    "Patch plaster to wall",
    "Renew bath panel",
    "Renew mixer tap",
    "Service boiler",
    "Renew hot water cylinder",
    "Replace garage door lock",
    "Repair mortice latch",
    "Renew fence panel",
]
FREE = [
    "tnt reports {room} door {fault}, pls attend and rem",
    "CPT - {room} window {wfault}, job {n}",
    "Tenant locked out of flat {n}, gain entry and renew cylinder",
    "OOH: police forced entry to property at {h}:{m}, make safe, crime ref {n}",
    "{room} radiator leaking under valve, containable, ref {n}",
    "UP - tnt reports no hot water since {h} o'clock, boiler code E{m}",
    "Tenant lost keys, cut {k} new keys, call on arrival {n}",
    "Please renew {room} door lock, key spins, appt {h}:{m}",
    "communal door to block {n} not closing, door entry system faulty",
    "damp and mould in {room}, condensation on windows, inspect {n}",
]
ROOMS = ["front", "rear", "back", "bathroom", "bedroom", "kitchen", "living room", "FED", "WC", "hall"]
FAULTS = ["kicked in", "will not close", "split at frame", "sticking", "hanging off hinges", "not damaged"]
WFAULTS = ["smashed", "cracked", "stiff to open", "handle broken", "draughty", "glass not broken"]


def synthetic(rows: int, seed: int = 1) -> pl.Series:
    rng = random.Random(seed)
    distinct_free = int(rows * 0.45)  # free text, mostly distinct; the rest repeats SoR lines
    free = [
        rng.choice(FREE).format(
            room=rng.choice(ROOMS),
            fault=rng.choice(FAULTS),
            wfault=rng.choice(WFAULTS),
            n=rng.randint(1, 999_999),
            h=rng.randint(0, 23),
            m=rng.randint(10, 59),
            k=rng.randint(1, 4),
        )
        for _ in range(distinct_free)
    ]
    sor = [rng.choice(SOR_LINES) for _ in range(rows - distinct_free)]
    texts = free + sor
    rng.shuffle(texts)
    return pl.Series("description", texts, dtype=pl.String)


def load_vocab() -> Vocabulary:
    return Vocabulary.from_dict(
        yaml.safe_load((ROOT / "conf" / "vocabulary.yaml").read_text(encoding="utf-8"))
    )


# --- the same rules, one row at a time with the re module ---------------------------------------------------


class RowByRow:
    """The vocabulary's compiled rules applied per row in Python: the baseline to beat."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.words = {f" {k} ": f" {v} " for k, v in vocab.words.items()}
        self.words_re = re.compile("|".join(re.escape(k) for k in sorted(self.words, key=len, reverse=True)))
        self.replacements = [
            (re.compile(p), re.sub(r"\$\{?(\d+)\}?", r"\\g<\1>", r)) for p, r in vocab.replacements
        ]
        self.negation = re.compile(vocab.negation) if vocab.negation else None
        self.rules = [
            (
                r.name,
                re.compile(r.patterns),
                re.compile(r.look_alikes) if r.look_alikes else None,
                re.compile(r.never_when) if r.never_when else None,
            )
            for r in vocab.categories
        ]
        self.external, self.internal = re.compile(vocab.external), re.compile(vocab.internal)

    def normalise(self, text: str) -> str:
        t = re.sub(r"['’‘`´]", "", text.lower())
        t = t.replace("²", "2").replace("&", " and ").replace("/", " / ").replace("|", " ")
        t = re.sub(r"\bre-", "re", t)
        t = re.sub(r"\.(?:\s|$)|[,;:!?\r\n\t]+", " , ", t)
        t = re.sub(r"([a-z])\.", r"\1 ", t)
        t = re.sub(r"[^a-z0-9,./]+", " ", t)
        t = "  " + re.sub(r"\s+", "  ", t) + "  "
        t = self.words_re.sub(lambda m: self.words[m.group(0)], t)
        t = re.sub(r"\s+", " ", t)
        for pattern, replacement in self.replacements:
            t = pattern.sub(replacement, t)
        if self.negation:
            t = self.negation.sub(" , ", t)
        return t

    def classify(self, text: str | None) -> tuple[list[str], str | None]:
        if text is None:
            return [], None
        norm = self.normalise(text)
        found = []
        for name, patterns, look_alikes, never_when in self.rules:
            masked = look_alikes.sub(" , ", norm) if look_alikes else norm
            if patterns.search(masked) and not (never_when and never_when.search(norm)):
                found.append(name)
        location = None
        if found:
            ext, inner = self.external.search(norm), self.internal.search(norm)
            location = (
                "unknown"
                if not (ext or inner)
                else ("external" if ext and (not inner or ext.start() <= inner.start()) else "internal")
            )
        return found, location


# --- accuracy -----------------------------------------------------------------------------------------------


def scores(truth: pl.Series, predicted: pl.Series) -> dict[str, tuple[float, float, float]]:
    out = {}
    tp_all = fp_all = fn_all = 0
    for cat in CATEGORIES:
        t, p = truth.list.contains(cat), predicted.list.contains(cat)
        tp, fp, fn = int((t & p).sum()), int((~t & p).sum()), int((t & ~p).sum())
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        out[cat] = _prf(tp, fp, fn)
    out["micro"] = _prf(tp_all, fp_all, fn_all)
    return out


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    return precision, recall, f1


def accuracy_report(vocab: Vocabulary) -> None:
    if not DEV.exists():
        print(f"(no dev set at {DEV}; accuracy skipped)")
        return
    dev = pl.read_csv(DEV, infer_schema=False)
    truth = dev["categories"].fill_null("").str.split(";").list.eval(pl.element().filter(pl.element() != ""))
    ours = classify_texts(dev["description"], None, vocab, {})
    low = dev["description"].fill_null("").str.to_lowercase()
    naive = (
        pl.DataFrame({c: low.str.contains(p) for c, p in NAIVE.items()})
        .select(pl.concat_list([pl.when(pl.col(c)).then(pl.lit(c)) for c in sorted(NAIVE)]).list.drop_nulls())
        .to_series()
    )
    rules, base = scores(truth, ours["categories"]), scores(truth, naive)
    print(f"Real dev set: {dev.height} rows, {int((truth.list.len() > 0).sum())} with a red flag")
    print(f"{'category':<15}{'rules P':>9}{'R':>7}{'F1':>7}   {'naive P':>9}{'R':>7}{'F1':>7}")
    for cat in [*CATEGORIES, "micro"]:
        (p, r, f), (bp, br, bf) = rules[cat], base[cat]
        print(f"{cat:<15}{p:>9.3f}{r:>7.3f}{f:>7.3f}   {bp:>9.3f}{br:>7.3f}{bf:>7.3f}")
    labelled = dev["location"].is_not_null() & (ours["categories"].list.len() > 0)
    hits = int((dev["location"].filter(labelled) == ours["location"].filter(labelled)).sum())
    print(f"location accuracy on labelled, flagged rows: {hits}/{int(labelled.sum())}")


# --- throughput ---------------------------------------------------------------------------------------------


def throughput_report(vocab: Vocabulary, rows: int, runs: int, loop_rows: int) -> None:
    texts = synthetic(rows)
    print(
        f"\nSynthetic descriptions: {rows:,} rows, {texts.n_unique():,} distinct "
        f"({texts.n_unique() / rows:.0%})"
    )
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), _cpu_seconds()
        classify_texts(texts, None, vocab, {})
        times.append(time.perf_counter() - start)
        cpu.append(_cpu_seconds() - start_cpu)
    median = statistics.median(times)
    print(
        f"vectorised classify_texts: median {median:.2f} s wall over {runs} runs "
        f"({', '.join(f'{t:.2f}' for t in times)}); {rows / median:,.0f} rows/s; "
        f"CPU (all threads) median {statistics.median(cpu):.2f} s"
    )

    sample = texts.head(loop_rows).to_list()
    slow = RowByRow(vocab)
    start = time.perf_counter()
    for text in sample:
        slow.classify(text)
    loop_seconds = time.perf_counter() - start
    # the same sample through the vectorised path, for a like-for-like rate on this (shared) machine
    start = time.perf_counter()
    classify_texts(pl.Series(sample, dtype=pl.String), None, vocab, {})
    print(f"vectorised on the same {len(sample):,}-row sample: {time.perf_counter() - start:.2f} s")
    per_row = loop_seconds / len(sample)
    print(
        f"per-row Python loop (re): {loop_seconds:.2f} s for {len(sample):,} rows = "
        f"{1 / per_row:,.0f} rows/s; "
        f"{per_row * rows:.0f} s projected for {rows:,} rows"
    )
    print(
        f"speed-up: {per_row * rows / median:.0f}x; target 3M rows < 30 s: "
        f"{'met' if (median / rows * 3_000_000) < 30 else 'NOT met'}"
    )

    # the two paths agree on the sample (same rules)
    fast = classify_texts(pl.Series(sample, dtype=pl.String), None, vocab, {})["categories"].to_list()
    disagree = sum(1 for text, f in zip(sample, fast, strict=True) if slow.classify(text)[0] != f)
    print(f"row-by-row and vectorised disagree on {disagree} of {len(sample):,} sample rows")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--loop-rows", type=int, default=50_000)
    args = parser.parse_args()
    vocab = load_vocab()
    accuracy_report(vocab)
    throughput_report(vocab, args.rows, args.runs, args.loop_rows)


if __name__ == "__main__":
    main()
