"""Red-flag classification of repair descriptions (pure and vectorised).

The vocabulary (``conf/vocabulary.yaml``, read by the caller) says what each red flag looks like; this module
only interprets it. Every rule is a regular expression run by polars (Rust regex) over whole columns, and only
over the distinct descriptions: real exports repeat schedule-of-rates lines heavily, so the work is done once
per distinct text and joined back. There is no per-row Python.

See docs/classification.md: normalise, negation, look-alikes, patterns, vetoes, location.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from features.spelling import REAL_WORD_BESIDE_RATIO, REAL_WORD_RATIO, Corrector

CATEGORIES: tuple[str, ...] = ("door_damage", "forced_entry", "lock_change", "lost_keys", "window_damage")
LOCATIONS: tuple[str, ...] = ("external", "internal", "unknown")

# What a mask leaves behind: a clause break, so words on either side of a look-alike never link up.
_BREAK = " , "
# What a dash between words becomes: a word of its own, which a negation never reaches past.
_SOFT_BREAK = "~"
_TERM = re.compile(r"\{([a-z_]+)\}")
# The rules read normalised text (``normalised_texts``), whose only blank is a plain space: the patterns say " "
# where a general pattern would say \s, which makes the largest ones about twice as fast to run.
_CONTEXT = r"(?P<ctx>(?:[^ ,]+ ){0,2}?)"
_GAP = re.compile(r"(~~|~:|~)(\d+)")


class VocabularyError(ValueError):
    """The vocabulary is malformed: the message names the section and the entry."""


@dataclass(frozen=True)
class CategoryRules:
    """One category's compiled rules (each a single regular expression, or None when the list is empty)."""

    name: str
    patterns: str
    look_alikes: str | None = None
    never_when: str | None = None


@dataclass(frozen=True)
class Vocabulary:
    """The compiled vocabulary. Build it with :meth:`Vocabulary.from_dict` from the YAML mapping."""

    words: Mapping[str, str]
    replacements: tuple[tuple[str, str], ...]
    negation: str | None
    categories: tuple[CategoryRules, ...]
    external: str
    internal: str
    police_ref: str
    communal: str
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # spelling-tolerant matching against the vocabulary's own words (features/spelling.py); None: off
    corrector: Corrector | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Vocabulary:
        """Compile the parsed ``conf/vocabulary.yaml``; raise VocabularyError naming any bad entry."""
        if not isinstance(data, Mapping):
            raise VocabularyError("the vocabulary must be a mapping with 'terms', 'categories', ...")
        terms = _terms(data.get("terms") or {})
        normalise = data.get("normalise") or {}
        if not isinstance(normalise, Mapping):
            raise VocabularyError("'normalise' must be a mapping of abbreviations, spellings, replacements")
        words: dict[str, str] = {}
        for section in ("abbreviations", "spellings"):
            entries = normalise.get(section) or {}
            if not isinstance(entries, Mapping):
                raise VocabularyError(f"normalise.{section} must be a mapping of 'written: read as' entries")
            for key, value in entries.items():
                where = f"normalise.{section}.{key}"
                if not _word_key(str(key)) or not re.fullmatch(r"[a-z0-9 /.]+", str(key).lower().strip()):
                    raise VocabularyError(f"{where}: the key must be letters, digits, spaces, '/' or '.'")
                if not isinstance(value, str | int | float) or not str(value).strip():
                    raise VocabularyError(f"{where}: the value must be the words it stands for, not empty")
                words[_word_key(str(key))] = str(value).lower().strip()
        replacements = []
        for i, pair in enumerate(normalise.get("replacements") or []):
            if not (isinstance(pair, Sequence) and len(pair) == 2):
                raise VocabularyError(f"normalise.replacements[{i}] must be [pattern, replacement]")
            replacements.append((_checked(str(pair[0]), f"normalise.replacements[{i}]"), str(pair[1])))

        negation = None
        neg = data.get("negation") or {}
        if neg.get("cues") and neg.get("targets"):
            gap = int(neg.get("max_gap_words", 3))
            cues = _alternation(str(c) for c in neg["cues"])
            targets = _alternation(str(t) for t in neg["targets"])
            negation = _checked(rf"\b{cues} +(?:[^ ,~]+ +){{0,{gap}}}?{targets}\b", "negation")

        cats = data.get("categories") or {}
        unknown = sorted(set(cats) - set(CATEGORIES))
        if unknown:
            raise VocabularyError(f"unknown categories {unknown}: the categories are {list(CATEGORIES)}")
        rules = []
        for name in CATEGORIES:
            spec = cats.get(name) or {}
            patterns = _union(spec.get("patterns"), terms, f"categories.{name}.patterns")
            if patterns is None:
                raise VocabularyError(f"categories.{name}.patterns: at least one pattern is needed")
            rules.append(
                CategoryRules(
                    name=name,
                    patterns=patterns,
                    look_alikes=_union(
                        spec.get("look_alikes"), terms, f"categories.{name}.look_alikes", across_dashes=False
                    ),
                    never_when=_union(spec.get("never_when"), terms, f"categories.{name}.never_when"),
                )
            )
        location = data.get("location") or {}
        corrections = normalise.get("corrections") or {}
        if not isinstance(corrections, Mapping):
            raise VocabularyError(
                "normalise.corrections must be a mapping (enabled, not_targets, never_correct)"
            )
        corrector = None
        if corrections.get("enabled", True):
            sources = [*terms.values(), *(r.patterns for r in rules), *(r.look_alikes or "" for r in rules)]
            sources += [*words.values(), *_listed(location, "location"), *_listed(neg, "negation")]
            ratio = _ratio(corrections, "real_word_ratio", REAL_WORD_RATIO)
            corrector = Corrector.from_vocabulary(
                sources,
                real_word_ratio=ratio,
                real_word_beside_ratio=_ratio(corrections, "real_word_beside_ratio", REAL_WORD_BESIDE_RATIO),
                real_word_targets=_word_list(corrections, "real_word_targets"),
                not_targets=_word_list(corrections, "not_targets"),
                never_correct=_word_list(corrections, "never_correct")
                | {w for k in words for w in k.split()},
            )
        return cls(
            words=words,
            replacements=tuple(replacements),
            negation=negation,
            categories=tuple(rules),
            external=_union(location.get("external"), terms, "location.external") or "$^",
            internal=_union(location.get("internal"), terms, "location.internal") or "$^",
            police_ref=_union(data.get("police_ref"), terms, "police_ref") or "$^",
            communal=_union(data.get("communal"), terms, "communal") or "$^",
            source=dict(data),
            corrector=corrector,
        )


