"""Running the dbt project (staging -> marts) for a window of consecutive run dates.

dbt runs in-process through dbt's own ``dbtRunner``; callers hold the warehouse writer lock, so
two invocations never overlap (dbt does not support that within one process).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from domain.rules import RULES
from sources.config import SourceConfig
from warehouse.db import WarehouseSettings


class TransformError(RuntimeError):
    """dbt failed: the message lists each failed model or test with dbt's own message."""


@dataclass
class TransformResult:
    start: date
    end: date
    nodes: dict[str, str] = field(default_factory=dict)  # node name -> status
    elapsed_s: float = 0.0


class DbtSettings(WarehouseSettings, Protocol):
    """What dbt needs of the application's settings."""
    dbt_threads: int
    dbt_target: str

    @property
    def dbt_project_dir(self) -> Path: ...
    @property
    def dbt_target_dir(self) -> Path: ...
    @property
    def dbt_log_dir(self) -> Path: ...


def dbt_vars(settings: DbtSettings, cfg: SourceConfig, start: date, end: date) -> dict:
    """Every var the project and its profile read: the warehouse file and threads, the run
    window, the source's rules and the domain rules. Nothing reaches dbt through os.environ."""
    return {
        **RULES.dbt_vars(),
        "warehouse_path": str(settings.warehouse_path),
        "threads": settings.dbt_threads,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "cancellation_rule": cfg.rules.cancellation,
        "product_rule": cfg.rules.product,
    }


def invoke_dbt(settings: DbtSettings, command: list[str], variables: dict):
    """Run one dbt command against this settings' warehouse; return dbt's result object."""
    from dbt.cli.main import dbtRunner  # dbt's import costs seconds: only when dbt runs

    settings.ensure_dirs()
    common = [
        "--project-dir", str(settings.dbt_project_dir),
        "--profiles-dir", str(settings.dbt_project_dir),
        "--target", settings.dbt_target,
        "--target-path", str(settings.dbt_target_dir),
        "--log-path", str(settings.dbt_log_dir),
    ]
    return dbtRunner().invoke([*command, *common, "--vars", json.dumps(variables), "--quiet"])


def build(settings: DbtSettings, cfg: SourceConfig, start: date, end: date) -> TransformResult:
    """``dbt build`` (models and their tests) for run dates start..end in one invocation."""
    import time

    t0 = time.perf_counter()
    res = invoke_dbt(settings, ["build"], dbt_vars(settings, cfg, start, end))
    result = TransformResult(start, end, elapsed_s=time.perf_counter() - t0)
    failures = []
    for r in getattr(res.result, "results", None) or []:
        status = str(getattr(r.status, "value", r.status))
        result.nodes[r.node.name] = status
        if status in ("error", "fail"):
            failures.append(f"{r.node.resource_type} {r.node.name}: {status}: {r.message}")
    if not res.success:
        detail = "; ".join(failures) or repr(res.exception)
        raise TransformError(f"dbt build for {start}..{end} failed: {detail}")
    return result


def generate_docs(settings: DbtSettings, cfg: SourceConfig, as_of: date) -> str:
    """``dbt docs generate``; returns the path of the generated index.html."""
    res = invoke_dbt(settings, ["docs", "generate"], dbt_vars(settings, cfg, as_of, as_of))
    if not res.success:
        raise TransformError(f"dbt docs generate failed: {res.exception!r}")
    return str(settings.dbt_target_dir / "index.html")
