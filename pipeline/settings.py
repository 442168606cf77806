"""The one configuration object, composed here where the application is assembled: the
warehouse, dbt, the gate's and the models' settings. Every path derives from one data directory.

Environment variables (prefix ``SHOPCAST_``) choose the environment; code never does. The
packages below (warehouse, checks, models, sources) take what they need of it as arguments.
"""
from __future__ import annotations

import difflib
import logging
import os
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.paths import REPO_ROOT
from models.forecaster.config import ForecasterConfig
from models.recommender.config import RecommenderConfig


log = logging.getLogger("shopcast")
PREFIX = "SHOPCAST_"

# never a data directory, nor inside one of them
SYSTEM_FOLDERS = tuple(Path(p) for p in ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc",
                                         "/sbin", "/sys", "/usr", "/var/lib", "/var/log"))


class DataDirUnusable(PermissionError):
    """The data directory (or a folder in it) cannot be created or written."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPCAST_", env_file=".env", extra="ignore",
                                      env_nested_delimiter="__")

    data_dir: Path = Field(Path("data"), description="Root of everything the pipeline writes.")
    source_config: Path = Field(
        REPO_ROOT / "configs" / "sources" / "synthetic.yaml",
        description="YAML mapping of the transaction source (landing folder, columns, rules).",
    )
    block_on_failed_days: bool = Field(
        True, description="Later days wait while an earlier day is failed and not marked skipped."
    )
    require_previous_days: bool = Field(
        True, description="A daily run needs every earlier expected day complete or skipped."
    )
    catch_up_max_days: int = Field(
        7, ge=0, description="A daily run first runs the earlier days it finds missed (a schedule "
        "missed while the server was down, a run killed midway), in order, up to this many; "
        "more wait for a backfill, whose command the error gives. Days published without a file "
        "this many days back whose file has arrived since rerun too (a late export).")
    task_runner: Literal["threads", "dask"] = Field(
        "threads", description="Where the work that is independent per day runs (reading, "
        "normalising and staging each day's files): the flow's threads, or Dask's workers (a "
        "local cluster of dask_workers processes, or the cluster at dask_address). Read when the "
        "flows are imported (a worker's environment).")
    dask_address: str | None = Field(
        None, description="The scheduler of an existing Dask cluster (tcp://host:8786); its "
        "workers must see the data directory and the source at the same paths.")
    dask_workers: int = Field(2, ge=1, description="Processes of the local Dask cluster.")
    landing_roots: list[Path] = Field(
        [REPO_ROOT.parent / "shared" / "data"], description="Folders a source mapping's landing "
        "folder may lie in, besides the data directory and the mapping file's own folder (a "
        "mapping is not trusted to point anywhere on the machine); JSON, e.g. "
        "SHOPCAST_LANDING_ROOTS='[\"/mnt/exports\"]'. The default holds the Online Retail files' "
        "shared folder beside the checkout, where the shipped mapping reads them.")
    numpy_hugepages: bool = Field(
        False, description="Let NumPy advise the kernel to back large arrays with transparent "
        "huge pages (its default on Linux). Off: on virtual machines whose kernel compacts "
        "memory to find a huge page at each fault, fresh arrays cost 10-15x more (0.47 s "
        "against 4-7 s per GB on the benchmark machine; docs/decisions/0022). Applied to the "
        "process when its run context is built.")
    arrow_memory_pool: Literal["system", "jemalloc", "mimalloc"] = Field(
        "system", description="Arrow's memory pool for the tables a run builds (pyarrow's own "
        "default is mimalloc). The system allocator: on the benchmark machine mimalloc's fresh "
        "memory made a 1M-line day's ingest 2.7-3.1 s against 1.8 s, and building its 4M "
        "published list rows 1.5-1.8 s against 0.3 s (docs/decisions/0023). Applied to the "
        "process when its run context is built.")
    dbt_threads: int = 2
    dbt_target: str = Field("local", description="the dbt profile target (dbt_project/profiles.yml)")
    dbt_project_dir: Path = Field(REPO_ROOT / "dbt_project", description="the dbt project (and its profiles.yml)")
    writer_lock_timeout_s: float = 600.0
    source_read_retries: int = Field(
        3, ge=0, description="Retries of a source read that fails with an OS error (a network "
        "share gone for a moment, a file being replaced), after 10 s, 20 s, 40 s ...")
    source_read_backoff_s: float = Field(10.0, gt=0, description="The first retry's delay.")
    stage_timeout_s: float | None = Field(
        4 * 3600.0, gt=0, description="The longest one stage may run over a window of days; past "
        "it the window's first day fails at that stage with a timeout. None: no limit.")
    run_lock_wait_s: float = Field(
        3600.0, ge=0, description="How long a run waits for another run of the same warehouse "
        "to end before it fails naming it.")
    publish_retention: int = Field(5, ge=0, description="Replaced versions of a run date kept beside the live one (published/_versions).")
    quality_config: Path = Field(
        REPO_ROOT / "configs" / "quality.yaml", description="Thresholds of the data-quality gate."
    )
    monitoring_config: Path = Field(
        REPO_ROOT / "configs" / "monitoring.yaml",
        description="Drift monitoring: reference window, statistics, thresholds, reports.")

    tracking_uri: str | None = Field(
        None, description="MLflow tracking store that every training and gate backtest is logged "
        "to; default: sqlite:///<data dir>/mlflow.db; 'off': no tracking.")
    alert_webhook: str | None = Field(
        None, description="URL that failed days, blocked gates, drift and retrain requests are "
                          "posted to (flows/alerts.py); none: no alerts.")

    forecaster: ForecasterConfig = Field(
        default_factory=ForecasterConfig,
        description="The forecaster's network, meta-training and retraining policy "
        "(e.g. SHOPCAST_FORECASTER__RETRAIN_EVERY_DAYS=14).")
    recommender: RecommenderConfig = Field(
        default_factory=RecommenderConfig,
        description="The recommender's network, meta-training and retraining policy "
        "(e.g. SHOPCAST_RECOMMENDER__OUTER_STEPS=200).")

    @model_validator(mode="before")
    @classmethod
    def _known_model_settings(cls, data):
        """A misspelt SHOPCAST_FORECASTER__... variable is refused naming the setting it likely
        meant (the models' configs refuse unknown fields too, but pydantic's message names
        neither the variable nor the setting)."""
        for name in ("forecaster", "recommender"):
            given = data.get(name) if isinstance(data, dict) else None
            if not isinstance(given, dict):  # unset, or a config object handed in
                continue
            known = cls.model_fields[name].default_factory.model_fields
            for key in sorted(set(given) - set(known)):
                near = difflib.get_close_matches(key, list(known), n=1)
                hint = f"; did you mean {PREFIX}{name.upper()}__{near[0].upper()}?" if near else ""
                raise ValueError(f"{PREFIX}{name.upper()}__{key.upper()}: not a setting of the "
                                 f"{name}{hint}")
        _warn_near_misses(cls)
        return data

    @field_validator("data_dir")
    @classmethod
    def _not_a_system_folder(cls, path: Path) -> Path:
        root = path.expanduser().resolve()
        if root == Path(root.anchor) or root == Path.home() or any(
                root.is_relative_to(system) for system in SYSTEM_FOLDERS):
            raise ValueError(f"data_dir {str(path)!r} resolves to {root}: a system folder or a "
                             "whole home, not a data directory; choose a folder of its own")
        return path

    @cached_property
    def root(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def incoming_dir(self) -> Path:
        return self.root / "incoming"

    @property
    def published_dir(self) -> Path:
        return self.root / "published"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    def day_reports_dir(self, run_date: date | str) -> Path:
        """``reports/run_date=D/``: where a run date's summary, failure and drift reports go."""
        return self.reports_dir / f"run_date={run_date}"

    @property
    def evidently_workspace(self) -> Path:
        """Evidently's workspace: one project per source, a snapshot per run date."""
        return self.root / "evidently"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def tracking(self) -> str | None:
        """The MLflow tracking URI in use (None: tracking is off)."""
        if self.tracking_uri == "off":
            return None
        return self.tracking_uri or f"sqlite:///{self.root / 'mlflow.db'}"

    @property
    def dbt_target_dir(self) -> Path:
        return self.root / "dbt" / "target"

    @property
    def dbt_log_dir(self) -> Path:
        return self.root / "dbt" / "logs"

    def ensure_dirs(self) -> None:
        """The data directory's folders, created if need be; an error naming the folder if it
        cannot be created or written."""
        for d in (self.root, self.incoming_dir, self.published_dir, self.reports_dir):
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DataDirUnusable(f"{d}: cannot be created ({exc.strerror})") from exc
            if not os.access(d, os.W_OK | os.X_OK):
                raise DataDirUnusable(f"{d}: not writable by this user")


def _warn_near_misses(settings: type[Settings]) -> None:
    """A SHOPCAST_ variable that is not a setting but is one letter or two from one (as
    SHOPCAST_DATA_DRI) is most likely a typo: say so once. Others are left alone, since source
    mappings may read variables of their own (${SHOPCAST_ONLINE_RETAIL_DIR:-...})."""
    fields = [f.upper() for f in settings.model_fields]
    for var in sorted(os.environ):
        if not var.startswith(PREFIX) or "__" in var or var[len(PREFIX):] in fields:
            continue
        near = difflib.get_close_matches(var[len(PREFIX):], fields, n=1, cutoff=0.8)
        if near and var not in _WARNED:
            _WARNED.add(var)
            log.warning("%s is not a setting; did you mean %s%s?", var, PREFIX, near[0])


_WARNED: set[str] = set()