def compile_pattern(pattern: str, terms: Mapping[str, str], *, across_dashes: bool = True) -> str:
    """One vocabulary pattern as a regular expression: ``{term}`` expanded, ``~N`` a gap of up to N words.

    Tokens are separated by spaces outside brackets; consecutive tokens match with spaces between them. A gap
    never crosses a clause break (","), so words in different sentences never combine. With
    ``across_dashes=False`` (look-alikes) a ``~N`` gap does not cross a dash between words either:
    "no access - door kicked" is not an access door; ``~:N`` never crosses one in any pattern ("renew lamp -
    communal entrance door" is not a door renewed).
    """
    tokens = _tokens(pattern)
    out: list[str] = []
    pending_gap: tuple[str, int] | None = None
    for tok in tokens:
        gap = _GAP.fullmatch(tok)
        if gap:
            kind = gap.group(1)
            # "~~": across clauses; "~:": within a clause and never across a dash; "~": within a clause
            word = r"[^ ]+" if kind == "~~" else (r"[^ ,]+" if across_dashes and kind == "~" else r"[^ ,~]+")
            pending_gap = (word, int(gap.group(2)))
            continue
        piece = _expand(tok, terms)
        if out:
            out.append(r" +" if pending_gap is None else rf" +(?:{pending_gap[0]} +){{0,{pending_gap[1]}}}?")
        out.append(piece)
        pending_gap = None
    if not out:
        raise VocabularyError(f"empty pattern {pattern!r}")
    if pending_gap is not None:  # a trailing gap takes the words after it too (masks: "demist ~3")
        out.append(rf"(?: +{pending_gap[0]}){{0,{pending_gap[1]}}}")
    return r"\b(?:" + "".join(out) + r")\b"


