"""A source's mapping, loaded from YAML: where its files are and how they become order lines.

A user points the pipeline at their own export by writing one of these files, never by code.
"""
from __future__ import annotations

import os
import re
from datetime import date, datetime, time, timedelta
from enum import Enum
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, Field, field_validator, model_validator

from domain.paths import REPO_ROOT

# The canonical order-line schema (docs/order_lines.md). Optional columns may be unmapped.
CANONICAL_COLUMNS = (
    "order_id", "customer_id", "item_id", "item_name", "quantity",
    "unit_price", "ordered_at", "store", "category",
)
REQUIRED_COLUMNS = ("order_id", "item_id", "quantity", "unit_price", "ordered_at")


class Calendar(str, Enum):
    daily = "daily"  # a file every day; a missing one is an error after the grace period
    trading_days = "trading_days"  # no file means no trading: the day completes with zero sales


class ColumnSource(BaseModel):
    """Either a source column name or a DuckDB SQL expression over the source's columns."""

    column: str | None = None
    sql: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> "ColumnSource":
        if (self.column is None) == (self.sql is None):
            raise ValueError("give exactly one of 'column' or 'sql'")
        return self

    def expression(self) -> str:
        if self.sql is not None:
            return f"({self.sql})"
        return '"' + self.column.replace('"', '""') + '"'


class CsvOptions(BaseModel):
    delimiter: str = ","
    encoding: str = "utf8"
    quote: str = '"'


class TimestampOptions(BaseModel):
    format: str = "%Y-%m-%d %H:%M:%S"
    timezone: str | None = Field(
        None, description="Zone of naive source timestamps; defaults to the business time zone."
    )


class Rules(BaseModel):
    """SQL predicates over canonical columns, applied in dbt staging and counted there."""

    cancellation: str = "quantity < 0"
    product: str = "true"


class CatalogueConfig(BaseModel):
    file: str
    columns: dict[str, str | ColumnSource]
    launch_date_format: str = "%Y-%m-%d"


class SourceConfig(BaseModel):
    name: str
    landing_dir: str
    file_pattern: str = Field(..., description="Glob with {date} where the run date stands.")
    date_format: str = "%Y-%m-%d"
    format: str | None = Field(None, description="csv or parquet; by file extension if unset.")
    csv: CsvOptions = CsvOptions()
    columns: dict[str, str | ColumnSource]
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
        return {k: (ColumnSource(column=v) if isinstance(v, str) else v) for k, v in cols.items()}

    @field_validator("business_timezone")
    @classmethod
    def _valid_zone(cls, tz: str) -> str:
        ZoneInfo(tz)
        return tz

    # -- paths -------------------------------------------------------------------------------
    def landing_path(self, data_dir: Path) -> Path:
        """``{data_dir}`` and ``${VAR:-default}`` expand; relative paths are from the repo root."""
        text = _expand_env(self.landing_dir).replace("{data_dir}", str(data_dir))
        path = Path(text).expanduser()
        return path if path.is_absolute() else (REPO_ROOT / path).resolve()

    def files_for(self, run_date: date, data_dir: Path) -> list[Path]:
        pattern = self.file_pattern.replace("{date}", run_date.strftime(self.date_format))
        return sorted(self.landing_path(data_dir).glob(pattern))

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
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"source mapping not found: {path}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a source mapping must be a YAML mapping")
    try:
        cfg = SourceConfig(**raw)
    except Exception as exc:  # pydantic's message lists each bad field; prefix the file
        raise ValueError(f"{path}: invalid source mapping: {exc}") from exc
    cfg.config_path = path.resolve()
    return cfg
