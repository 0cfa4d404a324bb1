"""`redflags classify` (red flags for a CSV of repair descriptions) and the classifier that ingest uses."""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from pathlib import Path

import polars as pl
import yaml

from features.classification import Vocabulary, VocabularyError, classify_texts
from pipelines.core.errors import UserError
from pipelines.core.settings import ClassificationSettings, resolve_conf_file

log = logging.getLogger(__name__)

Classifier = Callable[[pl.Series, "pl.Series | None"], pl.DataFrame]


def load_vocabulary(name: str) -> Vocabulary:
    """The vocabulary file (relative names are looked up in conf/), compiled."""
    path = resolve_conf_file(name)
    try:
        # libyaml's loader where PyYAML was built with it: the same data, a tenth of the time
        data = yaml.load(
            path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )
    except OSError as exc:
        raise UserError(f"cannot read the vocabulary file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise UserError(f"the vocabulary file {path} is not valid YAML{where}") from None
    try:
        return Vocabulary.from_dict(data)
    except VocabularyError as exc:
        raise UserError(f"the vocabulary file {path}: {exc}") from None


def classifier_from_settings(settings: ClassificationSettings) -> Classifier:
    """A function (descriptions, optional SoR codes) -> one classification row per input row, in order.

    The vocabulary is read and compiled once, here; the returned function is pure and vectorised, for millions
    of rows. Columns: categories, location, evidence, has_police_ref, is_communal_text.
    """
    vocab = load_vocabulary(settings.vocabulary_file)
    sor_codes = {code: tuple(cats) for code, cats in settings.sor_codes.items()}
    try:  # check the SoR code map now, not on the first batch
        classify_texts(pl.Series([""], dtype=pl.String), pl.Series([""], dtype=pl.String), vocab, sor_codes)
    except ValueError as exc:
        raise UserError(f"setting 'classification.sor_codes': {exc}") from None

    def classify(texts: pl.Series, codes: pl.Series | None = None) -> pl.DataFrame:
        return classify_texts(texts, codes, vocab, sor_codes)

    return classify


def read_csv_text(path: Path) -> pl.DataFrame:
    """A CSV file as text columns: UTF-8 (with or without BOM) or Windows-1252; delimiter sniffed."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read the file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    if not text.strip():
        raise UserError(f"{path}: the file is empty")
    first_line = text.splitlines()[0]
    try:
        delimiter = csv.Sniffer().sniff(first_line, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    try:
        return pl.read_csv(text.encode("utf-8"), separator=delimiter, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        detail = str(exc).split("\n")[0]
        raise UserError(f"{path}: not a readable CSV file ({detail})") from None