def normalised_texts(
    texts: pl.Expr, vocab: Vocabulary, corrections: Mapping[str, str] | None = None
) -> pl.Expr:
    """The text as the rules read it: lower case, plain words, abbreviations expanded, negations blanked.

    Input: a string expression (repair descriptions) and optionally ``corrections`` (misspelt word -> vocabulary
    word, from ``Corrector.corrections`` on this text's words), swapped in with the abbreviations.
    Output: a string expression, same length.
    """
    return _read_words(_plain_words(texts), vocab, corrections)


def _plain_words(texts: pl.Expr) -> pl.Expr:
    """Lower case, clause breaks marked, every other run of punctuation a double space (words two apart)."""
    expr = (
        texts.str.to_lowercase()
        .str.replace_all(r"['’‘`´]", "")
        .str.replace_many({"²": "2", "&": " and ", "/": " / ", "|": " "})
        .str.replace_all(r"\bre-", "re")
        .str.replace_all(r"\.(?:\s|$)|[,;:!?\r\n\t]+", _BREAK)
        # a dash between words ("no access - door"): a soft break that patterns cross, negation does not
        .str.replace_all(r"(?:^|\s)[-–—]+(?:\s|$)", f" {_SOFT_BREAK} ")
        .str.replace_all(r"([a-z])\.", "${1} ")
        # each word gets its own pair of spaces so word-for-word swaps can sit side by side
        .str.replace_all(r"[^a-z0-9,./~]+", "  ")
    )
    return pl.concat_str([pl.lit("  "), expr, pl.lit("  ")])


def _read_words(
    expr: pl.Expr,
    vocab: Vocabulary,
    corrections: Mapping[str, str] | None,
    beside: Mapping[str, str] | None = None,
) -> pl.Expr:
    """Plain words (``_plain_words``) as the rules read them: swaps, replacements, negations blanked.

    ``beside`` (real word -> head word, ``Corrector.beside_head_words``) is swapped only where the word stands
    next to one of the corrector's head words: "door lick broken" reads "door lock broken", "lick" alone stays.
    """
    swaps = {f" {k} ": f" {v} " for k, v in vocab.words.items()}
    swaps.update({f" {k} ": f" {v} " for k, v in (corrections or {}).items()})
    if swaps:
        expr = expr.str.replace_many(swaps)
    expr = pl.concat_str(
        [pl.lit(" "), expr.str.replace_all("  ", " ", literal=True).str.strip_chars(), pl.lit(" ")]
    )
    if beside and vocab.corrector is not None:
        heads = sorted(vocab.corrector.real_word_targets)
        pairs = {f" {h} {w} ": f" {h} {t} " for w, t in beside.items() for h in heads}
        pairs.update({f" {w} {h} ": f" {t} {h} " for w, t in beside.items() for h in heads})
        expr = expr.str.replace_many(pairs)
    for pattern, replacement in vocab.replacements:
        expr = expr.str.replace_all(pattern, replacement)
    if vocab.negation:
        expr = expr.str.replace_all(vocab.negation, _BREAK)
    return expr


def classify_texts(
    texts: pl.Series,
    codes: pl.Series | None,
    vocab: Vocabulary,
    sor_codes: Mapping[str, Sequence[str]],
) -> pl.DataFrame:
    """Red-flag categories of each repair description.

    Input: ``texts`` (repair descriptions, may hold nulls) and optionally ``codes`` (schedule-of-rates codes,
    same length). A code found in ``sor_codes`` (compared trimmed, upper case) decides the categories instead
    of the text; an empty list there means "never a red flag".
    Output: one row per input row, in order, with ``categories`` (list of str, sorted), ``location``
    (external / internal / unknown; null without categories), ``evidence`` (e.g. "lock_change: renew cylinder
    lock"; null without categories), ``has_police_ref`` and ``is_communal_text`` (bool).
    """
    code_map = _code_map(sor_codes)
    if codes is not None and len(codes) != len(texts):
        raise ValueError(f"codes has {len(codes)} rows but texts has {len(texts)}")
    frame = pl.DataFrame({"_text": texts.cast(pl.String)})
    distinct = frame.select(pl.col("_text").unique()).drop_nulls()
    read = _classify_distinct(distinct, vocab)
    out = frame.join(read, on="_text", how="left", maintain_order="left")

    text_cats = pl.col("_categories").fill_null(pl.lit([], dtype=pl.List(pl.String)))
    categories, evidence = text_cats, pl.col("_evidence")
    if codes is not None and code_map:
        keys = list(code_map)
        code = codes.cast(pl.String).str.strip_chars().str.to_uppercase()
        out = out.with_columns(
            _code_categories=code.replace_strict(
                keys, [list(code_map[k]) for k in keys], default=None, return_dtype=pl.List(pl.String)
            ),
            _code_evidence=code.replace_strict(
                keys,
                ["; ".join(f"{c}: sor code {k}" for c in code_map[k]) or None for k in keys],
                default=None,
                return_dtype=pl.String,
            ),
        )
        has_code = pl.col("_code_categories").is_not_null()
        categories = pl.when(has_code).then(pl.col("_code_categories")).otherwise(text_cats)
        evidence = pl.when(has_code).then(pl.col("_code_evidence")).otherwise(evidence)

    has_any = pl.col("categories").list.len() > 0
    out = out.with_columns(categories=categories, evidence=evidence).with_columns(
        location=pl.when(has_any).then(pl.col("_location").fill_null("unknown")),
        evidence=pl.when(has_any).then(pl.col("evidence")),
        has_police_ref=pl.col("_police").fill_null(False),
        is_communal_text=pl.col("_communal").fill_null(False),
    )
    return out.select("categories", "location", "evidence", "has_police_ref", "is_communal_text")


