"""Running the dbt project (staging -> marts) for a window of consecutive run dates.

dbt runs in-process through dbt's own ``dbtRunner``; callers hold the warehouse writer lock, so
two invocations never overlap (dbt does not support that within one process).

Start-up, not data, used to bound a daily run: dbt parsed the whole project on every invocation
because the run window changed its ``--vars``, which invalidates partial parsing. Now the run
window is a one-row table (``ops.run_window``) that the macros read when they compile, so the
vars stay the same from day to day; the project is parsed once per process and the manifest is
handed to every later invocation, and a new process reuses dbt's partial parse
(docs/decisions/0007-dbt-start-up.md).
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from domain.rules import RULES
from sources.config import SourceConfig
from warehouse import db
from warehouse.db import WarehouseSettings


class TransformError(RuntimeError):
    """dbt failed: the message lists each failed model or test with dbt's own message."""


@dataclass
class TransformResult:
    start: date
    end: date
    nodes: dict[str, str] = field(default_factory=dict)  # node name -> status
    elapsed_s: float = 0.0
    views_kept: bool = False  # the views were current, so not created again


@dataclass(frozen=True)
class Parse:
    """How the project was last parsed: reused in this process, dbt's partial parse of the
    files that changed, or a full parse (with dbt's reason)."""
    kind: str            # "reused" | "partial" | "full"
    elapsed_s: float
    reason: str = ""

    def __str__(self) -> str:
        if self.kind == "reused":
            return "project parsed earlier in this process"
        return f"{self.kind} parse in {self.elapsed_s:.1f}s" + (f": {self.reason}" if self.reason else "")


class DbtSettings(WarehouseSettings, Protocol):
    """What dbt needs of the application's settings."""
    dbt_threads: int
    dbt_target: str
    dbt_project_dir: Path

    @property
    def dbt_target_dir(self) -> Path: ...
    @property
    def dbt_log_dir(self) -> Path: ...


def dbt_vars(settings: DbtSettings, cfg: SourceConfig) -> dict:
    """Every var the project and its profile read: the warehouse file and threads, the source's
    rules and the domain rules. None changes from one run date to the next (the run window is
    a table), so dbt's partial parsing survives from one day's process to the next. Nothing
    reaches dbt through os.environ."""
    return {
        **RULES.dbt_vars(),
        "warehouse_path": str(settings.warehouse_path),
        "threads": settings.dbt_threads,
        "cancellation_rule": cfg.rules.cancellation,
        "product_rule": cfg.rules.product,
    }


# ops.meta key: the digest of the project files and vars that the warehouse's views were last
# created from (views do not depend on the run window, so the same digest means the same views)
VIEWS_KEY = "dbt_views"


def write_run_window(settings: DbtSettings, start: date, end: date) -> str | None:
    """The window the next dbt invocation builds, read by macros/run_window.sql; returns the
    digest that the warehouse's views were created from (VIEWS_KEY), read in the same visit."""
    with db.writer(settings) as con:
        con.execute("BEGIN")
        con.execute("DELETE FROM ops.run_window")
        con.execute("INSERT INTO ops.run_window VALUES (?, ?)", [start, end])
        con.execute("COMMIT")
        row = con.execute("SELECT value FROM ops.meta WHERE key = ?", [VIEWS_KEY]).fetchone()
    return row[0] if row else None


def record_views(settings: DbtSettings, digest: str) -> None:
    with db.writer(settings) as con:
        con.execute("INSERT OR REPLACE INTO ops.meta VALUES (?, ?)", [VIEWS_KEY, digest])


