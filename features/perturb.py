"""Seeded perturbations of repair text: keyboard slips, abbreviations swapped in, clauses reordered.

Used by ``benchmarks/bench_text_robustness.py`` to measure how the classifier copes with hurried typing, and by
``features/learned.py`` to augment the learned second opinion's training text the same way. Every function
takes a ``random.Random``, so a fixed seed gives the same text on every run.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from typing import Any

# A UK keyboard's neighbouring keys, for "pressed the key next to it" slips.
_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
NEIGHBOURS: dict[str, str] = {}
for _r, _row in enumerate(_ROWS):
    for _c, _ch in enumerate(_row):
        near = [_row[i] for i in (_c - 1, _c + 1) if 0 <= i < len(_row)]
        for other in (_r - 1, _r + 1):
            if 0 <= other < len(_ROWS):
                near += [_ROWS[other][i] for i in (_c - 1, _c) if 0 <= i < len(_ROWS[other])]
        NEIGHBOURS[_ch] = "".join(near)

_WORD = re.compile(r"[A-Za-z]{4,}")


def slip(word: str, rng: random.Random) -> str:
    """One keyboard slip in a word: swap two neighbours, drop, double, or hit a neighbouring key."""
    i = rng.randrange(len(word))
    kind = rng.choice(("swap", "drop", "double", "neighbour"))
    if kind == "swap" and i < len(word) - 1 and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[: i + 1] + word[i] + word[i + 1 :]
    near = NEIGHBOURS.get(word[i].lower())
    if not near:
        return word[:i] + word[i + 1 :]
    ch = rng.choice(near)
    return word[:i] + (ch.upper() if word[i].isupper() else ch) + word[i + 1 :]


def with_slips(text: str, rng: random.Random, rate: float = 0.25) -> str:
    """The text with a slip in each word of 4+ letters with probability ``rate``."""
    return _WORD.sub(lambda m: slip(m.group(0), rng) if rng.random() < rate else m.group(0), text)


def abbreviator(vocab_data: Mapping[str, Any]) -> Callable[[str, random.Random], str]:
    """Swap in the vocabulary's abbreviations for the words they stand for (each chance one in two).

    Input: the parsed ``conf/vocabulary.yaml`` (its ``normalise.abbreviations``: written -> read as).
    """
    table: dict[str, list[str]] = {}
    for key, value in ((vocab_data.get("normalise") or {}).get("abbreviations") or {}).items():
        key, value = str(key), str(value)
        if re.fullmatch(r"[a-z]+", key) and re.fullmatch(r"[a-z ]+", value) and key != value:
            table.setdefault(value, []).append(key)
    if not table:
        return lambda text, rng: text
    phrases = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(re.escape(p) for p in phrases) + r")\b", re.IGNORECASE)

    def apply(text: str, rng: random.Random) -> str:
        def sub(m: re.Match[str]) -> str:
            if rng.random() < 0.5:
                return m.group(0)
            short = rng.choice(table[m.group(0).lower()])
            return short.upper() if m.group(0).isupper() else short

        return pattern.sub(sub, text)

    return apply


def reorder_clauses(text: str, rng: random.Random) -> str:
    """The clauses (split at , ; . and spaced dashes, not a dash between numbers: "0.51 - 1.0m2") shuffled."""
    clauses = [c.strip() for c in re.split(r"[,;]|\.(?:\s|$)|(?<!\d)\s[-–]\s(?!\d)", text) if c.strip()]
    rng.shuffle(clauses)
    return ", ".join(clauses)
