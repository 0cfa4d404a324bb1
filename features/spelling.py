"""Spelling-tolerant reading of repair text: a misspelt word read as the vocabulary word it was meant to be.

Hurried call-centre notes carry keyboard slips ("lokced out", "dorr", "damamged"). Before the rules run, each
distinct word of a batch is looked at once and, if it is a slip of one of the vocabulary's own words, replaced
by it, so the rules stay written in plain words. The edit distance is SymSpell's (``symspellpy``: insertions,
deletions, substitutions and swaps of neighbouring letters each count one).

What is never corrected (each guards against a false red flag):

- words shorter than 4 letters, and any word with a digit (codes, numbers, sizes: they never reach here, as
  the caller passes runs of letters only) or without a vowel (abbreviations and codes: "bthrm", "gwpp"; the
  vocabulary's abbreviation list reads those), unless the one thing wrong is a vowel hit for a key that touches
  it and that gives exactly one vocabulary word ("lkck" -> "lock": k sits below o);
- real English words (the 82,765-word frequency list shipped with symspellpy): "look", "block", "clock",
  "poor", "grass", "gloss", "blocked", "lost" are what they say, never "lock", "door", "glass" or "locked";
  except a rare word one keyboard slip (swap, dropped or doubled letter, neighbouring key) from one of the
  vocabulary's ``real_word_targets`` (its head words: door, window, keys, split...) that is at least
  ``real_word_ratio`` times as common in English: a slip that landed on another word ("spilt" is split, "kegs"
  keys, "loci" lock), or one vowel written for another ("lust" is lost, "dour" door: a slip by ear), while
  "lick", "luck", "broker", "gloss" (too common beside their neighbour), "loft", "moor" or "clocked" (not a
  keyboard slip of lost, door, locked) are left as written;
- the vocabulary's own words and abbreviation keys, and the words listed in ``normalise.corrections``
  ``never_correct``; and a word under a stem of the vocabulary's ("reglazed" under ``re ?glaz[a-z]*``) is read
  only as a word under the same stem ("forcedd" is forced), never as another word ("replaced");
- a 4-letter word one letter away from one of the commonest short English words ("gass" is gas, not glass;
  "rnew" could be "new"): a 4-letter word has too many neighbours to guess safely, unless swapping two
  neighbouring letters gives exactly one vocabulary word ("lsot" -> "lost", "olck" -> "lock").

Edits allowed: one for words of 4 to 7 letters, two for 8 or more. Among equally close vocabulary words a past
tense with its "e" dropped wins ("lockd" -> "locked", not "locks"; "crackd" -> "cracked"), then one
with the same letters (a swap: "panle" -> "panel", not "pane"; "brokne" -> "broken", not "broke"), then
one a neighbouring key away ("dood" -> "door", not "good"), then the more common in English ("lockd" ->
"lock", and "lock out" then reads as a lock-out).
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Callable, Iterable
from functools import cache

from symspellpy import SymSpell, Verbosity

MIN_LETTERS = (
    4  # shorter words are never corrected: too many neighbours ("dor", "lok" are listed as spellings)
)
TWO_EDITS_FROM = 8  # words this long may take two edits ("brurglary"); shorter ones one
# A short English word at least this common next to a 4-letter token blocks its correction: counts in symspellpy's
# list, where about 190 three-letter words reach 30 million ("gas" 71 million, "lot" 106 million, "new" 1.5
# billion: "gass", "lsot", "rnew" are left alone), while "dot" (27 million) or "dir" no longer stop "doot" or
# "doir" being read as door.
COMMON_SHORT_WORD = 30_000_000
_VOWEL = re.compile(r"[aeiouy]")
# A real word is read as a vocabulary word only when that word is at least this many times as common in English:
# "widow" (3.8 million) beside window (103 million) is a slip, "broker" (14 million) beside broken (31 million) is
# not. Set per vocabulary (``normalise.corrections.real_word_ratio``; 0 switches it off).
REAL_WORD_RATIO = 20.0
# Beside another head word ("door lick broken", "bedroom door broker") a real word one letter from a head word is
# read as it when the head word is at least this many times as common: lock is 6.5 times lick, broken 2.3 times
# broker; luck (lock 1.3 times) and floor (door 1.05 times) stay. Set per vocabulary
# (``normalise.corrections.real_word_beside_ratio``; 0 switches it off).
REAL_WORD_BESIDE_RATIO = 2.0
# Keys that touch on a UK/US keyboard (rows staggered: a key touches the two above it and the two below it), so a
# letter hit for its neighbour is the likelier slip: "dood" is door (d beside r), not good (d far from g).
_KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _touching_keys() -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for r, row in enumerate(_KEY_ROWS):
        for c, key in enumerate(row):
            near = [row[i] for i in (c - 1, c + 1) if 0 <= i < len(row)]
            if r > 0:
                near += [_KEY_ROWS[r - 1][i] for i in (c, c + 1) if i < len(_KEY_ROWS[r - 1])]
            if r < len(_KEY_ROWS) - 1:
                near += [_KEY_ROWS[r + 1][i] for i in (c - 1, c) if 0 <= i < len(_KEY_ROWS[r + 1])]
            pairs.update((key, n) for n in near)
    return frozenset(pairs | {(b, a) for a, b in pairs})


_TOUCHING = _touching_keys()


def _touching_key_slip(word: str, term: str) -> bool:
    """True when ``word`` is ``term`` with one letter hit for a key that touches it."""
    if len(word) != len(term):
        return False
    diffs = [(a, b) for a, b in zip(word, term, strict=True) if a != b]
    return len(diffs) == 1 and diffs[0] in _TOUCHING


def _keyboard_slip(word: str, term: str) -> bool:
    """True when ``word`` is ``term`` with one keyboard slip: two neighbours swapped, a letter dropped or doubled,
    or a key hit for one that touches it."""
    if len(word) == len(term):
        diffs = [i for i, (a, b) in enumerate(zip(word, term, strict=True)) if a != b]
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1:
            i = diffs[0]
            return word[i] == term[i + 1] and word[i + 1] == term[i]
        return _touching_key_slip(word, term)
    if len(word) == len(term) - 1:
        return any(term[:i] + term[i + 1 :] == word for i in range(len(term)))
    if len(word) == len(term) + 1:
        return any(word[i] == word[i - 1] and word[:i] + word[i + 1 :] == term for i in range(1, len(word)))
    return False


def _one_letter_changed(word: str, term: str) -> bool:
    return len(word) == len(term) and sum(a != b for a, b in zip(word, term, strict=True)) == 1


def _vowel_for_vowel(word: str, term: str) -> bool:
    """True when ``word`` is ``term`` with one vowel written for another (a slip by ear: "lust", "dour")."""
    if len(word) != len(term):
        return False
    diffs = [(a, b) for a, b in zip(word, term, strict=True) if a != b]
    return len(diffs) == 1 and diffs[0][0] in "aeiou" and diffs[0][1] in "aeiou"


# A literal word inside a vocabulary regular expression, with its optional plural ("locks?", "latch(?:es)?"):
# letters not followed by a character class, "*", "(" or "?" (those are stems, "forc[a-z]*", "enforc(?:ed)"),
# and not an escape ("\b", "\d").
_LITERAL = re.compile(r"(?<![\\a-z])([a-z]{4,}?)(s\?|\(\?:es\)\?)?(?![a-z\[*(?])")
# A stem: letters followed by "[a-z]*" ("forc[a-z]*", "re ?glaz[a-z]*" once its " ?" is read as nothing).
_STEM = re.compile(r"(?<![\\a-z])([a-z]{4,})\[a-z\]\*")


@cache
def english_words() -> dict[str, int]:
    """symspellpy's English frequency list: word -> count (read once per process)."""
    path = importlib.resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
    out: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        word, _, count = line.partition(" ")
        out[word] = int(count)
    return out