class DbtProject:
    """The project of one warehouse and source, parsed once and reused by every invocation in
    this process. A changed project file is seen at the next invocation, which parses again
    (dbt then re-reads only what changed)."""

    def __init__(self, settings: DbtSettings, cfg: SourceConfig):
        self.settings = settings
        self.cfg = cfg
        self._manifest = None
        self._files_digest = ""
        self._lock = threading.Lock()
        self.last_parse: Parse | None = None

    def build(self, start: date, end: date) -> TransformResult:
        """``dbt build`` (models and their tests) for run dates start..end in one invocation."""
        t0 = time.perf_counter()
        views = self.views_digest()
        # Views need creating only when the project or the vars changed since they were: the
        # staging views are a chain of five DDL statements that cost 0.5-0.7 s of a 3 s day.
        # Their data tests still run (selected directly: no indirect selection to drop them).
        keep_views = write_run_window(self.settings, start, end) == views
        select = (["--select", "fqn:*", "--exclude", "config.materialized:view",
                   "--indirect-selection", "empty"] if keep_views else [])
        res = self._invoke(["build", *select])
        result = TransformResult(start, end, elapsed_s=time.perf_counter() - t0, views_kept=keep_views)
        failures = []
        for r in getattr(res.result, "results", None) or []:
            status = str(getattr(r.status, "value", r.status))
            result.nodes[r.node.name] = status
            if status in ("error", "fail"):
                failures.append(f"{r.node.resource_type} {r.node.name}: {status}: {r.message}")
        if not res.success:
            detail = "; ".join(failures) or repr(res.exception)
            raise TransformError(f"dbt build for {start}..{end} failed: {detail}")
        if not keep_views:
            record_views(self.settings, views)
        return result

    def views_digest(self) -> str:
        """What the views are created from: every project file's content and the vars."""
        return _files_digest(self.settings.dbt_project_dir, content=True) + self._vars_json()

    def generate_docs(self, as_of: date) -> str:
        """``dbt docs generate``; returns the path of the generated index.html."""
        write_run_window(self.settings, as_of, as_of)
        res = self._invoke(["docs", "generate"])
        if not res.success:
            raise TransformError(f"dbt docs generate failed: {res.exception!r}")
        return str(self.settings.dbt_target_dir / "index.html")

    def manifest(self):
        """The parsed project: this process's, unless a project file or a var changed since."""
        with self._lock:
            digest = _files_digest(self.settings.dbt_project_dir) + self._vars_json()
            if self._manifest is None or digest != self._files_digest:
                self._manifest = self._parse()
                self._files_digest = digest
            else:
                self.last_parse = Parse("reused", 0.0)
            return self._manifest

    def _parse(self):
        from dbt.cli.main import dbtRunner  # dbt's import costs seconds: only when dbt runs

        full: list[str] = []

        def watch(event) -> None:
            if event.info.name == "UnableToPartialParse":
                full.append(event.data.reason)
            elif event.info.name == "PartialParsingNotEnabled":
                full.append("partial parsing is off")

        t0 = time.perf_counter()
        res = dbtRunner(callbacks=[watch]).invoke(["parse", *self.cli_args()])
        if not res.success:
            raise TransformError(f"dbt could not parse {self.settings.dbt_project_dir}: {res.exception!r}")
        self.last_parse = Parse("full" if full else "partial", time.perf_counter() - t0,
                                "; ".join(full))
        return res.result

    def _invoke(self, command: list[str]):
        from dbt.cli.main import dbtRunner

        return dbtRunner(manifest=self.manifest()).invoke([*command, *self.cli_args()])

    def _vars_json(self) -> str:
        return json.dumps(dbt_vars(self.settings, self.cfg), sort_keys=True)

    def cli_args(self) -> list[str]:
        s = self.settings
        s.ensure_dirs()
        return [
            "--project-dir", str(s.dbt_project_dir),
            "--profiles-dir", str(s.dbt_project_dir),
            "--target", s.dbt_target,
            "--target-path", str(s.dbt_target_dir),
            "--log-path", str(s.dbt_log_dir),
            "--vars", self._vars_json(),
            "--quiet",
        ]


def _files_digest(project_dir: Path, content: bool = False) -> str:
    """Name, size and modification time of every project file: a change to any is seen (with
    ``content``, their bytes instead of the time: the same project in a fresh clone agrees)."""
    h = hashlib.sha256()
    for path in sorted(p for p in project_dir.rglob("*") if p.is_file()):
        st = path.stat()
        stamp = hashlib.sha256(path.read_bytes()).hexdigest() if content else st.st_mtime_ns
        h.update(f"{path.relative_to(project_dir)}:{st.st_size}:{stamp}\n".encode())
    return h.hexdigest()
