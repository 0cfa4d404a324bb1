"""The canonical extracts (docs/contract: EXTRACTS.md) and a landlord's mapping file onto them.

``load_mapping(path)`` parses and checks the YAML into frozen models; every error names the mapping file and
the key (``mapping.yaml: extracts.repairs.columns.job_rf: ...``) so a landlord can fix it without reading code.
``CANONICAL`` is the contract in code: columns, types, required columns, keys and allowed category values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipelines.core.errors import ConfigError

Kind = Literal["text", "date", "timestamp", "amount", "integer", "category"]
# How a file whose name holds no date gets its extract date (EXTRACTS.md "Knowledge time").
KnownOn = Literal["name", "modified", "loaded"]


@dataclass(frozen=True)
class CanonicalColumn:
    name: str
    kind: Kind = "text"
    required: bool = False
    # For kind "category": the values a column must hold after the mapping's value map (lower case).
    allowed: tuple[str, ...] = ()
    # Event dates are checked against 1990-01-01 and the file's extract date; reference dates (tenancy starts,
    # planned programmes, marker end dates) may lie far back or in the future.
    is_event: bool = False
    # Free text is classified in memory, then stored encrypted in ``<name>_enc``; never logged.
    is_free_text: bool = False


@dataclass(frozen=True)
class CanonicalExtract:
    name: str
    columns: tuple[CanonicalColumn, ...]
    key: tuple[str, ...]

    @property
    def table(self) -> str:
        return f"raw_{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> CanonicalColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(name: str, kind: Kind = "text", **kw: Any) -> CanonicalColumn:
    return CanonicalColumn(name, kind, **kw)


def _req(name: str, kind: Kind = "text") -> CanonicalColumn:
    return CanonicalColumn(name, kind, required=True)


CANONICAL: dict[str, CanonicalExtract] = {
    e.name: e
    for e in (
        CanonicalExtract(
            "repairs",
            (
                _req("job_ref"),
                _req("property_ref"),
                _c("tenancy_ref"),
                _c("reported_at", "timestamp", required=True, is_event=True),
                _c("completed_at", "timestamp", is_event=True),
                _c("sor_code"),
                _c("description", required=True, is_free_text=True),
                _c("priority", "category", allowed=("emergency", "urgent", "routine", "planned", "void")),
                _c("trade"),
                _c("status", "category", allowed=("open", "completed", "cancelled", "no_access")),
                _c("cost_gbp", "amount"),
            ),
            key=("job_ref",),
        ),
        CanonicalExtract(
            "recharges",
            (
                _req("recharge_ref"),
                _req("tenancy_ref"),
                _c("property_ref"),
                _c("job_ref"),
                _c("raised_at", "date", required=True, is_event=True),
                _c("amount_gbp", "amount", required=True),
                _c("reason", is_free_text=True),
                _c("status", "category", allowed=("raised", "paid", "disputed", "written off")),
            ),
            key=("recharge_ref",),
        ),
        CanonicalExtract(
            "asb",
            (
                _req("case_ref"),
                _req("tenancy_ref"),
                _c("opened_at", "date", required=True, is_event=True),
                _c("closed_at", "date", is_event=True),
                _req("category"),
                _c("role", "category", allowed=("complainant", "subject", "victim", "witness")),
                _c("description", is_free_text=True),
            ),
            key=("case_ref", "tenancy_ref"),
        ),
        CanonicalExtract(
            "rent",
            (
                _req("tenancy_ref"),
                _c("week_ending", "date", required=True, is_event=True),
                _c("balance_gbp", "amount", required=True),
                _c("weekly_charge_gbp", "amount"),
            ),
            key=("tenancy_ref", "week_ending"),
        ),
        CanonicalExtract(
            "tenancies",
            (
                _req("tenancy_ref"),
                _req("property_ref"),
                _req("start_date", "date"),
                _c("end_date", "date"),
            ),
            key=("tenancy_ref",),
        ),
        CanonicalExtract(
            "properties",
            (
                _req("property_ref"),
                _c("block_ref"),
                _c("estate"),
                _c("property_type"),
                _c("bedrooms", "integer"),
            ),
            key=("property_ref",),
        ),
        CanonicalExtract(
            "known_cases",
            (
                _req("tenancy_ref"),
                # which team knows the household (DA, MARAC, Sanctuary): stored encrypted like free text
                _c("marker", required=True, is_free_text=True),
                _req("start_date", "date"),
                _c("end_date", "date"),
            ),
            key=("tenancy_ref", "marker", "start_date"),
        ),
        CanonicalExtract(
            "planned_works",
            (
                _c("property_ref"),
                _c("block_ref"),
                _c("estate"),
                _req("programme"),
                _req("start_date", "date"),
                _c("end_date", "date"),
            ),
            # The first element is coalesce(property_ref, block_ref, estate): see loading.key_sql.
            key=("property_ref", "block_ref", "estate", "programme", "start_date"),
        ),
    )
}

# planned_works needs at least one of these (the contract: "property_ref, block_ref or estate (at least
# one)").
PLANNED_WORKS_PLACE = ("property_ref", "block_ref", "estate")

SUPPORTED_ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-8-sig": "utf-8",
    "cp1252": "cp1252",
    "windows-1252": "cp1252",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
}


class MappingError(ConfigError):
    """The mapping file cannot be used: one sentence naming the file and the key."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExtractMapping(_Frozen):
    files: tuple[str, ...]
    # None: detect (UTF-8 with or without BOM, else Windows-1252, with a warning). Given: honoured strictly.
    encoding: str | None = None
    delimiter: str | None = None
    date_format: str | None = None
    sheet: str | None = None
    header_row: int = Field(1, ge=1, le=1000)
    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    known_on: KnownOn = "modified"

    @field_validator("known_on", mode="before")
    @classmethod
    def _known_on(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().lower() in ("name", "modified", "loaded"):
            return v.strip().lower()
        raise ValueError(
            f"'{v}' is not one of name, modified, loaded (how a file without a date in its name gets its "
            "extract date)"
        )

    @field_validator("files", mode="before")
    @classmethod
    def _files_list(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v

    @field_validator("files")
    @classmethod
    def _files_relative(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("give at least one file name or glob")
        for pattern in v:
            if not pattern.strip():
                raise ValueError("a file pattern is empty")
            if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
                raise ValueError(
                    f"'{pattern}' must be relative to the extracts folder (no absolute path, no '..')"
                )
        return v

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str | None) -> str | None:
        if v is None:
            return None
        norm = SUPPORTED_ENCODINGS.get(v.strip().lower())
        if norm is None:
            raise ValueError(f"'{v}' is not a supported encoding (use utf-8 or cp1252)")
        return norm

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if v in ("\\t", "tab", "TAB"):
            return "\t"
        if len(v) != 1 or v in ('"', "\n", "\r"):
            raise ValueError("must be a single character such as ',', ';', '|' or a tab")
        return v

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, v: str | None) -> str | None:
        if v is not None and "%" not in v:
            raise ValueError(f"'{v}' is not a strftime format such as '%d/%m/%Y'")
        return v

    @property
    def value_map(self) -> dict[str, dict[str, str]]:
        """Per canonical column: trimmed lower-case landlord value -> canonical value."""
        return {col: {k.strip().lower(): v.strip() for k, v in m.items()} for col, m in self.values.items()}


class Mapping(_Frozen):
    landlord: str = "Unnamed landlord"
    extracts: dict[str, ExtractMapping]
    source: str = "mapping"

    @field_validator("extracts", mode="before")
    @classmethod
    def _coerce_scalars(cls, v: Any) -> Any:
        # YAML reads `E: emergency` keys like `1:` or `yes:` as ints/bools; the landlord meant text.
        if isinstance(v, dict):
            for spec in v.values():
                if isinstance(spec, dict) and isinstance(spec.get("values"), dict):
                    spec["values"] = {
                        col: {_yaml_text(k): _yaml_text(x) for k, x in (m or {}).items()}
                        if isinstance(m, dict)
                        else m
                        for col, m in spec["values"].items()
                    }
                if isinstance(spec, dict) and isinstance(spec.get("columns"), dict):
                    spec["columns"] = {k: _yaml_text(x) for k, x in spec["columns"].items()}
        return v


def _yaml_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file; every problem is a MappingError naming the file and the key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise MappingError(f"the mapping file {path} does not exist") from None
    except OSError as exc:
        raise MappingError(f"cannot read the mapping file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise MappingError(f"the mapping file {path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise MappingError(f"the mapping file {path} is not valid YAML{where}") from None
    return mapping_from_dict(data, source=path.name)


def mapping_from_dict(data: Any, *, source: str = "mapping") -> Mapping:
    if not isinstance(data, dict):
        raise MappingError(f"{source}: must be a YAML mapping with an 'extracts' section")
    try:
        mapping = Mapping.model_validate({**data, "source": source})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            msg = "is required"
        elif first["type"] == "extra_forbidden":
            msg = (
                "is not a mapping key (known keys: files, encoding, delimiter, date_format, sheet, "
                "header_row, columns, values, known_on)"
            )
        raise MappingError(f"{source}: {where}: {msg}") from None
    _check_against_contract(mapping)
    return mapping


def _check_against_contract(mapping: Mapping) -> None:
    src = mapping.source
    if not mapping.extracts:
        raise MappingError(f"{src}: extracts: name at least one extract ({', '.join(CANONICAL)})")
    for name, spec in mapping.extracts.items():
        canonical = CANONICAL.get(name)
        if canonical is None:
            raise MappingError(
                f"{src}: extracts.{name}: not a canonical extract (one of {', '.join(CANONICAL)})"
            )
        known = canonical.column_names
        for col, header in spec.columns.items():
            if col not in known:
                raise MappingError(
                    f"{src}: extracts.{name}.columns.{col}: not a column of {name} ({', '.join(known)})"
                )
            if not header.strip():
                raise MappingError(f"{src}: extracts.{name}.columns.{col}: the landlord's header is empty")
        headers = [h.strip().lower() for h in spec.columns.values()]
        for col, header in spec.columns.items():
            if headers.count(header.strip().lower()) > 1:
                raise MappingError(f"{src}: extracts.{name}.columns.{col}: the same header is mapped twice")
        for col, values in spec.values.items():
            if col not in known:
                raise MappingError(f"{src}: extracts.{name}.values.{col}: not a column of {name}")
            column = canonical.column(col)
            if column.kind not in ("text", "category"):
                raise MappingError(
                    f"{src}: extracts.{name}.values.{col}: value maps apply to text columns only"
                )
            if not isinstance(values, dict):
                raise MappingError(
                    f"{src}: extracts.{name}.values.{col}: must map landlord values to canonical ones"
                )
            for key, target in values.items():
                if column.allowed and target.strip().lower() not in column.allowed:
                    raise MappingError(
                        f"{src}: extracts.{name}.values.{col}.{key}: '{target}' is not one of "
                        + ", ".join(column.allowed)
                    )
        if spec.sheet is not None and not any(
            p.lower().endswith((".xlsx", ".xlsm", "*")) for p in spec.files
        ):
            raise MappingError(f"{src}: extracts.{name}.sheet: given, but no file pattern is an .xlsx file")