def _classify_distinct(distinct: pl.DataFrame, vocab: Vocabulary) -> pl.DataFrame:
    """Categories, evidence, location and the two booleans for each distinct text (column ``_text``).

    Built lazily and run on the streaming engine, which works through the rows in parallel batches.
    """
    plain = distinct.lazy().with_columns(_plain=_plain_words(pl.col("_text"))).collect(engine="streaming")
    corrections: dict[str, str] = {}
    beside: dict[str, str] = {}
    if vocab.corrector is not None and plain.height:
        # each distinct word of 4+ letters is looked at once, however many texts hold it (the corrector also
        # remembers words across batches); a run of letters inside a code ("jn2070") is not a word
        words = (
            plain.lazy()
            .select(pl.col("_plain").str.extract_all(r"\b[a-z]{4,}\b").explode().unique().drop_nulls())
            .collect(engine="streaming")
        )
        listed = words.to_series().to_list()
        corrections = vocab.corrector.corrections(listed)
        beside = vocab.corrector.beside_head_words(listed)
    frame = plain.lazy().with_columns(_norm=_read_words(pl.col("_plain"), vocab, corrections, beside))
    found: list[pl.Expr] = []
    for rules in vocab.categories:
        text = pl.col("_norm")
        if rules.look_alikes:
            text = text.str.replace_all(rules.look_alikes, _BREAK)
        # the phrase, plus up to two words before it in the same clause ("front" door kicked) for location
        found.append(text.str.extract_groups(_CONTEXT + "(?P<ev>" + rules.patterns + ")").alias(rules.name))
    frame = frame.with_columns(
        found,
        _police=pl.col("_norm").str.contains(vocab.police_ref),
        _communal=pl.col("_norm").str.contains(vocab.communal),
    )
    phrases, contexts = [], []
    for rules in vocab.categories:
        phrase = pl.col(rules.name).struct.field("ev")
        if rules.never_when:
            phrase = pl.when(pl.col("_norm").str.contains(rules.never_when)).then(None).otherwise(phrase)
        phrases.append(phrase.str.strip_chars().alias(f"_ev_{rules.name}"))
        context = [pl.col(rules.name).struct.field("ctx"), pl.col(rules.name).struct.field("ev")]
        contexts.append(pl.concat_str(context).alias(f"_ctx_{rules.name}"))
    frame = frame.with_columns(phrases + contexts)
    names = [r.name for r in vocab.categories]  # already sorted: CATEGORIES is alphabetical
    frame = frame.with_columns(
        _categories=pl.concat_list(
            [pl.when(pl.col(f"_ev_{n}").is_not_null()).then(pl.lit(n)) for n in names]
        ).list.drop_nulls(),
        _evidence=pl.concat_str(
            [pl.lit(f"{n}: ") + pl.col(f"_ev_{n}") for n in names], separator="; ", ignore_nulls=True
        ),
        _phrases=pl.concat_str(
            [pl.when(pl.col(f"_ev_{n}").is_not_null()).then(pl.col(f"_ctx_{n}")) for n in names],
            separator=" , ",
            ignore_nulls=True,
        ),
    )
    frame = frame.with_columns(
        _evidence=pl.when(pl.col("_evidence") != "").then(pl.col("_evidence")),
        _location=pl.when(pl.col("_categories").list.len() > 0).then(
            pl.coalesce(_location(pl.col("_phrases"), vocab), _location(pl.col("_norm"), vocab))
        ),
    )
    out = frame.select(
        "_text", "_plain", "_categories", "_evidence", "_location", "_police", "_communal"
    ).collect(engine="streaming")
    # a word read beside a head word is noted where its head word shows in the evidence
    return _noted_corrections(out, {**beside, **corrections}).drop("_plain")