def vocabulary_words(sources: Iterable[str]) -> set[str]:
    """The literal words of 4+ letters in the vocabulary's patterns and terms (with plural ``s?`` forms)."""
    words: set[str] = set()
    for source in sources:
        for m in _LITERAL.finditer(source):
            words.add(m.group(1))
            if m.group(2) == "s?":
                words.add(m.group(1) + "s")
            elif m.group(2):
                words.add(m.group(1) + "es")
    return words


def vocabulary_stems(sources: Iterable[str]) -> set[str]:
    """The stems of 4+ letters the vocabulary reads any ending of ("forc", "reglaz", "burglar")."""
    return {m.group(1) for source in sources for m in _STEM.finditer(source.replace(" ?", ""))}


class Corrector:
    """Reads a misspelt word as the vocabulary word it was meant to be (see the module docstring)."""

    def __init__(
        self,
        targets: Iterable[str],
        never_correct: Iterable[str] = (),
        *,
        real_word_ratio: float = REAL_WORD_RATIO,
        real_word_targets: Iterable[str] = (),
        stems: Iterable[str] = (),
        real_word_beside_ratio: float = 0.0,
    ) -> None:
        self.targets = frozenset(t for t in targets if len(t) >= MIN_LETTERS)
        self.stems = tuple(sorted(s for s in stems if len(s) >= MIN_LETTERS))
        self.real_word_ratio = real_word_ratio
        self.real_word_targets = frozenset(real_word_targets) & self.targets
        self.never_correct = frozenset(never_correct) | self.targets
        english = english_words()
        self._symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word in sorted(self.targets):
            # English frequency breaks ties between equally close targets; unknown domain words count 1
            self._symspell.create_dictionary_entry(word, english.get(word, 1))
        self.real_word_beside_ratio = real_word_beside_ratio
        self._seen: dict[str, str | None] = {}
        self._beside_seen: dict[str, str | None] = {}

    @classmethod
    def from_vocabulary(
        cls,
        sources: Iterable[str],
        *,
        not_targets: Iterable[str] = (),
        never_correct: Iterable[str] = (),
        real_word_ratio: float = REAL_WORD_RATIO,
        real_word_targets: Iterable[str] = (),
        real_word_beside_ratio: float = 0.0,
    ) -> Corrector:
        """Targets: the vocabulary's own words less ``not_targets``."""
        sources = list(sources)
        return cls(
            vocabulary_words(sources) - set(not_targets),
            never_correct,
            real_word_ratio=real_word_ratio,
            real_word_targets=real_word_targets,
            stems=vocabulary_stems(sources),
            real_word_beside_ratio=real_word_beside_ratio,
        )

    def correct(self, word: str) -> str | None:
        """The vocabulary word ``word`` (lower case letters) is a slip of, or None to leave it as it is."""
        if word in self._seen:
            return self._seen[word]
        fixed = self._correct(word)
        self._seen[word] = fixed
        return fixed

    def corrections(self, words: Iterable[str]) -> dict[str, str]:
        """{misspelt: vocabulary word} for the words that need correcting (each distinct word looked at once)."""
        out = {}
        for word in set(words):
            fixed = self.correct(word)
            if fixed is not None:
                out[word] = fixed
        return out

    def beside_head_words(self, words: Iterable[str]) -> dict[str, str]:
        """{real word: head word} for the words to read as a head word where they stand beside another one.

        A real English word that ``correct`` leaves alone, one letter from exactly one of ``real_word_targets``
        (a letter changed, or a keyboard slip), when that head word is at least ``real_word_beside_ratio``
        times as common in English: "lick" (lock), "broker" (broken). The caller swaps it only beside another
        head word ("door lick broken"), where the head word is what the writer meant.
        """
        out = {}
        for word in set(words):
            if word not in self._beside_seen:
                self._beside_seen[word] = self._beside(word)
            found = self._beside_seen[word]
            if found is not None:
                out[word] = found
        return out

    def _beside(self, word: str) -> str | None:
        english = english_words()
        if (
            self.real_word_beside_ratio <= 0
            or word not in english
            or word in self.never_correct
            or len(word) < MIN_LETTERS
            or word.startswith(self.stems)
            or self.correct(word) is not None
        ):
            return None
        return self._head_word(word, self.real_word_beside_ratio, (_one_letter_changed, _keyboard_slip))

    def _head_word(
        self, word: str, ratio: float, slips: tuple[Callable[[str, str], bool], ...]
    ) -> str | None:
        """The one head word ``word`` is a slip of (by one of ``slips``) that is ``ratio`` times as common."""
        english = english_words()
        floor = ratio * english[word]
        found = {
            str(s.term)
            for s in self._symspell.lookup(word, Verbosity.ALL, max_edit_distance=1)
            if s.term in self.real_word_targets
            and english.get(s.term, 0) >= floor
            and any(slip(word, str(s.term)) for slip in slips)
        }
        return found.pop() if len(found) == 1 else None

    def _correct(self, word: str) -> str | None:
        if len(word) < MIN_LETTERS or not word.isalpha() or not word.isascii() or word in self.never_correct:
            return None
        # a word under a vocabulary stem is read only as a word under the same stem ("forcedd" is forced,
        # "reglazed" is never "replaced")
        under = tuple(stem for stem in self.stems if word.startswith(stem))
        if not _VOWEL.search(word):
            return self._vowel_key_slip(word)
        if word in english_words():
            return self._real_word_slip(word)
        if len(word) == MIN_LETTERS and self._near_common_short_word(word):
            # ... unless two neighbouring letters swapped make a vocabulary word: a swap keeps every letter, so
            # "lsot" is lost (not "lot"), "olck" is lock; "gass" and "rnew" are still left alone
            return self._swapped_target(word)
        limit = 2 if len(word) >= TWO_EDITS_FROM else 1
        found = self._symspell.lookup(word, Verbosity.CLOSEST, max_edit_distance=limit)
        if under:
            found = [s for s in found if s.term.startswith(under)]
        if not found:
            return None
        # a swap of two letters (the commonest slip) keeps every letter: "panle" is panel before pane; then a key
        # hit for the one beside it: "dood" is door before good
        best = min(
            found,
            key=lambda s: (
                s.distance,
                # "lockd": the "e" of a past tense dropped, the commonest slip of a "-ed" ending
                not (word.endswith("d") and s.term == word[:-1] + "ed"),
                sorted(s.term) != sorted(word),
                not _touching_key_slip(word, s.term),
                -s.count,
                s.term,
            ),
        )
        return str(best.term)

    def _real_word_slip(self, word: str) -> str | None:
        """The vocabulary word a rare English word is one keyboard slip from, if that one is far commoner.

        Only ``real_word_targets`` are read back, and only by the slips a keyboard makes (a swap, a dropped or
        doubled letter, a key hit for the one beside it): "loft" is not lost (f is not beside s), "clocked" is
        not locked (a letter added), "moor" is not door.
        """
        if self.real_word_ratio <= 0 or not self.real_word_targets:
            return None
        return self._head_word(word, self.real_word_ratio, (_keyboard_slip, _vowel_for_vowel))

    def _vowel_key_slip(self, word: str) -> str | None:
        """The one vocabulary word a vowel-less word makes with one letter read as the vowel beside its key."""
        found = {
            word[:i] + vowel + word[i + 1 :]
            for i, ch in enumerate(word)
            for vowel in "aeiou"
            if (ch, vowel) in _TOUCHING
        } & self.targets
        return next(iter(found)) if len(found) == 1 else None

    def _swapped_target(self, word: str) -> str | None:
        swaps = (word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1))
        found = sorted(w for w in swaps if w in self.targets)
        return found[0] if len(found) == 1 else None

    @staticmethod
    def _near_common_short_word(word: str) -> bool:
        english = english_words()
        deletions = {word[:i] + word[i + 1 :] for i in range(len(word))}
        return any(english.get(d, 0) >= COMMON_SHORT_WORD for d in deletions)
