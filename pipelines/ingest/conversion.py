"""Conversion SQL: the statement that turns a stage table of text into typed canonical rows (dates in the
mapping's formats, amounts, allowed values folded to their usual spellings), and the contract's date bounds.

Grain: one converted row per staged row; rows that do not convert are reported by the quarantine checks.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pipelines.ingest.mapping import PLANNED_WORKS_PLACE, CanonicalExtract, ExtractMapping
from pipelines.ingest.readers import quote_identifier

EARLIEST_EVENT = dt.date(1990, 1, 1)


# A weekly rent snapshot dated on a Friday may carry the coming Sunday as its week-ending date.
FUTURE_GRACE_DAYS = {"week_ending": 6}


DMY_FORMATS = (
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d %b %Y",
    "%d-%b-%Y",
    "%d %B %Y",
    "%d-%B-%Y",
    "%d %b %Y %H:%M",
    "%d-%b-%Y %H:%M:%S",
)


MDY_FORMATS = (
    "%m/%d/%Y",
    "%m-%d-%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
)


# ISO dates are unambiguous, and Excel date cells reach us as ISO text, so they are accepted whatever the
# mapping says.
ISO_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y/%m/%d",
)


# Four-digit years only: '03/04/25' is refused rather than read as the year 25.
DATE_SHAPE = (
    r"\d{1,2}[/.-]\d{1,2}[/.-]\d{4}([ T].*)?"
    r"|\d{4}[-/]\d{1,2}[-/]\d{1,2}([ T].*)?"
    r"|\d{1,2}[ -][A-Za-z]{3,9}[ -]\d{4}( .*)?"
)


NUMERIC_DATE = r"\d{1,2}[/.-]\d{1,2}[/.-]\d{4}( .*)?"


AMOUNT_SHAPE = r"\(?[-+]?£?[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\)?|\(?[-+]?£?[-+]?\.\d+\)?"


RAW_EXTRA = {
    "repairs": ("categories", "location", "evidence", "has_police_ref", "is_communal_text"),
    "recharges": ("categories",),
}


def param_name(name: str) -> str:
    """A bound-parameter name for a canonical column (identifiers are canonical, never the landlord's)."""
    if not re.fullmatch(r"[a-z_]+", name):
        raise ValueError(name)
    return name


def _text_sql(col: str) -> str:
    return f"nullif(trim({quote_identifier(col)}), '')"


def accepted_date_formats(spec: ExtractMapping) -> list[str]:
    """The formats a date may be written in: the mapping's ``date_format`` or day-first ones, and ISO."""
    return list(DMY_FORMATS + ISO_FORMATS) if spec.date_format is None else [spec.date_format, *ISO_FORMATS]


def convert_sql(
    extract: CanonicalExtract,
    spec: ExtractMapping,
    stage: str,
    out: str,
    typed: Mapping[str, str] | None = None,
    *,
    source_sql: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """SQL creating ``out`` from the text stage: typed canonical columns, ``<col>__problem`` text per column,
    ``<col>__readable`` for typed columns, ``<col>__mdy``/``<col>__dmy`` hints for day-first detection (dates
    read from text; a date the CSV reader parsed with one format cannot be US-style), ``__bad``.

    Four layers, so each parse runs once per value: text -> raw parse -> checked value -> typed columns and
    problems. ``typed`` (column -> the format DuckDB's CSV reader parsed it with): columns the stage already
    holds as DATE, TIMESTAMP or DECIMAL (``read_typed``: every value parsed, none rejected), so only
    the blank and range checks remain; the output is the same as from text.
    ``source_sql`` (a SELECT with ``__file_idx`` and the canonical columns, e.g. ``readers.TypedRead.sql``)
    replaces the stage; its rows have no ``__row``, and neither has ``out``: the caller numbers them.
    Bound parameters: formats, value maps, allowed values, and the per-file ``$known_on`` list (from the
    caller).
    """
    params: dict[str, Any] = {}
    dayfirst_default = spec.date_format is None
    date_formats = accepted_date_formats(spec)
    params["earliest"] = EARLIEST_EVENT
    value_map = spec.value_map
    ids = ["__file_idx"] if source_sql is not None else ["__file_idx", "__row"]
    text_layer: list[str] = list(ids)
    parse_layer: list[str] = ["*"]
    check_layer: list[str] = ["*"]
    outer: list[str] = list(ids)
    problems: list[str] = []

    def qi(name: str) -> str:
        return quote_identifier(name)

    typed = dict(typed or {})
    for c in extract.columns:
        q = qi(c.name)
        text = qi(c.name + "__text")
        pre = c.name in typed
        text_layer.append(f"{q} as {text}" if pre else f"{_text_sql(c.name)} as {text}")
        blank = f"when {text} is null then 'blank'" if c.required else ""
        pn = param_name(c.name)
        if c.name in value_map:
            params[f"vk_{pn}"] = list(value_map[c.name])
            params[f"vv_{pn}"] = list(value_map[c.name].values())
            mapped = f"coalesce(($vv_{pn})[list_position($vk_{pn}, lower({text}))], {text})"
        else:
            mapped = text
        if c.kind == "text":
            outer.append(f"{mapped} as {q}")
            problem = f"case {blank} end" if blank else "NULL"
        elif c.kind == "category":
            params[f"allowed_{pn}"] = list(c.allowed)
            params[f"folded_{pn}"] = [_fold_py(a) for a in c.allowed]
            folded = qi(c.name + "__mapped")
            # The usual spellings (the allowed values and value-map keys, in common cases) are looked up folded
            # already; only the rest go through the value map and the fold, four string functions per row.
            spellings = _usual_spellings(c.allowed, value_map.get(c.name, {}))
            params[f"spell_{pn}"] = list(spellings)
            params[f"spell_folded_{pn}"] = list(spellings.values())
            parse_layer.append(
                f"coalesce(($spell_folded_{pn})[list_position($spell_{pn}, {text})], {_fold_sql(mapped)}) "
                f"as {folded}"
            )
            check_layer.append(
                f"($allowed_{pn})[list_position($folded_{pn}, {folded})] as {qi(c.name + '__value')}"
            )
            value = qi(c.name + "__value")
            outer += [f"{value} as {q}", folded]  # GX checks the folded value, before it is made canonical
            problem = (
                f"case {blank} when {text} is not null and {value} is null then "
                f"'not one of {', '.join(c.allowed)} (after the mapping''s value map)' end"
            )
        elif c.kind in ("date", "timestamp"):
            raw = qi(c.name + "__p0")
            parsed = qi(c.name + "__parsed")
            # Two-digit years ('03/04/25' -> the year 25) fall to the year check below.
            if pre:
                parse_layer.append(f"{text} as {raw}")  # a DATE or TIMESTAMP already
            else:
                parse_layer.append(f"try_strptime({text}, $date_formats_{pn}) as {raw}")
                params[f"date_formats_{pn}"] = list(date_formats)
            check_layer.append(f"case when year({raw}) between 1000 and 9999 then {raw} end as {parsed}")
            outer.append(f"{parsed} as {q}" if c.kind == "timestamp" else f"cast({parsed} as DATE) as {q}")
            if dayfirst_default and not pre:  # (parsed by one format, a typed column cannot be US-style)
                params["mdy_formats"] = list(MDY_FORMATS)
                numeric = f"regexp_full_match({text}, '{NUMERIC_DATE}')"
                # Month-first only: unreadable day-first but fine month-first (12/31/2025); evaluated for
                # failures only.
                outer.append(
                    f"case when {parsed} is null and {text} is not null then coalesce({numeric} and "
                    f"try_strptime({text}, $mdy_formats) is not null, false) else false end "
                    f"as {qi(c.name + '__mdy')}"
                )
                # Day-first only: a day above 12, written day first (not ISO, whose fifth character is '-').
                outer.append(
                    f"coalesce(day({parsed}) > 12 and substr({text}, 5, 1) <> '-', false) "
                    f"as {qi(c.name + '__dmy')}"
                )
            shape = f"regexp_full_match({text}, '{DATE_SHAPE}')"
            hint = (
                "day-first, e.g. 31/01/2025, or ISO 2025-01-31"
                if dayfirst_default
                else "the mapping's date_format or ISO"
            )
            unreadable = (
                f"when {parsed} is null and {shape} then 'not a real calendar date' "
                f"when {parsed} is null then 'not a date ({hint.replace(chr(39), chr(39) * 2)})' "
            )
            range_checks = ""
            if c.is_event:
                grace = int(FUTURE_GRACE_DAYS.get(c.name, 0))
                range_checks = (
                    f"when cast({parsed} as DATE) < $earliest then 'before 1990' "
                    f"when cast({parsed} as DATE) > $known_on[__file_idx + 1] + {grace} "
                    "then 'after the extract date of the file' "
                )
            if pre:
                unreadable = ""  # every value parsed (the year range is checked before this path is taken)
            problem = f"case {blank} when {text} is null then NULL {unreadable}{range_checks}end"
            outer.append(f"({text} is null or {parsed} is not null) as {qi(c.name + '__readable')}")
        else:
            value = qi(c.name + "__value")
            if pre:
                parse_layer.append(f"{text} as {value}")
                what = "a number"
            elif c.kind == "amount":
                core = f"replace({text}, ' ', '')"
                unbracketed = f"regexp_replace({core}, '^\\((.*)\\)$', '\\1')"
                digits = f"replace(replace(replace({unbracketed}, '£', ''), ',', ''), '+', '')"
                # Plain numbers take the fast path; only the rest go through the pattern for £, commas and
                # brackets.
                parse_layer.append(
                    f"coalesce(try_cast({text} as DECIMAL(14, 2)), "
                    f"case when regexp_full_match({core}, '{AMOUNT_SHAPE}') and "
                    f"(starts_with({core}, '(') = ends_with({core}, ')')) then "
                    f"try_cast({digits} as DECIMAL(14, 2)) * (case when starts_with({core}, '(') then -1 "
                    f"else 1 end) "
                    f"end) as {value}"
                )
                what = "an amount of money (e.g. £1,234.50, -£12.30 or (£12.30))"
            else:
                parse_layer.append(f"try_cast(regexp_replace({text}, '\\.0+$', '') as INTEGER) as {value}")
                what = "a whole number"
            outer.append(f"{value} as {q}")
            outer.append(f"({text} is null or {value} is not null) as {qi(c.name + '__readable')}")
            problem = f"case {blank} when {text} is not null and {value} is null then 'not {what}' end"
        outer.append(f"{problem} as {qi(c.name + '__problem')}")
        problems.append(qi(c.name + "__problem"))
    if extract.name == "planned_works":
        place = ", ".join(_text_sql(n) for n in PLANNED_WORKS_PLACE)
        text_layer.append(f"coalesce({place}) as __place")
        outer.append("__place")
        outer.append(
            "case when __place is null then 'none of property_ref, block_ref, estate is given' end as "
            "__place__problem"
        )
        problems.append("__place__problem")
    sql = (
        f"create or replace temp table {qi(out)} as "
        f"select *, ({' or '.join(f'{p} is not null' for p in problems)}) as __bad from ("
        f"select {', '.join(outer)} from ("
        f"select {', '.join(check_layer)} from ("
        f"select {', '.join(parse_layer)} from ("
        f"select {', '.join(text_layer)} from {qi(stage) if source_sql is None else f'({source_sql})'}))))"
    )
    return sql, params


def _fold_py(value: str) -> str:
    """'No_Access', 'no-access' and 'No Access' compare equal (the SQL twin below is plain string "
    "functions: fast)."""
    return value.lower().replace("_", " ").replace("-", " ").strip()


def _usual_spellings(allowed: Sequence[str], value_map: Mapping[str, str]) -> dict[str, str]:
    """Raw category texts likely in an export (allowed values and value-map keys and values, as written, lower,
    upper, title case) -> what the SQL makes of them: the value map (the lower-cased text against its keys), then
    the fold.

    ASCII only, without outer spaces, so Python's ``lower`` and ``strip`` agree with DuckDB's ``lower`` and
    ``trim`` on every one of them (checked against the SQL in the tests).
    """

    def plain(text: str) -> bool:
        return bool(text) and text.isascii() and text.isprintable() and text == text.strip()

    out: dict[str, str] = {}
    for base in [*allowed, *value_map, *value_map.values()]:
        for raw in (base, base.lower(), base.upper(), base.title(), base.capitalize()):
            mapped = value_map.get(raw.lower(), raw)  # as the SQL: the lower-cased text against the keys
            if plain(raw) and plain(mapped):
                out[raw] = _fold_py(mapped)
    return out


def _fold_sql(expr: str) -> str:
    return f"trim(replace(replace(lower({expr}), '_', ' '), '-', ' '))"


def key_columns(extract: CanonicalExtract) -> tuple[str, ...]:
    """Columns of the conversion output that make up the extract's key (planned works: place, programme, "
    "start)."""
    if extract.name == "planned_works":
        return ("__place", "programme", "start_date")
    return extract.key


def used_params(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """DuckDB refuses unused named parameters."""
    return {k: v for k, v in params.items() if re.search(rf"\${re.escape(k)}\b", sql)}


def raw_columns(extract: CanonicalExtract) -> list[str]:
    free = {c.name for c in extract.columns if c.is_free_text}
    cols = [c.name for c in extract.columns if c.name not in free]
    cols += [f"{c}_enc" for c in sorted(free)] + list(RAW_EXTRA.get(extract.name, ()))
    return cols
