"""Red-flag text found however it is written (issue 16): spelling correction, abbreviations, word order.

Phrases are our own wording. The sets in tests/data have rules of use: read tests/data/README.md before using any
of them to decide anything (set C, robustness_set_c.csv, is the frozen generalisation test: never tune to it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from features.classification import (
    CATEGORIES,
    Vocabulary,
    VocabularyError,
    classify_texts,
    compile_pattern,
)
from features.spelling import Corrector, vocabulary_words
from pipelines.core.errors import UserError
from pipelines.core.paths import conf_dir
from pipelines.ingest.classifier import load_vocabulary

FROZEN = Path(__file__).resolve().parents[1] / "data" / "robustness_set.csv"


def vocab_data() -> dict[str, Any]:
    data = yaml.safe_load((conf_dir() / "vocabulary.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary.from_dict(vocab_data())


def read(vocab: Vocabulary, *texts: str) -> pl.DataFrame:
    return classify_texts(pl.Series(list(texts), dtype=pl.String), None, vocab, {})


def cats(vocab: Vocabulary, text: str) -> list[str]:
    return read(vocab, text)["categories"].item().to_list()


# --- the corrector on its own ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corrector() -> Corrector:
    return Corrector(
        ["door", "locked", "lock", "damaged", "burglary", "window", "glass", "cylinder", "broken"]
    )


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("dorr", "door"),  # 4 letters, one edit (doubled letter)
        ("lokced", "locked"),  # a swap of neighbours is one edit
        ("damamged", "damaged"),  # 8 letters, one edit
        ("brurglary", "burglary"),  # 9 letters
        ("buglrary", "burglary"),  # 8 letters, two edits: allowed from 8
        ("cylindre", "cylinder"),  # 8 letters, a swap
        ("lcokde", None),  # 6 letters, two edits: too far
        ("widnwo", None),  # 6 letters, two swaps: too far
        ("brkon", None),  # 5 letters, two edits
    ],
)
def test_edit_limits_depend_on_word_length(corrector: Corrector, word: str, expected: str | None) -> None:
    assert corrector.correct(word) == expected


@pytest.mark.parametrize(
    "word",
    [
        "dor",  # shorter than 4 letters: never
        "lok",
        "jn2070",  # codes and numbers: never
        "4mm",
        "dr5",
        "gwpq",  # no vowel: a code or an abbreviation, read by the abbreviation list instead
        "lckd",
        "gass",  # 4 letters next to a common short word ("gas"): not a guess worth making
        # real English words are what they say, even one slip from a vocabulary word
        "look",
        "block",
        "clock",
        "poor",
        "grass",
        "gloss",
        "blocked",
        "looked",
        "lost",
        "widow",
        "brake",
        "dented",
        "door",  # a vocabulary word itself
    ],
)
def test_never_corrected(corrector: Corrector, word: str) -> None:
    assert corrector.correct(word) is None


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("panle", "panel"),  # a swap keeps every letter: panel, not pane (also one edit away)
        ("brokne", "broken"),  # a swap: broken, not broke
        ("smashd", "smashed"),  # a past tense missing its "e" (fifth round; it read "smash" before)
        ("smashe", "smash"),  # smash or smashed, one edit each, no swap: the more common English word
        ("doot", "door"),  # "dot" is common, but not one of the commonest short words
        ("gass", None),  # "gas" is: left alone
        ("dood", "door"),  # d sits beside r on the keyboard, far from g: door, not the commoner "good"
    ],
)
def test_ties_between_equally_close_words(word: str, expected: str | None) -> None:
    corrector = Corrector(["panel", "pane", "broken", "broke", "smash", "smashed", "door", "glass", "good"])
    assert corrector.correct(word) == expected


def test_each_distinct_word_is_looked_at_once(corrector: Corrector) -> None:
    fixes = corrector.corrections(["dorr", "dorr", "lokced", "boiler", "gass"])
    assert fixes == {"dorr": "door", "lokced": "locked"}
    assert {"dorr", "lokced", "boiler", "gass"} <= set(corrector._seen)


def test_vocabulary_words_are_the_literal_words_of_its_patterns() -> None:
    words = vocabulary_words(
        ["{renew} ~3 locks?", "latch(?:es)?", "forc[a-z]*", "enforc(?:ed|ing)", "\\block out"]
    )
    assert words == {"renew", "lock", "locks", "latch", "latches"}  # no stems, no "block" from "\b"


def test_targets_come_from_the_vocabulary_less_its_exclusions(vocab: Vocabulary) -> None:
    assert vocab.corrector is not None
    assert {"door", "locked", "damaged", "cylinder", "burglary", "window"} <= vocab.corrector.targets
    assert "gwpp" not in vocab.corrector.targets  # listed under not_targets: a glazing code
    assert "lock" not in vocab.corrector.targets or vocab.corrector.correct("block") is None


# --- the corrector inside the classifier ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "evidence"),
    [
        ("tnt lokced out", ["lost_keys"], "lost_keys: locked out (lokced -> locked)"),
        ("back dorr kicked in", ["door_damage"], "door_damage: door kicked in (dorr -> door)"),
        ("front door damamged", ["door_damage"], "door_damage: door damaged (damamged -> damaged)"),
        ("brurglary at property", ["forced_entry"], "forced_entry: burglary (brurglary -> burglary)"),
    ],
)
def test_evidence_shows_what_a_corrected_word_was_read_as(
    vocab: Vocabulary, text: str, expected: list[str], evidence: str
) -> None:
    row = read(vocab, text)
    assert row["categories"].item().to_list() == expected
    assert row["evidence"].item() == evidence


def test_a_correction_is_noted_only_on_the_phrase_that_holds_it(vocab: Vocabulary) -> None:
    row = read(vocab, "rear dorr kicked in, lock renewed")
    assert row["evidence"].item() == "door_damage: door kicked in (dorr -> door); lock_change: lock renewed"


def test_correction_can_be_switched_off(vocab: Vocabulary) -> None:
    data = vocab_data()
    data["normalise"]["corrections"]["enabled"] = False
    plain = Vocabulary.from_dict(data)
    assert plain.corrector is None
    assert cats(plain, "tnt lokced out") == []
    assert cats(vocab, "tnt lokced out") == ["lost_keys"]


def test_never_correct_is_honoured(vocab: Vocabulary) -> None:
    data = vocab_data()
    data["normalise"]["corrections"]["never_correct"] = ["dorr"]
    assert cats(Vocabulary.from_dict(data), "back dorr kicked in") == []


@pytest.mark.parametrize(
    "text",
    [
        # near-misses: ordinary words one slip from a vocabulary word stay what they are
        "look at lock stiffness on window",
        "block paving cracked by front gate",
        "clock on boiler broken, renew clock",
        "poor repair to skirting, renew skirting",
        "grass cutting, smashed bottles on lawn",
        "gloss paint to front door frame",
        "drain blocked out the back",
        "lost pressure on boiler",
        "gass pipe cracked in meter box",
        "looked at by surveyor, nothing broken",
        # the contract: a fault report without a renewal is not a lock change, however it is spelt
        "lcok borken on front door",
        "front door lokc faulty, pls attend",
        "FED lock broken, tnt can still get in",
        # look-alikes survive correction: a lock eased, a window restrictor, a kitchen cupboard door
        "lubricte lock on front door",
        "renew window restrictr",
        "kitchen cupbord door hanging off",
    ],
)
def test_dangerous_near_misses_are_not_flagged(vocab: Vocabulary, text: str) -> None:
    assert cats(vocab, text) == []


# --- abbreviations --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "location"),
    [
        ("bedrm dr lck brkn - rnw", ["lock_change"], "internal"),
        ("bthrm door lock rnwd", ["lock_change"], "internal"),
        ("FED kckd in", ["door_damage"], "external"),
        ("prop broken into OOH", ["forced_entry"], "unknown"),
        ("tnt lckd out pls attend", ["lost_keys"], "unknown"),
        ("w/c door lock chgd", ["lock_change"], "internal"),
        ("frnt dr frcd by police", ["door_damage", "forced_entry"], "external"),
    ],
)
def test_abbreviations_are_expanded(vocab: Vocabulary, text: str, expected: list[str], location: str) -> None:
    row = read(vocab, text)
    assert row["categories"].item().to_list() == expected
    assert row["location"].item() == location


def test_an_analyst_can_add_an_abbreviation(vocab: Vocabulary) -> None:
    data = vocab_data()
    assert cats(vocab, "snb renewed") == []
    data["normalise"]["abbreviations"]["snb"] = "nightlatch"
    assert cats(Vocabulary.from_dict(data), "snb renewed") == ["lock_change"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["normalise"]["abbreviations"].update({"rnw": ""}), "normalise.abbreviations.rnw"),
        (lambda d: d["normalise"]["abbreviations"].update({"r*w": "renew"}), "normalise.abbreviations.r*w"),
        (lambda d: d["normalise"].update({"abbreviations": ["rnw"]}), "normalise.abbreviations must be"),
        (lambda d: d["normalise"]["corrections"].update({"never_correct": ["Dorr"]}), "never_correct[0]"),
        (lambda d: d["normalise"]["corrections"].update({"not_targets": "door"}), "not_targets must be"),
    ],
)
def test_a_bad_entry_is_named(change: Any, message: str) -> None:
    data = vocab_data()
    change(data)
    with pytest.raises(
        VocabularyError, match=message.replace("*", r"\*").replace("[", r"\[").replace(".", r"\.")
    ):
        Vocabulary.from_dict(data)


def test_a_bad_entry_names_the_file(tmp_path: Path) -> None:
    data = vocab_data()
    data["normalise"]["abbreviations"]["pls"] = None
    path = tmp_path / "vocabulary.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(UserError, match=r"vocabulary\.yaml: normalise\.abbreviations\.pls"):
        load_vocabulary(str(path))


# --- word order within a clause ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BATHROOM DOOR LOCK BROKEN - RENEW", ["lock_change"]),
        ("lock to bedroom door snapped needs replacing", ["lock_change"]),
        ("bedroom door lock broken, rnw", ["lock_change"]),
        ("renew broken lock to bathroom door", ["lock_change"]),
        ("lock on back door bust needs new one", ["lock_change"]),
        ("lock on back door bust, new one fitted", ["lock_change"]),
        ("front door won't close after being damaged", ["door_damage"]),
        ("door to lounge damaged and will not shut", ["door_damage"]),
        ("damaged front door won't close", ["door_damage"]),
        ("gain entry and renew cylinder", ["lock_change"]),
        ("window in bedroom smashed", ["window_damage"]),
        ("smashed bedroom window", ["window_damage"]),
    ],
)
def test_word_order_is_free_within_a_clause(vocab: Vocabulary, text: str, expected: list[str]) -> None:
    assert cats(vocab, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "lock broken on front door",  # a fault report, no renewal: not a lock change
        "lock broken, pls attend",
        "bathroom door wont close, catching on frame",  # a fault, not damage
        "door will not close, not damaged",
        "lock broken, tenant to provide access",  # "provide" is not a renewal of the lock
        "window lock broken, renew",  # the bare renewal joins a window lock: still a look-alike
        "lock broken, new one on order for tuesday",  # not only a renewal: the clause says more
        "hot water cylinder leaking, renew",  # a bare renewal clause joins a hot-water cylinder: still not a lock
    ],
)
def test_free_word_order_keeps_the_contracts_line(vocab: Vocabulary, text: str) -> None:
    assert "lock_change" not in cats(vocab, text)
    assert "door_damage" not in cats(vocab, text)


def test_a_bare_renewal_does_not_reach_past_the_clause_after_it(vocab: Vocabulary) -> None:
    # "renew door" names its own object: the lock of the clause before is not renewed
    assert cats(vocab, "lock broken, renew door") == ["door_damage"]


# --- generalisation mends (issue 16, second round; phrases in our own words) -------------------------------------


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        (
            "lsot",
            "lost",
        ),  # 4 letters next to "lot", but a swap of neighbours makes exactly one vocabulary word
        ("olck", "lock"),
        ("gass", None),  # no swap explains it: still left alone
        ("rnew", None),  # a dropped letter, next to "new": left to the spellings list
    ],
)
def test_a_swap_overrides_the_short_word_guard(word: str, expected: str | None) -> None:
    corrector = Corrector(["lost", "lock", "glass", "renew", "door"])
    assert corrector.correct(word) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a barrel is a lock cylinder (a euro cylinder is a "barrel")
        ("change barrel on front door, tenant worried", ["lock_change"]),
        ("euro barrel to back door renewed", ["lock_change"]),
        ("fit new lock barrel", ["lock_change"]),
        ("barrel bolt on bathroom door loose, renew", []),  # a slide bolt, not a lock
        ("renew water barrel in garden", []),
        # slips that are English words or next to common short words, listed as spellings
        ("rnew lock on back door", ["lock_change"]),
        ("side dior kicked in", ["door_damage"]),
        ("lock bust, rene", ["lock_change"]),
        ("rene asked for a callback about the boiler", []),  # a name, where no renewal stands
        ("keys lsot, tenant cannot get in", ["lost_keys"]),
        # a clause asking for the renewal joins the lock of the clause before
        ("bedroom lock snapped, needs a new one", ["lock_change"]),
        ("lock on kitchen door broken, tenant wants replacement", ["lock_change"]),
        ("lock on bathroom door has come away and needs replacing", ["lock_change"]),
        ("took out broken sashlock from bedroom door and fitted new", ["lock_change"]),
        # a dash ends what a renewal or damage word before it refers to
        ("renew lamp - communal entrance door", []),
        ("replace bulb - outside back door", []),
        ("fix lamp - front door", []),
        ("renew - front entrance door", ["door_damage"]),  # the dash straight after the verb: the door
        ("front door - kicked in", ["door_damage"]),
        ("repaint door - damage to wall from damp", []),
        # broke / broken glass in either order; breaking in to get in is forcing entry
        ("tenant broke the glass in the bedroom window", ["window_damage"]),
        ("broke glass to get in through kitchen window", ["forced_entry", "window_damage"]),
        ("kicked back door to get in", ["door_damage", "forced_entry"]),
        ("police broke the door down", ["door_damage", "forced_entry"]),
        ("glass smashed and locks need changing", ["lock_change", "window_damage"]),
        ("frame splintered on front door", ["door_damage"]),
        ("door rammed overnight", ["door_damage", "forced_entry"]),
        ("mailbox key lost", []),
    ],
)
def test_generalisation_mends(vocab: Vocabulary, text: str, expected: list[str]) -> None:
    assert cats(vocab, text) == expected


def test_a_gap_that_never_crosses_a_dash() -> None:
    assert re.search(compile_pattern("renew ~:3 door", {}), " renew front door ")
    assert not re.search(compile_pattern("renew ~:3 door", {}), " renew lamp ~ front door ")
    assert re.search(compile_pattern("renew ~3 door", {}), " renew lamp ~ front door ")  # "~N" crosses it


# --- slips that land on other words, vowel keys, hinges (issue 16, third round) ------------------------------


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("spilt", "split"),  # a swap that makes a rare English word: split is 93 times as common
        ("kegs", "keys"),  # y hit as g (they touch)
        ("loci", "lock"),  # k hit as i (k sits below i and o)
        ("widows", "windows"),  # a dropped letter
        ("lick", None),  # lock is only 6 times as common as lick: a guess too far
        ("luck", None),
        ("broker", None),  # broken is twice as common: left as written
        ("loft", None),  # f does not touch s: not a keyboard slip of lost, and lofts are repaired
        ("moor", None),  # m does not touch d
        ("clocked", None),  # a letter added, not doubled: not a slip of locked
        ("poor", None),  # door is hardly commoner
        ("cleat", None),  # not a head word: only the listed targets are read back
        # one vowel written for another, a slip by ear, under the same ratio (fifth round)
        ("lust", "lost"),  # lost is 24 times as common
        ("dour", "door"),
        ("lacks", None),  # locks only twice as common
        ("luck", None),
    ],
)
def test_a_slip_that_makes_another_word(word: str, expected: str | None) -> None:
    corrector = Corrector(
        ["split", "keys", "lock", "locks", "windows", "lost", "door", "locked", "broken", "clear"],
        real_word_targets=["split", "keys", "lock", "locks", "windows", "lost", "door", "locked", "broken"],
    )
    assert corrector.correct(word) == expected
    off = Corrector(["split", "keys"], real_word_targets=["split", "keys"], real_word_ratio=0)
    assert off.correct("spilt") is None and off.correct("kegs") is None


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("lkck", "lock"),  # o hit as k: the only vowel-less slip a vocabulary word explains
        ("dppr", None),  # two letters wrong
        ("bthrm", None),  # an abbreviation, not a slip (the abbreviation list reads it)
        ("gwpq", None),
    ],
)
def test_a_vowel_hit_for_the_key_beside_it(word: str, expected: str | None) -> None:
    assert Corrector(["lock", "door", "bathroom"]).correct(word) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lounge door came off its hinges and is split down the panel", ["door_damage"]),
        ("back door off the hinges and smashed, make safe", ["door_damage"]),
        ("lounge door off its hinges, rehang", []),  # off its hinges alone: rehung, no damage said
        ("wardrobe door off hinges and split", []),  # not a dwelling door
        ("hinges on bedroom door broken", []),  # damage said of the hinges
        ("tenant lost keys, partner took the kegs", ["lost_keys"]),
        ("front door frame spilt after kick", ["door_damage"]),
        ("please look at loft hatch", []),
        ("boiler clocked up fault code, reset", []),
    ],
)
def test_third_round_mends(vocab: Vocabulary, text: str, expected: list[str]) -> None:
    assert cats(vocab, text) == expected


def test_a_real_word_correction_shows_in_the_evidence(vocab: Vocabulary) -> None:
    evidence = read(vocab, "bedroom door spilt down the middle")["evidence"].item()
    assert evidence == "door_damage: door split (spilt -> split)"


@pytest.mark.parametrize("ratio", [-1, "high", True, 20_000])
@pytest.mark.parametrize("key", ["real_word_ratio", "real_word_beside_ratio"])
def test_a_bad_real_word_ratio_is_named(ratio: Any, key: str) -> None:
    data = vocab_data()
    data["normalise"]["corrections"][key] = ratio
    with pytest.raises(VocabularyError, match=rf"normalise\.corrections\.{key} must"):
        Vocabulary.from_dict(data)


# --- our own development set ------------------------------------------------------------------------------------

# tests/data/robustness_dev.csv: 258 descriptions written for the second round of issue 16 and worked on openly
# (its misses were read and mended), so it is a regression guard, not a test of generalisation.
OWN_DEV = Path(__file__).resolve().parents[1] / "data" / "robustness_dev.csv"


def test_own_development_set(vocab: Vocabulary) -> None:
    dev = pl.read_csv(OWN_DEV, infer_schema=False)
    assert dev.height >= 200
    assert set(dev["kind"]) == {"red_flag", "look_alike", "ordinary"}
    truth = dev["categories"].fill_null("").str.split(";").to_list()
    out = read(vocab, *dev["description"].to_list())
    tp = fp = fn = 0
    for labelled, found in zip(truth, out["categories"].to_list(), strict=True):
        want, got = {c for c in labelled if c}, set(found)
        assert want <= set(CATEGORIES)
        tp, fp, fn = tp + len(want & got), fp + len(got - want), fn + len(want - got)
    assert 2 * tp / (2 * tp + fp + fn) >= 0.98  # 0.990 when written down
    clean = dev.with_columns(got=out["categories"].list.len()).filter(pl.col("kind") != "red_flag")
    assert clean["got"].sum() == 0  # no look-alike or ordinary job flagged
    located = dev.with_columns(got=out["location"]).filter(
        pl.col("got").is_not_null() & (pl.col("location") != "")
    )
    assert (located["got"] == located["location"]).mean() >= 0.95


# --- the hand-labelled sets A, B (and C) ------------------------------------------------------------------------

# Sets A (robustness_set.csv) and B (robustness_set_b.csv) were frozen generalisation tests until issue 16's fifth
# round opened them as development sets (tests/data/README.md): their misses were read and mended by class, so
# these floors are regression guards, just under the figures measured at the end of that round (A 1.000, B 0.991;
# before the round A 0.946, B 0.906). Set C (robustness_set_c.csv), written blind as the frozen generalisation
# test, is scored here only once it has a floor: after its one measurement is logged in tests/data/README.md,
# the lead adds "robustness_set_c.csv": <floor> below. Until then it is skipped, never scored.
SET_FLOORS = {"robustness_set.csv": 0.99, "robustness_set_b.csv": 0.98, "robustness_set_c.csv": 0.96}
DATA = FROZEN.parent
SETS_PRESENT = sorted({*SET_FLOORS, *(p.name for p in DATA.glob("robustness_set*.csv"))})


@pytest.mark.parametrize("name", SETS_PRESENT)
def test_hand_labelled_set_scores_at_least_its_floor(vocab: Vocabulary, name: str) -> None:
    if name not in SET_FLOORS:
        pytest.skip(f"{name}: no floor yet; add one to SET_FLOORS once its measurement is logged")
    frozen = pl.read_csv(DATA / name, infer_schema=False)
    assert frozen.height >= 300
    truth = frozen["categories"].fill_null("").str.split(";").to_list()
    predicted = read(vocab, *frozen["description"].to_list())["categories"].to_list()
    tp = fp = fn = 0
    for labelled, found in zip(truth, predicted, strict=True):
        want, got = {c for c in labelled if c}, set(found)
        assert want <= set(CATEGORIES)
        tp, fp, fn = tp + len(want & got), fp + len(got - want), fn + len(want - got)
    micro_f1 = 2 * tp / (2 * tp + fp + fn)
    assert micro_f1 >= SET_FLOORS[name]
    flagged = {
        kind: sum(1 for k, got in zip(frozen["kind"], predicted, strict=True) if k == kind and got)
        for kind in ("look_alike", "ordinary")
    }
    assert flagged["ordinary"] <= 1  # A: 1 of 130 before issue 16, B: 0 of 93; corrections must not add any
    # A 5 and B 6 of 100 before the fifth round, 0 after; C (blind, measured once) 3 of 93
    assert flagged["look_alike"] <= {"robustness_set_c.csv": 3}.get(name, 2)


# --- fifth round: failure classes of the development sets A and B, mended by class ------------------------------
# Each case is our own wording (not a row of any set); the classes are listed in docs/classification.md.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a lock renewed, with the door it is on named after the verb: the door is its place, not renewed
        ("barrel swapped kitchen door, two keys left", ["lock_change"]),
        ("sashlock replaced and front door adjusted", ["lock_change"]),
        ("nightlatch change on rear entrance door as asked", ["lock_change"]),
        ("deadlocks renewed to both front and side doors", ["lock_change"]),
        ("dog flap installed on back door", []),
        ("replace draught excluder on side door", []),
        ("renew entrance door maglock", []),
        ("communal door buzzer smashed", []),
        # ... while a door renewed, or a door and a lock, still are
        ("renew front door", ["door_damage"]),
        ("replace rear door and lock", ["door_damage", "lock_change"]),
        ("new lock fitted, front door smashed", ["door_damage", "lock_change"]),
    ],
)
def test_fifth_round_a_lock_renewed_on_a_door(vocab: Vocabulary, text: str, expected: list[str]) -> None:
    assert cats(vocab, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # damage said in the clause after the door, of the door or of its frame, panel or lining
        ("back door wont shut, damaged along the bottom rail", ["door_damage"]),
        ("lounge door off its hinges, frame cracked", ["door_damage"]),
        ("toilet door hanging off, lining split", ["door_damage"]),
        ("kitchen door hanging off and splintered", ["door_damage"]),
        ("front door frame damages after the incident", ["door_damage"]),  # "damages", the noun's plural
        ("unable to lock bedroom door after it was kicked", ["door_damage"]),
        # a door hanging off with nothing broken is rehung; a cupboard's is not a dwelling's door
        ("bathroom door hanging off, rehang", []),
        ("wardrobe door hanging off, frame split", []),
        ("back door wont close, window cracked", ["window_damage"]),
        # after a forced entry, a door made safe, secured or hanging off was damaged by it
        ("police entry forced, flat door made secure", ["door_damage", "forced_entry"]),
        ("burglars got in overnight, make safe the back door", ["door_damage", "forced_entry"]),
        ("break-in last week - lounge door hanging off", ["door_damage", "forced_entry"]),
        ("intruder got in by the side door, make safe", ["forced_entry"]),  # made safe: no door named
        ("kitchen door beyond repair, requires new door", ["door_damage"]),
    ],
)
def test_fifth_round_door_damage_across_clauses(vocab: Vocabulary, text: str, expected: list[str]) -> None:
    assert cats(vocab, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a renewal in a clause of its own, in the forms people write it
        ("toilet door lock jammed, needs changing", ["lock_change"]),
        ("latch on bathroom door snapped, fit new", ["lock_change"]),
        ("lock on back door seized, resident wants them replaced", ["lock_change"]),
        ("replace: kitchen door lock, broken", ["lock_change"]),
        ("front door kicked, lock bust, renew both", ["door_damage", "lock_change"]),
        ("mortice lock to side door stiff and jammed ~ locksmith to renew", ["lock_change"]),
        ("lock broken on front door, pls attend", []),  # still a fault report
        # a bare cylinder and its door in any order
        ("cylinder swapped on side door", ["lock_change"]),
        ("cyl back door change", ["lock_change"]),
        ("cylinder for rear door requires changing", ["lock_change"]),
        ("cylinder replaced, kitchen door", ["lock_change"]),
        ("cylinder leaking in airing cupboard, replace", []),
        ("hot water cylinder changed", []),
    ],
)
def test_fifth_round_renewals(vocab: Vocabulary, text: str, expected: list[str]) -> None:
    assert cats(vocab, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # keys taken or kept by someone else are keys taken (the contract: "keys lost, taken or not working")
        ("change locks please, ex husband kept a key", ["lock_change", "lost_keys"]),
        ("tenants ex partner has keys to the flat", ["lost_keys"]),
        ("boyfriend took the keys, tenant wants new lock", ["lock_change", "lost_keys"]),
        ("resident unable to get the key to turn in the back door", ["lost_keys"]),
        ("caretaker has a key to the bin store", []),
        ("tenant has keys for meter cupboard", []),
        # a key broken in a lock is a key not working, not a break-in
        ("resident locked out, key broke in the cylinder", ["lost_keys"]),
        ("flat broken into, front door forced", ["door_damage", "forced_entry"]),
        ("someone broke in through the side door", ["forced_entry"]),
        # a lock-out opened by drilling the lock is a forced entry (the contract: "lock-out")
        (
            "locked out, locksmith drilled out the cylinder and fitted new",
            ["forced_entry", "lock_change", "lost_keys"],
        ),
        # a boiler's lockout is a fault, a car-park fob is not a dwelling's key
        ("boiler showing lockout, reset", []),
        ("heating system locked out again", []),
        ("key fob for the bike store not working", []),
    ],
)
def test_fifth_round_keys(vocab: Vocabulary, text: str, expected: list[str]) -> None:
    assert cats(vocab, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("brick through lounge window", ["window_damage"]),
        ("rock thrown through the kitchen window", ["window_damage"]),
        ("glazed 3 panes in back door", ["window_damage"]),
        ("window in back door smashed", ["window_damage"]),  # the glass of a door: reglazing, not the door
        # look-alikes: near a door, on a cooker, a door's closer
        ("crack in pavement outside back door", []),
        ("glass on the oven hob shattered", []),
        ("door closer on rear door damaged", []),
        ("garage lock jammed, renew lock", []),
    ],
)
def test_fifth_round_windows_and_look_alikes(vocab: Vocabulary, text: str, expected: list[str]) -> None:
    assert cats(vocab, text) == expected


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("smashed window in hallway", "internal"),
        ("window forced at the back of the house", "external"),
    ],
)
def test_fifth_round_location(vocab: Vocabulary, text: str, location: str) -> None:
    assert read(vocab, text)["location"].item() == location


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("lockd", "locked"),  # the "e" of a past tense dropped: not "locks" (d beside s)
        ("crackd", "cracked"),
        ("boardd", "boarded"),
        ("renewd", "renewed"),
        ("dorr", "door"),  # other slips as before
    ],
)
def test_a_past_tense_missing_its_e(vocab: Vocabulary, word: str, expected: str) -> None:
    assert vocab.corrector is not None
    assert vocab.corrector.correct(word) == expected


def test_a_word_under_a_vocabulary_stem_is_not_corrected() -> None:
    # "reglazing" is read by the stem re ?glaz[a-z]*: never "replacing", two edits away
    corrector = Corrector.from_vocabulary(["re ?glaz[a-z]*", "replacing", "replaced"])
    assert corrector.correct("reglazing") is None
    assert corrector.correct("reglazed") is None
    assert corrector.correct("replacng") == "replacing"
    # ... but a slip of a word under the stem is still read as that word
    stemmed = Corrector.from_vocabulary(["forc[a-z]*", "forced", "force", "fenced"])
    assert stemmed.correct("forcedd") == "forced"
    assert stemmed.correct("forcrd") == "forced"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("forceed", "forced"),
        ("burglarry", "burglary"),
        ("iock", "lock"),  # "rock" is a word the rules read (a rock through a window), not a correction
        ("damagex", "damaged"),  # "damages" likewise
    ],
)
def test_words_the_fifth_round_added_do_not_take_slips(vocab: Vocabulary, word: str, expected: str) -> None:
    assert vocab.corrector is not None
    assert vocab.corrector.correct(word) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bedroom window reglazed after the storm", ["window_damage"]),
        ("resident lockd out of flat", ["lost_keys"]),
        ("lock changed after tenant lust her keys", ["lock_change", "lost_keys"]),
    ],
)
def test_fifth_round_corrections_in_context(vocab: Vocabulary, text: str, expected: list[str]) -> None:
    assert cats(vocab, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # call-centre notes in "topic - place - state" order
        ("kicked in and won't shut - back door", ["door_damage"]),
        ("latch - toilet door - snapped, resident wants it replaced", ["lock_change"]),
        ("handle - kitchen door - broken", []),
        ("bedroom door was put through by her partner", ["door_damage"]),
        ("boarded up the glazed door panel, lounge", ["window_damage"]),
        ("brake-in reported at the flat overnight", ["forced_entry"]),
        ("renew lamp - communal entrance door", []),  # still: the dash ends what the renewal refers to
    ],
)
def test_fifth_round_topic_place_state(vocab: Vocabulary, text: str, expected: list[str]) -> None:
    assert cats(vocab, text) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("lick", "lock"),  # lock is 6.5 times as common
        ("broker", "broken"),  # 2.3 times, a letter changed (r for n: not neighbouring keys)
        ("luck", None),  # lock only 1.3 times as common
        ("floor", None),  # door hardly commoner
        ("spilt", None),  # already read as split everywhere (the 20x rule), so not listed here
        ("clear", None),  # not a head word's neighbour
    ],
)
def test_a_real_word_read_beside_a_head_word(word: str, expected: str | None) -> None:
    corrector = Corrector(
        ["split", "lock", "door", "broken", "clear"],
        real_word_targets=["split", "lock", "door", "broken"],
        real_word_beside_ratio=2,
    )
    assert corrector.beside_head_words([word]) == ({word: expected} if expected else {})
    off = Corrector(["lock"], real_word_targets=["lock"], real_word_beside_ratio=0)
    assert off.beside_head_words(["lick"]) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bathroom door lick snapped, replace", ["lock_change"]),
        ("back door broker, needs replacing", ["door_damage"]),
        ("give the front door a lick of paint", []),  # not beside a head word: stays "lick"
        ("broker rang about the rent", []),
        ("door gloss paint chipped", []),  # gloss is listed as never corrected
    ],
)
def test_fifth_round_real_words_beside_head_words(vocab: Vocabulary, text: str, expected: list[str]) -> None:
    assert cats(vocab, text) == expected


def test_a_word_read_beside_a_head_word_is_noted(vocab: Vocabulary) -> None:
    evidence = read(vocab, "bathroom door lick snapped, replace")["evidence"].item()
    assert "lick -> lock" in evidence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # found by probing with our own phrasings after the sets' classes were mended
        ("keys gone, new cylinder fitted to back door", ["lock_change", "lost_keys"]),
        ("gained access by drilling the lock, tenant locked out", ["forced_entry", "lost_keys"]),
        ("burglar snapped cylinder on FED to get in", ["forced_entry"]),
        ("attended after forced entry, renewed frame and secured", ["door_damage", "forced_entry"]),
        ("after the burglary renewed the window frame", ["forced_entry"]),  # not a door's frame
        ("new cylinder for the hot water, cupboard door left off", []),  # a hot-water cylinder
        ("cylinder renewed in the garden shed door", []),  # a shed's lock, named after it
        ("barrel changed in bedroom door", ["lock_change"]),
    ],
)
def test_fifth_round_probes(vocab: Vocabulary, text: str, expected: list[str]) -> None:
    assert cats(vocab, text) == expected


@pytest.mark.parametrize(
    ("text", "expected", "location"),
    [
        ("bck door smashed in", ["door_damage"], "external"),
        ("kitch window cracked", ["window_damage"], "internal"),
        ("lnge door kicked", ["door_damage"], "internal"),
        ("b/up bedroom window", ["window_damage"], "internal"),
        ("tnt lost kys", ["lost_keys"], None),
        ("bathroom lock jammed need new", ["lock_change"], "internal"),
    ],
)
def test_fifth_round_shorthand(
    vocab: Vocabulary, text: str, expected: list[str], location: str | None
) -> None:
    out = read(vocab, text)
    assert out["categories"].item().to_list() == expected
    if location:
        assert out["location"].item() == location


def test_a_vocabulary_file_that_is_not_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "vocabulary.yaml"
    path.write_text("terms:\n  lock: [locks?\n categories: {}\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"vocabulary\.yaml is not valid YAML at line \d"):
        load_vocabulary(str(path))
