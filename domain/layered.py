"""Configuration files of `defaults` with per-source overrides (`sources.<name>`), as the
quality thresholds (configs/quality.yaml) and the monitoring settings (configs/monitoring.yaml)
are written."""
from __future__ import annotations

from pathlib import Path

import yaml


def for_source(path: Path, source_name: str) -> dict:
    """The file's defaults with the source's overrides laid over them, section by section."""
    spec = yaml.safe_load(Path(path).read_text()) or {}
    merged: dict = {}
    for layer in (spec.get("defaults") or {}, (spec.get("sources") or {}).get(source_name) or {}):
        for section, values in layer.items():
            merged.setdefault(section, {}).update(values or {})
    return merged
