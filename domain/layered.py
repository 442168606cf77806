"""Configuration files of `defaults` with per-source overrides (`sources.<name>`), as the
quality thresholds (configs/quality.yaml) and the monitoring settings (configs/monitoring.yaml)
are written."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

import yaml

from domain.errors import ConfigurationError, invalid_fields

T = TypeVar("T")

TOP_LEVEL = ("defaults", "sources")


def load_for_source(path: Path, source_name: str, build: Callable[..., T], what: str) -> T:
    """``build(**settings)`` of the file's defaults with ``source_name``'s overrides laid over
    them, section by section, after building every other source's section the same way: a
    misspelt key under another source's overrides is refused now, not when that source first
    runs. Errors name the file, the source and the field."""
    spec = _read(path)
    for name in (*(spec.get("sources") or {}), source_name):  # the requested one last
        try:
            built = build(**_merged(spec, name))
        except Exception as exc:
            raise ConfigurationError(f"{path}: invalid {what} for {name}:\n{invalid_fields(exc)}") from exc
    return built


def _read(path: Path) -> dict:
    spec = read_yaml(path) or {}
    unknown = sorted(set(spec) - set(TOP_LEVEL)) if isinstance(spec, dict) else ["(not a mapping)"]
    if unknown:
        # a misspelt `defaults:` or `sources:` would otherwise leave every value at its default
        raise ConfigurationError(f"{path}: unknown top-level key(s) {', '.join(map(str, unknown))}; "
                                 f"expected {' and '.join(TOP_LEVEL)}")
    return spec


def read_yaml(path: Path):
    """The file's YAML; an error naming the file when it is missing or not YAML (the parser's
    own message names only "<unicode string>" and the line)."""
    try:
        return yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: not found") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML: {exc}") from None


def _merged(spec: dict, source_name: str) -> dict:
    merged: dict = {}
    for layer in (spec.get("defaults") or {}, (spec.get("sources") or {}).get(source_name) or {}):
        for section, values in layer.items():
            merged.setdefault(section, {}).update(values or {})
    return merged