def _noted_corrections(frame: pl.DataFrame, corrections: Mapping[str, str]) -> pl.DataFrame:
    """Evidence with each corrected word that it shows noted: "lost_keys: locked out (lokced -> locked)".

    Only rows with evidence and a corrected word are touched; a correction is noted on each category's phrase
    that holds the word it was read as.
    """
    if not corrections:
        return frame
    fixed = r"\b(?:" + "|".join(sorted(corrections, key=len, reverse=True)) + r")\b"
    rows = frame.filter(pl.col("_evidence").is_not_null() & pl.col("_plain").str.contains(fixed))
    if rows.is_empty():
        return frame
    table = pl.DataFrame(
        {"orig": list(corrections), "target": list(corrections.values())},
        schema={"orig": pl.String, "target": pl.String},
    )
    fixes = (
        rows.select("_text", orig=pl.col("_plain").str.extract_all(fixed))
        .explode("orig")
        .unique()
        .join(table, on="orig")
    )
    parts = (
        rows.select("_text", part=pl.col("_evidence").str.split("; "))
        .with_columns(i=pl.int_ranges(pl.col("part").list.len()))
        .explode("part", "i")
    )
    notes = (
        parts.join(fixes, on="_text")
        .filter(pl.col("part").str.contains(pl.lit(r"\b") + pl.col("target") + pl.lit(r"\b")))
        .sort("_text", "i", "orig")
        .group_by("_text", "i")
        .agg(note=(pl.col("orig") + " -> " + pl.col("target")).str.join(", "))
    )
    evidence = (
        parts.join(notes, on=["_text", "i"], how="left")
        .with_columns(
            part=pl.when(pl.col("note").is_null())
            .then(pl.col("part"))
            .otherwise(pl.col("part") + " (" + pl.col("note") + ")")
        )
        .sort("_text", "i")
        .group_by("_text")
        .agg(_noted=pl.col("part").str.join("; "))
    )
    return (
        frame.join(evidence, on="_text", how="left")
        .with_columns(_evidence=pl.coalesce("_noted", "_evidence"))
        .drop("_noted")
    )


