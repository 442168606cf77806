"""A source's mapping, loaded from YAML: where its files are and how they become order lines.

A user points the pipeline at their own export by writing one of these files, never by code.
"""
from __future__ import annotations

import os
import re
from datetime import date, datetime, time, timedelta
from enum import Enum
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import duckdb
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.errors import ConfigurationError, invalid_fields
from domain.layered import read_yaml
from domain.paths import REPO_ROOT
from sources.expressions import check_expression, check_rule, quoted, sandbox

# The canonical order-line schema (docs/order_lines.md). Optional columns may be unmapped.
CANONICAL_COLUMNS = (
    "order_id", "customer_id", "item_id", "item_name", "quantity",
    "unit_price", "ordered_at", "store", "category",
)
REQUIRED_COLUMNS = ("order_id", "item_id", "quantity", "unit_price", "ordered_at")
# every part of a mapping refuses keys it does not know: a misspelt `date_fromat` or
# `rules.cancelation` would otherwise leave the default in force without a word
STRICT = ConfigDict(extra="forbid")


class Calendar(str, Enum):
    daily = "daily"  # a file every day; a missing one is an error after the grace period
    trading_days = "trading_days"  # no file means no trading: the day completes with zero sales


class ColumnSource(BaseModel):
    """Either a source column name or a DuckDB SQL expression over the source's columns."""
    model_config = STRICT

    column: str | None = None
    sql: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> "ColumnSource":
        if (self.column is None) == (self.sql is None):
            raise ValueError("give exactly one of 'column' or 'sql'")
        if self.sql is not None:
            check_expression(self.sql)
        return self

    def expression(self) -> str:
        if self.sql is not None:
            return f"({self.sql})"
        return quoted(self.column)


def _column_sources(cols):
    """``name: Column`` is short for ``name: {column: Column}`` (so that an error names the
    one form that was meant)."""
    if not isinstance(cols, dict):
        return cols
    return {k: ({"column": v} if isinstance(v, str) else v) for k, v in cols.items()}


def known_zone(tz: str) -> str:
    """A zone both Python and DuckDB (ICU) know; the message names it."""
    try:
        ZoneInfo(tz)
    except (ValueError, KeyError):
        raise ValueError(f"unknown time zone {tz!r} (an IANA name such as Europe/London)") from None
    con = sandbox()
    try:
        con.execute("SELECT timezone(?, TIMESTAMPTZ '2025-01-01 00:00:00+00')", [tz])
    except duckdb.Error:
        raise ValueError(f"unknown time zone {tz!r} (DuckDB's ICU does not know it)") from None
    finally:
        con.close()
    return tz


def _timestamp_format(fmt: str) -> str:
    """A DuckDB strptime format that writes and reads back a date (2025-01-02)."""
    con = sandbox()
    try:
        back = con.execute("SELECT CAST(try_strptime(strftime(TIMESTAMP '2025-01-02 03:04:05', $f), "
                           "$f) AS DATE)", {"f": fmt}).fetchone()[0]
    except duckdb.Error as exc:
        raise ValueError(f"bad format {fmt!r}: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    if back != date(2025, 1, 2):
        raise ValueError(f"format {fmt!r} does not carry a date (year, month and day)")
    return fmt


def _plain_name(text: str, what: str) -> str:
    """A file name or glob inside the landing folder: never a path out of it."""
    if not text or "/" in text or "\\" in text or text in (".", "..") or text.startswith("~"):
        raise ValueError(f"{what} {text!r} must be a file name inside the landing folder "
                         "(no folders, no '..', not absolute)")
    return text


class CsvOptions(BaseModel):
    model_config = STRICT
    delimiter: str = ","
    encoding: str = "utf8"
    quote: str = '"'


class TimestampOptions(BaseModel):
    model_config = STRICT
    format: str = "%Y-%m-%d %H:%M:%S"
    timezone: str | None = Field(
        None, description="Zone of naive source timestamps; defaults to the business time zone."
    )

    _format = field_validator("format")(_timestamp_format)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, tz: str | None) -> str | None:
        return None if tz is None else known_zone(tz)


class Rules(BaseModel):
    """SQL predicates over canonical columns, applied in dbt staging and counted there."""
    model_config = STRICT

    cancellation: str = "quantity < 0"
    product: str = "true"

    _one_expression = field_validator("cancellation", "product")(check_rule)


class CatalogueConfig(BaseModel):
    model_config = STRICT
    file: str
    columns: dict[str, ColumnSource]
    launch_date_format: str = "%Y-%m-%d"

    _launch_format = field_validator("launch_date_format")(_timestamp_format)
    _columns = field_validator("columns", mode="before")(_column_sources)

    @field_validator("file")
    @classmethod
    def _in_landing(cls, name: str) -> str:
        return _plain_name(name, "catalogue file")


