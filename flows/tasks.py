"""The pipeline's stages as Prefect tasks: one task per stage and window, with a timeout, retries
of failed source reads and while a daily file has not arrived, and the artifacts a reviewer
opens in the UI. Failure bookkeeping and the one-run-per-warehouse lock stay in the pipeline
(pipeline/definition.py)."""
from __future__ import annotations

import logging

from prefect import task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from pipeline.context import DayNotReady, RunContext, Window, log
from pipeline.definition import RunOutcome, Stage
from pipeline.settings import Settings


def this_run(what: str) -> str:
    """The flow run as another run's message names it: what it does, its Prefect name and id."""
    from prefect.runtime import flow_run

    return f"{what} (Prefect flow run {flow_run.name!r}, id {flow_run.id})"


def task_runner(settings: Settings):
    """The flows' task runner, as configured: threads, or Dask (a local cluster of
    ``dask_workers`` processes, or the cluster at ``dask_address``)."""
    if settings.task_runner == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner()
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    # a local cluster's own chatter (and its benign tracebacks when it shuts down) stays out
    # of the run's log; warnings still show
    logging.getLogger("distributed").setLevel(logging.WARNING)
    return DaskTaskRunner(cluster_kwargs={"n_workers": settings.dask_workers,
                                          "threads_per_worker": 1, "processes": True})


@task(name="per day", task_run_name="day {item}", cache_policy=NO_CACHE)
def _one(fn, item):
    return fn(item)


def _on_task_runner(fn, items: list) -> list:
    """fn over items as task runs on the flow's task runner (Dask's workers), in order."""
    return [future.result() for future in _one.map(unmapped(fn), items)]


def run_context() -> RunContext:
    """The run context, its per-day work on Dask's workers when the task runner is Dask (on
    threads the context's own pool does it, without a task run per day)."""
    ctx = RunContext.build()
    return ctx.spread_with(_on_task_runner) if ctx.settings.task_runner == "dask" else ctx


def stage_as_task(stage: Stage, settings: Settings, not_ready_retries: int = 0,
                  not_ready_delay_s: float = 1800):
    """The stage as a task, with the stage timeout. Prefect retries it on the stage's transient
    errors (a failed source read) ``source_read_retries`` times with exponential backoff, and
    while nothing of the window is ready (the task raises DayNotReady) ``not_ready_retries``
    more times."""
    transient = settings.source_read_retries if stage.transient else 0
    delays = (exponential_backoff(settings.source_read_backoff_s)(transient)
              + [not_ready_delay_s] * not_ready_retries)

    def retry(task, task_run, state) -> bool:
        try:
            state.result()
        except DayNotReady:
            return True
        except stage.transient as exc:
            if task_run.run_count <= transient:
                log.warning("%s: %s; retry %d of %d", stage.name, exc, task_run.run_count, transient)
                return True
            return False
        except Exception:
            return False
        return False

    def run(ctx: RunContext, window: Window) -> Window:
        after = stage.run(ctx, window)
        if not_ready_retries and after.stop is not None and after.stop.not_ready and not after.days:
            raise after.stop.error
        return after

    return task(run, name=stage.name, cache_policy=NO_CACHE, retries=len(delays),
                retry_delay_seconds=delays or 0, retry_condition_fn=retry,
                timeout_seconds=settings.stage_timeout_s)


def prefect_call(settings: Settings, not_ready_retries: int = 0):
    """A StageCall for pipeline.definition that runs each stage as a Prefect task."""
    tasks: dict[str, object] = {}

    def call(stage: Stage, ctx: RunContext, window: Window) -> Window:
        if stage.name not in tasks:
            tasks[stage.name] = stage_as_task(stage, settings, not_ready_retries)
        named = tasks[stage.name].with_options(task_run_name=f"{stage.name} {window.start}"
                                               + ("" if window.start == window.end else f"..{window.end}"))
        return named(ctx, window)

    return call


def gate_artifacts(ctx: RunContext, stage: Stage, window: Window, outcome: RunOutcome) -> None:
    """After the raw gate: a table of its verdicts per day and a link to the Data Docs."""
    if stage.name != "gate" or not (window.verdicts or outcome.stop):
        return
    from prefect.artifacts import create_link_artifact, create_table_artifact

    rows = []
    for run_date, verdict in sorted(window.verdicts.items()):
        day = window.incoming[run_date]
        failed = outcome.stop is not None and outcome.stop.run_date == run_date
        rows.append({"run_date": str(run_date), "passed": verdict.passed,
                     "delivered": day.delivered, "quarantined": day.quarantined,
                     "by_rule": str(day.quarantine_counts),
                     "failures": str(outcome.stop.error) if failed else "",
                     "data_docs": str(verdict.docs_pages[-1]) if verdict.docs_pages else ""})
    if rows:
        create_table_artifact(key="raw-data-gate", table=rows, description=(
            f"Raw data gate: {sum(r['passed'] for r in rows)} of {len(rows)} day(s) passed"))
        create_link_artifact(key="data-docs", link=ctx.data_docs.as_uri(),
                             link_text="Data Docs (Great Expectations)")


# Observers the command line adds for its live progress display (same process as the flow).
LOCAL_OBSERVERS: list = []


def review_page_artifact(ctx: RunContext) -> None:
    """A link to the review page the run rebuilt (reports/index.html), failed days included."""
    from prefect.artifacts import create_link_artifact

    index = ctx.settings.reports_dir / "index.html"
    if index.exists():
        create_link_artifact(key="review-page", link=index.resolve().as_uri(),
                             link_text="Review page: status, data quality, drift, realised quality")