def _location(text: pl.Expr, vocab: Vocabulary) -> pl.Expr:
    """external / internal by the first location word in ``text``; null when there is none."""
    ext = text.str.find(vocab.external)
    inner = text.str.find(vocab.internal)
    return (
        pl.when(ext.is_null() & inner.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(inner.is_null() | (ext.is_not_null() & (ext <= inner)))
        .then(pl.lit("external"))
        .otherwise(pl.lit("internal"))
    )


def _code_map(sor_codes: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for code, cats in sor_codes.items():
        if isinstance(cats, str):
            raise ValueError(f"SoR code {code}: categories must be a list, not {cats!r}")
        bad = sorted(set(cats) - set(CATEGORIES))
        if bad:
            raise ValueError(
                f"SoR code {code}: unknown categories {bad}; the categories are {list(CATEGORIES)}"
            )
        out[str(code).strip().upper()] = tuple(sorted(set(cats)))
    return out


def _terms(raw: Mapping[str, Any]) -> dict[str, str]:
    """Each term list as one alternation, terms referring to other terms expanded (longest entries first)."""
    if not isinstance(raw, Mapping):
        raise VocabularyError("'terms' must be a mapping of name: [entries]")
    pending = {str(k): [str(e) for e in (v if isinstance(v, list) else [v])] for k, v in raw.items()}
    done: dict[str, str] = {}
    for _ in range(len(pending) + 1):
        progressed = False
        for name, entries in pending.items():
            if name in done:
                continue
            refs = {r for e in entries for r in _TERM.findall(e)}
            missing = refs - set(pending)
            if missing:
                raise VocabularyError(f"terms.{name}: refers to unknown term(s) {sorted(missing)}")
            if refs <= set(done):
                expanded = [_TERM.sub(lambda m: done[m.group(1)], e) for e in entries]
                done[name] = _checked(_alternation(expanded), f"terms.{name}")
                progressed = True
        if not progressed:
            break
    circular = sorted(set(pending) - set(done))
    if circular:
        raise VocabularyError(f"terms {circular} refer to each other in a circle")
    return done


def _alternation(entries: Iterable[str]) -> str:
    items = sorted({e.strip() for e in entries if e.strip()}, key=len, reverse=True)
    return "(?:" + "|".join(items) + ")"


def _expand(token: str, terms: Mapping[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in terms:
            raise VocabularyError(f"unknown term {{{m.group(1)}}} in {token!r}")
        return terms[m.group(1)]

    return _TERM.sub(sub, token)


def _tokens(pattern: str) -> list[str]:
    """Split on spaces outside brackets."""
    tokens: list[str] = []
    current: list[str] = []
    depth = 0
    for i, ch in enumerate(pattern.strip()):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == " " and depth == 0 and pattern.strip()[i + 1 : i + 2] != "?":
            if current:
                tokens.append("".join(current))
                current = []
            continue
        current.append(ch)
    if current:
        tokens.append("".join(current))
    return tokens


def _union(patterns: Any, terms: Mapping[str, str], where: str, *, across_dashes: bool = True) -> str | None:
    if not patterns:
        return None
    if isinstance(patterns, str) or not isinstance(patterns, Sequence):
        raise VocabularyError(f"{where} must be a list of patterns")
    compiled = []
    for i, p in enumerate(patterns):
        try:
            compiled.append(compile_pattern(str(p), terms, across_dashes=across_dashes))
        except VocabularyError as exc:
            raise VocabularyError(f"{where}[{i}]: {exc}") from None
    # Every pattern checked in one query (a query each was most of building the classifier); when one fails, each
    # is checked alone to name it.
    try:
        pl.select(pl.lit("").str.contains(r).alias(f"p{i}") for i, r in enumerate(compiled))
    except pl.exceptions.ComputeError:
        for i, (p, regex) in enumerate(zip(patterns, compiled, strict=True)):
            try:
                _checked(regex, f"{where}[{i}] {p!r}")
            except VocabularyError as exc:
                raise VocabularyError(f"{where}[{i}]: {exc}") from None
    return _checked("|".join(compiled), where)


def _checked(regex: str, where: str) -> str:
    """The regex, if the Rust engine polars uses accepts it."""
    try:
        pl.Series([""], dtype=pl.String).str.contains(regex)
    except pl.exceptions.ComputeError as exc:
        detail = str(exc).split("\n\n")[0].replace("\n", " ")
        raise VocabularyError(f"{where}: not a valid regular expression ({detail})") from None
    return regex


def _listed(section: Any, where: str) -> list[str]:
    """Every string in a (nested) vocabulary section, for the corrector's word list."""
    if isinstance(section, str):
        return [section]
    if isinstance(section, Mapping):
        return [s for v in section.values() for s in _listed(v, where)]
    if isinstance(section, Sequence):
        return [s for v in section for s in _listed(v, where)]
    return []


def _ratio(section: Mapping[str, Any], key: str, default: float) -> float:
    ratio = section.get(key, default)
    if not isinstance(ratio, int | float) or isinstance(ratio, bool) or not 0 <= ratio <= 10_000:
        raise VocabularyError(f"normalise.corrections.{key} must be a number from 0 (off) to 10000")
    return float(ratio)


def _word_list(section: Mapping[str, Any], key: str) -> set[str]:
    entries = section.get(key) or []
    if isinstance(entries, str) or not isinstance(entries, Sequence):
        raise VocabularyError(f"normalise.corrections.{key} must be a list of words")
    out = set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, str) or not re.fullmatch(r"[a-z]+", entry):
            raise VocabularyError(f"normalise.corrections.{key}[{i}] {entry!r}: write one lower-case word")
        out.add(entry)
    return out


def _word_key(key: str) -> str:
    """An abbreviation key as the normalised text spells it, words two spaces apart."""
    words = re.sub(r"[^a-z0-9,./]+", " ", key.lower().replace("/", " / ")).split()
    return "  ".join(words)