class SourceConfig(BaseModel):
    model_config = STRICT
    name: str
    landing_dir: str
    file_pattern: str = Field(..., description="Glob with {date} where the run date stands.")
    date_format: str = "%Y-%m-%d"
    format: Literal["csv", "parquet"] | None = Field(
        None, description="csv or parquet; by file extension if unset.")
    csv: CsvOptions = CsvOptions()
    columns: dict[str, ColumnSource]
    timestamp: TimestampOptions = TimestampOptions()
    business_timezone: str = "UTC"
    strip_float_suffix: list[str] = Field(
        default_factory=list, description="Id columns written as floats: '17850.0' -> '17850'."
    )
    rules: Rules = Rules()
    calendar: Calendar = Calendar.daily
    missing_file_grace_hours: float = 6.0
    catalogue: CatalogueConfig | None = None
    config_path: Path | None = None

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, cols: dict) -> dict:
        unknown = set(cols) - set(CANONICAL_COLUMNS)
        if unknown:
            raise ValueError(f"unknown canonical columns {sorted(unknown)}; know {CANONICAL_COLUMNS}")
        missing = [c for c in REQUIRED_COLUMNS if c not in cols]
        if missing:
            raise ValueError(f"required canonical columns not mapped: {missing}")
        return cols

    _short_columns = field_validator("columns", mode="before")(_column_sources)

    _valid_zone = field_validator("business_timezone")(known_zone)

    @field_validator("file_pattern")
    @classmethod
    def _pattern(cls, pattern: str) -> str:
        if pattern.count("{date}") != 1:
            raise ValueError(f"file pattern {pattern!r} must hold {{date}} exactly once")
        return _plain_name(pattern, "file pattern")

    @field_validator("date_format")
    @classmethod
    def _date_in_names(cls, fmt: str) -> str:
        probe = date(2025, 1, 2)
        try:
            back = datetime.strptime(probe.strftime(fmt), fmt).date()
        except ValueError:
            back = None
        if back != probe:
            raise ValueError(f"date format {fmt!r} does not write and read back a date")
        _plain_name(probe.strftime(fmt), "date format")
        return fmt

    # -- paths -------------------------------------------------------------------------------
    def landing_path(self, data_dir: Path) -> Path:
        """``{data_dir}`` and ``${VAR:-default}`` expand; relative paths are from the repo root."""
        text = _expand_env(self.landing_dir).replace("{data_dir}", str(data_dir))
        path = Path(text).expanduser()
        return path if path.is_absolute() else (REPO_ROOT / path).resolve()

    def check_landing(self, data_dir: Path, roots: list[Path]) -> Path:
        """The landing folder, resolved, if it lies inside the data directory, the mapping's own
        folder or one of ``roots`` (SHOPCAST_LANDING_ROOTS); ValueError naming the mapping
        otherwise. A mapping must not point the pipeline at the rest of the machine."""
        landing = self.landing_path(data_dir).resolve()
        allowed = [Path(data_dir), *roots] + ([self.config_path.parent] if self.config_path else [])
        if any(landing.is_relative_to(Path(r).expanduser().resolve()) for r in allowed):
            return landing
        raise ConfigurationError(
            f"{self.config_path or self.name}: landing_dir {self.landing_dir!r} resolves to "
            f"{landing}, outside the folders sources may read ({', '.join(map(str, allowed))}); "
            "an operator adds a folder with SHOPCAST_LANDING_ROOTS")

    def files_for(self, run_date: date, data_dir: Path) -> list[Path]:
        return sorted(self.landing_path(data_dir).glob(self.day_pattern(run_date)))

    def day_pattern(self, run_date: date) -> str:
        """The file pattern of ``run_date``'s files (a glob when several files make a day)."""
        return self.file_pattern.replace("{date}", run_date.strftime(self.date_format))

    def dates_in_landing(self, data_dir: Path) -> list[date]:
        """Every date that has at least one file, read off the file names."""
        prefix, _, suffix = self.file_pattern.partition("{date}")
        regex = re.compile(
            "^" + _glob_to_regex(prefix) + f"(?P<d>{_date_regex(self.date_format)})"
            + _glob_to_regex(suffix) + "$"
        )
        found: set[date] = set()
        root = self.landing_path(data_dir)
        if not root.exists():
            return []
        for p in root.iterdir():
            m = regex.match(p.name)
            if m:
                try:
                    found.add(datetime.strptime(m.group("d"), self.date_format).date())
                except ValueError:
                    continue
        return sorted(found)

    def file_format(self, path: Path) -> str:
        if self.format:
            return self.format
        return "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"

    # -- time --------------------------------------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.business_timezone)

    @property
    def source_timezone(self) -> str:
        return self.timestamp.timezone or self.business_timezone

    def missing_file_deadline(self, run_date: date) -> datetime:
        """After this moment a daily source's missing file is an error rather than 'not yet'."""
        end_of_day = datetime.combine(run_date + timedelta(days=1), time(0), tzinfo=self.zone)
        return end_of_day + timedelta(hours=self.missing_file_grace_hours)

    def default_run_date(self, now: datetime) -> date:
        """The run early on D+1 (business time) processes D."""
        return now.astimezone(self.zone).date() - timedelta(days=1)


def _expand_env(text: str) -> str:
    def repl(m: re.Match) -> str:
        return os.environ.get(m.group(1)) or (m.group(3) or "")

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}", repl, text)


_DIRECTIVES = {"%Y": r"\d{4}", "%m": r"\d{2}", "%d": r"\d{2}", "%y": r"\d{2}", "%j": r"\d{3}"}


def _date_regex(fmt: str) -> str:
    out, i = "", 0
    while i < len(fmt):
        token = fmt[i:i + 2]
        if token in _DIRECTIVES:
            out, i = out + _DIRECTIVES[token], i + 2
        elif token.startswith("%"):
            out, i = out + ".+?", i + 2
        else:
            out, i = out + re.escape(fmt[i]), i + 1
    return out


def _glob_to_regex(glob: str) -> str:
    return "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in glob)


def load_source_config(path: Path | str) -> SourceConfig:
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{path}: a source mapping must be a YAML mapping")
    try:
        cfg = SourceConfig(**raw)
    except Exception as exc:  # pydantic's message lists each bad field; prefix the file
        raise ConfigurationError(f"{path}: invalid source mapping:\n{invalid_fields(exc)}") from exc
    cfg.config_path = path.resolve()
    return cfg
