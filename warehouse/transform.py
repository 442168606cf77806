"""Running the dbt project (staging -> marts) for a window of consecutive run dates.

dbt runs in-process through dbt's own ``dbtRunner``; callers hold the warehouse writer lock, so
two invocations never overlap (dbt does not support that within one process).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date

from sources.config import SourceConfig
from warehouse.settings import Settings


class TransformError(RuntimeError):
    """dbt failed: the message lists each failed model or test with dbt's own message."""


@dataclass
class TransformResult:
    start: date
    end: date
    nodes: dict[str, str] = field(default_factory=dict)  # node name -> status
    elapsed_s: float = 0.0


def dbt_vars(cfg: SourceConfig, start: date, end: date) -> dict:
    return {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "cancellation_rule": cfg.rules.cancellation,
        "product_rule": cfg.rules.product,
    }


def invoke_dbt(settings: Settings, command: list[str], args: list[str]):
    """Run one dbt command against this settings' warehouse; return dbt's result object."""
    from dbt.cli.main import dbtRunner  # dbt's import costs seconds: only when dbt runs

    settings.ensure_dirs()
    os.environ["SHOPCAST_WAREHOUSE_PATH"] = str(settings.warehouse_path)
    os.environ["SHOPCAST_DBT_THREADS"] = str(settings.dbt_threads)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    common = [
        "--project-dir", str(settings.dbt_project_dir),
        "--profiles-dir", str(settings.dbt_project_dir),
        "--target-path", str(settings.dbt_target_dir),
        "--log-path", str(settings.dbt_log_dir),
    ]
    return dbtRunner().invoke([*command, *common, *args, "--quiet"])


def build(settings: Settings, cfg: SourceConfig, start: date, end: date) -> TransformResult:
    """``dbt build`` (models and their tests) for run dates start..end in one invocation."""
    import time

    t0 = time.perf_counter()
    res = invoke_dbt(settings, ["build"], ["--vars", json.dumps(dbt_vars(cfg, start, end))])
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


def generate_docs(settings: Settings, cfg: SourceConfig, as_of: date) -> str:
    """``dbt docs generate``; returns the path of the generated index.html."""
    res = invoke_dbt(settings, ["docs", "generate"], ["--vars", json.dumps(dbt_vars(cfg, as_of, as_of))])
    if not res.success:
        raise TransformError(f"dbt docs generate failed: {res.exception!r}")
    return str(settings.dbt_target_dir / "index.html")
