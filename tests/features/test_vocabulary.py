"""The vocabulary is configuration: the shipped file loads, every pattern compiles, edits change results."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import yaml

from features.classification import CATEGORIES, Vocabulary, VocabularyError, classify_texts, compile_pattern
from pipelines.core.paths import conf_dir


def _minimal(**lock_change: Any) -> dict[str, Any]:
    """A tiny vocabulary: 'renew' + 'lock' is a lock change; every other category matches a nonsense word."""
    cats: dict[str, Any] = {name: {"patterns": [f"zz{name}"]} for name in CATEGORIES}
    cats["lock_change"] = {"patterns": ["{renew} ~2 {lock}"], **lock_change}
    return {
        "terms": {"renew": ["renew", "replace"], "lock": ["locks?", "cylinder"]},
        "categories": cats,
        "location": {"external": ["front"], "internal": ["bathroom"]},
    }


def _cats(vocab: Vocabulary, *texts: str) -> list[list[str]]:
    return classify_texts(pl.Series(list(texts)), None, vocab, {})["categories"].to_list()


def test_shipped_vocabulary_loads_and_every_pattern_compiles() -> None:
    data = yaml.safe_load((conf_dir() / "vocabulary.yaml").read_text(encoding="utf-8"))
    vocab = Vocabulary.from_dict(data)  # compiles and checks every pattern with the Rust engine
    assert [r.name for r in vocab.categories] == sorted(CATEGORIES)
    for rules in vocab.categories:
        for regex in (rules.patterns, rules.look_alikes, rules.never_when):
            if regex:
                pl.Series(["renew the front door lock"]).str.contains(regex)  # runs without error


def test_adding_a_term_changes_the_result() -> None:
    before = Vocabulary.from_dict(_minimal())
    assert _cats(before, "renew nightlatch") == [[]]
    data = _minimal()
    data["terms"]["lock"].append("nightlatch")
    after = Vocabulary.from_dict(data)
    assert _cats(after, "renew nightlatch") == [["lock_change"]]


def test_gap_of_n_words() -> None:
    vocab = Vocabulary.from_dict(_minimal())
    # ~2 allows "front door" (two words) between the verb and the lock, not three
    assert _cats(vocab, "renew front door lock", "renew the front door lock", "renew lock. then lock") == [
        ["lock_change"],
        [],
        ["lock_change"],
    ]
    # a gap never crosses the end of a clause
    assert _cats(vocab, "renew, lock") == [[]]


def test_look_alike_and_never_when() -> None:
    vocab = Vocabulary.from_dict(_minimal(look_alikes=["window ~1 {lock}"], never_when=["planned"]))
    assert _cats(vocab, "renew window lock", "renew lock", "planned: renew lock") == [[], ["lock_change"], []]


def test_abbreviations_spellings_and_negation() -> None:
    data = _minimal()
    data["normalise"] = {"abbreviations": {"cyl": "cylinder"}, "spellings": {"lok": "lock"}}
    data["categories"]["door_damage"] = {"patterns": ["door ~2 damaged"]}
    data["negation"] = {"cues": ["not"], "max_gap_words": 2, "targets": ["damaged"]}
    vocab = Vocabulary.from_dict(data)
    assert _cats(vocab, "renew cyl", "replace lok", "door damaged", "door not damaged") == [
        ["lock_change"],
        ["lock_change"],
        ["door_damage"],
        [],
    ]


def test_compile_pattern_expands_terms_and_gaps() -> None:
    regex = compile_pattern("{verb} ~1 door", {"verb": "(?:renew|fit)"})
    assert regex == r"\b(?:(?:renew|fit) +(?:[^ ,]+ +){0,1}?door)\b"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["categories"].update(doors={"patterns": ["x"]}), "unknown categories"),
        (lambda d: d["categories"]["lock_change"].update(patterns=["{nope} lock"]), "unknown term"),
        (lambda d: d["categories"]["lock_change"].update(patterns=["(?<=a)lock"]), "not a valid regular"),
        (lambda d: d["categories"]["lock_change"].update(patterns=[]), "at least one pattern"),
        (lambda d: d["terms"].update(a=["{b}"], b=["{a}"]), "circle"),
    ],
)
def test_bad_vocabulary_is_named(change: Any, message: str) -> None:
    data = _minimal()
    change(data)
    with pytest.raises(VocabularyError, match=message):
        Vocabulary.from_dict(data)


def test_a_bad_pattern_among_good_ones_is_named_by_its_place() -> None:
    # the patterns are checked together first; the bad one is still the one named
    data = _minimal()
    data["categories"]["lock_change"]["patterns"] = ["{renew} ~2 {lock}", "lock (barrel", "cylinder"]
    with pytest.raises(VocabularyError, match=r"categories\.lock_change\.patterns\[1\]: .*'lock \(barrel'"):
        Vocabulary.from_dict(data)
    # two patterns that are each broken but balance each other when joined are refused, as before
    data["categories"]["lock_change"]["patterns"] = ["(lock", "cylinder)"]
    with pytest.raises(VocabularyError, match=r"patterns\[0\]: .*not a valid regular"):
        Vocabulary.from_dict(data)
