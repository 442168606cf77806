"""What every stage is handed: the run context (built once per process) and the window of run
dates moving through the stages."""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from checks.config import QualityConfig, load_quality_config
from checks.gate import Gate, Verdict
from domain.memory import advise_huge_pages, use_arrow_memory_pool
from monitoring.config import MonitoringConfig, load_monitoring_config
from pipeline.settings import Settings
from sources.config import SourceConfig, load_source_config
from warehouse.raw import IncomingDay
from warehouse.transform import DbtProject

log = logging.getLogger("shopcast")


class DayNotReady(RuntimeError):
    """A daily source's file has not arrived yet, and the grace period has not passed."""


class DayFailed(RuntimeError):
    """The day cannot be processed as delivered; the message says which file and why."""

    def __init__(self, message: str, run_date: date | None = None):
        super().__init__(message)
        self.run_date = run_date


class DayBlocked(RuntimeError):
    """An earlier day is failed or missing, so this day waits (see `shopcast skip`)."""


@dataclass
class RunContext:
    """Settings, the source mapping, the quality thresholds and the monitoring settings, read
    once, and the expensive handles built on first use and kept: the Great Expectations context
    and the parsed dbt project (each costs seconds)."""
    settings: Settings
    source: SourceConfig
    quality: QualityConfig
    monitoring: MonitoringConfig
    workers: int = 2   # threads for the per-day work that touches no shared state
    # how that per-day work is spread instead of threads (the flows hand in their task
    # runner's, e.g. Dask's): fn over items, results in order
    mapper: Callable[[Callable[[Any], Any], list], list] | None = None

    @classmethod
    def build(cls, settings: Settings | None = None) -> "RunContext":
        """The context of these settings, reused while neither they nor the mapping and
        threshold files change (a fixed mapping is picked up by the next run)."""
        settings = settings or Settings()
        key = (settings.model_dump_json(), _digest(settings.source_config),
               _digest(settings.quality_config), _digest(settings.monitoring_config))
        if key not in _CONTEXTS:
            advise_huge_pages(settings.numpy_hugepages)
            use_arrow_memory_pool(settings.arrow_memory_pool)
            settings.ensure_dirs()  # exists or can be made, and this user may write it
            source = load_source_config(settings.source_config)
            source.check_landing(settings.root, settings.landing_roots)
            _CONTEXTS[key] = cls(settings, source,
                                 load_quality_config(settings.quality_config, source.name),
                                 load_monitoring_config(settings.monitoring_config, source.name))
        return _CONTEXTS[key]

    def spread_with(self, mapper) -> "RunContext":
        """This context (its handles shared) with the per-day work spread by ``mapper``."""
        spread = object.__new__(RunContext)  # not copy.copy: that would go through __reduce__
        spread.__dict__.update(self.__dict__, mapper=mapper)
        return spread

    def __reduce__(self):
        # sent to another process (a Dask worker) as its settings: the handles are rebuilt
        # there when used, and the per-day work runs where it lands
        return _context_of, (self.settings,)

    @cached_property
    def gate(self) -> Gate:
        return Gate(self.settings.root / "quality", self.quality,
                    thresholds_at=f"{self.settings.quality_config} (defaults, or this source's "
                                  f"under sources.{self.source.name})")

    @cached_property
    def dbt(self) -> DbtProject:
        return DbtProject(self.settings, self.source)

    @property
    def data_docs(self) -> Path:
        return self.settings.root / "quality" / "data_docs" / "index.html"

    def map(self, fn: Callable[[Any], Any], items: Iterable) -> list:
        """fn over items on the context's threads (or its mapper), results in order."""
        items = list(items)
        if self.mapper is not None and len(items) > 1:
            return self.mapper(fn, items)
        if self.workers <= 1 or len(items) <= 1:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(fn, items))


_CONTEXTS: dict[tuple, RunContext] = {}


def _context_of(settings: Settings) -> RunContext:
    # a module function, pickled by name (a classmethod would travel as code)
    return RunContext.build(settings)


def _digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def on_cadence(run_date: date, last: date, every_days: int) -> bool:
    """Every ``every_days``-th day of the calendar, and a run's last day: the days of a long
    backfill that get the costlier records (the same days at every rerun)."""
    return run_date == last or run_date.toordinal() % every_days == 0


@dataclass(frozen=True)
class Stop:
    """The first day of a window that could not go on, and why: the days after it wait."""
    run_date: date
    error: BaseException
    not_ready: bool = False   # its file has not arrived yet: not a failure of the day


@dataclass(frozen=True)
class Window:
    """Consecutive run dates on their way through the stages, with what earlier stages left
    for later ones. A stage that stops at a day returns the window of the days before it."""
    days: tuple[date, ...]
    incoming: dict[date, IncomingDay] = field(default_factory=dict)
    verdicts: dict[date, Verdict] = field(default_factory=dict)   # of the raw gate
    reports: dict[date, dict] = field(default_factory=dict)       # of the published days
    # what a model stage loaded of the warehouse, by (stage, last day), then by origin: what
    # the monitor's realised quality scores there, instead of reloading it (1.4-1.7 s at 100k
    # lines); the recommender hands on its scored customers only (pipeline/predict.py)
    histories: dict[tuple[str, date], dict[date, object]] = field(default_factory=dict)
    stop: Stop | None = None

    @property
    def start(self) -> date:
        return self.days[0]

    @property
    def end(self) -> date:
        return self.days[-1]

    def stopped_at(self, run_date: date, error: BaseException, not_ready: bool = False) -> "Window":
        return replace(self, days=tuple(d for d in self.days if d < run_date),
                       stop=Stop(run_date, error, not_ready))

    def with_(self, **changes) -> "Window":
        return replace(self, **changes)
