"""`shopcast`: run the flows locally, generate the synthetic shop, operate days.

typer gives every command its --help; rich draws the live progress of long work.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

import flows  # noqa: F401 - the embedded Prefect defaults, before Prefect is imported
from domain.paths import REPO_ROOT
from pipeline.settings import Settings

DEMO_SHOP = REPO_ROOT / "configs" / "shop" / "demo.yaml"
SYNTHETIC_MAPPING = REPO_ROOT / "configs" / "sources" / "synthetic.yaml"
# A year's backfill meta-trains each model every retrain_every_days (point in time): the demo
# retrains quarterly, with shorter trainings, the first from scratch and the others warm-started
# from the model before (a quarter of the steps; decision 0008), so that it finishes in minutes.
DEMO_MODELS = {model: {"RETRAIN_EVERY_DAYS": 91, "OUTER_STEPS": 150, "WARM_START_FRACTION": 0.25,
                       "SCRATCH_EVERY_DAYS": 365}
               for model in ("FORECASTER", "RECOMMENDER")}

app = typer.Typer(help="shopcast: the daily batch of ingest, quality gates, dbt features, forecasts "
                  "and recommendations, run on the embedded defaults (one DuckDB file, local "
                  "Prefect).", no_args_is_help=True, add_completion=False,
                  rich_markup_mode="markdown")
console = Console(soft_wrap=True)  # the terminal wraps lines: paths and versions stay whole
DATE = "%Y-%m-%d"


def date_option(*names: str, **kwargs) -> typer.models.OptionInfo:
    return typer.Option(*names, formats=[DATE], metavar="YYYY-MM-DD", **kwargs)


DateOption = Annotated[datetime, date_option()]


def date_range(start: datetime, end: datetime, hint: str = "--end") -> tuple[date, date]:
    """(start, end) as dates; a range given backwards is refused before anything starts."""
    if end < start:
        raise typer.BadParameter(f"{end.date()} is before the start {start.date()}",
                                 param_hint=hint)
    return start.date(), end.date()


class LiveProgress:
    """Days done of total, the stage running and the time left, while a flow runs here."""

    def __init__(self, last: str | None = None):
        from pipeline.definition import STAGE_NAMES

        self.last = last or STAGE_NAMES[-1]  # the stage after which a day counts as done
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("days"), TimeRemainingColumn(),
                                 console=console, transient=False)
        self.task = None

    def __call__(self, ctx, stage, window, outcome) -> None:
        from pipeline.definition import STAGE_NAMES

        if self.task is None:
            self.task = self.progress.add_task("", total=len(outcome.todo))
        following = STAGE_NAMES[min(STAGE_NAMES.index(stage.name) + 1, len(STAGE_NAMES) - 1)]
        last = stage.name == self.last
        done = sum(len(w.days) for w in outcome.windows) + (len(window.days) if last else 0)
        label = "done" if last else following
        self.progress.update(self.task, completed=done, description=(
            f"{window.start}..{window.end} [bold]{label}[/bold]" if window.days else "stopped"))

    def __enter__(self):
        from flows import tasks

        self.progress.start()
        tasks.LOCAL_OBSERVERS.append(self)
        return self

    def __exit__(self, *exc):
        from flows import tasks

        tasks.LOCAL_OBSERVERS.remove(self)
        self.progress.stop()


@app.command()
def generate(
    shop: Annotated[Path, typer.Option(help="shop parameters (YAML)")] = DEMO_SHOP,
    days: Annotated[Optional[int], typer.Option(help="days of history")] = None,
    lines_per_day: Annotated[Optional[float], typer.Option(help="mean order lines per day")] = None,
    seed: Optional[int] = None,
    start: Annotated[Optional[datetime], date_option()] = None,
) -> None:
    """Write the synthetic shop's landing folder (and its ground truth)."""
    from sources.config import load_source_config
    from sources.synthetic import ShopConfig
    from sources.synthetic import generate as generate_shop

    settings = Settings()
    config = ShopConfig.from_yaml(shop)
    overrides = {"days": days, "lines_per_day": lines_per_day, "seed": seed,
                 "start_date": start.date() if start else None}
    # validated like the file: --days 0 or a negative rate is refused naming the option
    config = ShopConfig.model_validate(
        {**config.model_dump(), **{k: v for k, v in overrides.items() if v is not None}})
    cfg = load_source_config(SYNTHETIC_MAPPING)
    t0 = time.perf_counter()
    summary = generate_shop(config, cfg.landing_path(settings.root), settings.root / "truth" / "synthetic")
    console.print(f"synthetic shop: {summary.days} days from {config.start_date}, {summary.lines:,} "
                  f"lines, {summary.items:,} items, {summary.customers:,} customers in "
                  f"{time.perf_counter() - t0:.1f}s")
    console.print(f"  landing folder: {summary.landing_dir}")
    console.print(f"  ground truth:   {summary.truth_dir}")


@app.command()
def daily(run_date: Annotated[Optional[datetime], date_option(
        "--date", help="run date D (default: yesterday in business time)")] = None,
          force: Annotated[bool, typer.Option(
              help="recompute D even if it is complete and its inputs are unchanged")] = False,
          ) -> None:
    """Run the daily flow for one run date: every stage, then publish (a complete day reruns
    only when its inputs changed)."""
    from flows.daily import daily as daily_flow

    with LiveProgress():
        report = daily_flow(run_date=run_date.date() if run_date else None, force=force)
    console.print_json(json.dumps(report, default=str))


@app.command()
def backfill(start: DateOption, end: DateOption,
             force: Annotated[bool, typer.Option(help="redo days already complete")] = False,
             through: Annotated[Optional[str], typer.Option(
                 help="stop each day after this stage (e.g. features: load, validate and "
                      "transform a history before any model is trained)")] = None) -> None:
    """Run a range of run dates (complete days are skipped; resumes after a failure)."""
    from flows.backfill import backfill as backfill_flow
    from pipeline.definition import stages_until

    if through is not None:
        try:
            stages_until(through)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--through") from None
    first, last = date_range(start, end)
    with LiveProgress(through):
        summary = backfill_flow(start=first, end=last, force=force, through=through)
    partial = f", {len(summary['days_through'])} through {through}" if through else ""
    console.print(f"backfill {first}..{last}: {len(summary['done'])} day(s) complete"
                  f"{partial}")
    console.print_json(json.dumps({"days_complete": len(summary["done"]),
                                   "days_through": len(summary["days_through"]),
                                   "through": summary["through"],
                                   "stage_seconds": summary["stage_seconds"]}))


@app.command()
def skip(start: Annotated[datetime, typer.Argument(formats=[DATE], help="the first day")],
         end: Annotated[Optional[datetime], typer.Argument(
             formats=[DATE], help="the last day (default: the first)")] = None,
         reason: Annotated[str, typer.Option(help="why (kept in the ledger)")] = ...) -> None:
    """Mark failed or missed days skipped (one, or a range) so that later days stop waiting for
    them; complete days in the range stay complete."""
    from pipeline.definition import days_between
    from pipeline.stages import mark_skipped

    marked = mark_skipped(Settings(), days_between(*date_range(start, end or start, "end")),
                          reason)
    console.print(f"{len(marked)} day(s) marked skipped"
                  + (f": {marked[0]} .. {marked[-1]}" if marked else "")
                  + "; later days no longer wait for them")


@app.command()
def reprocess(start: DateOption, end: DateOption) -> None:
    """Re-read the days with quarantined lines (after a mapping fix), in forced backfills."""
    from flows.backfill import backfill as backfill_flow
    from pipeline.definition import consecutive_windows
    from pipeline.stages import days_with_quarantine

    first, last = date_range(start, end)
    days = days_with_quarantine(Settings(), first, last)
    if not days:
        console.print(f"no quarantined lines between {first} and {last}")
        return
    with LiveProgress():
        for window_start, window_end in consecutive_windows(days):
            backfill_flow(start=window_start, end=window_end, force=True)
    left = days_with_quarantine(Settings(), first, last)
    console.print(f"reprocessed {len(days)} day(s); {len(left)} still have quarantined lines")


@app.command()
def status(last: Annotated[int, typer.Option(help="how many of the latest days")] = 30) -> None:
    """Where each day stands: the day ledger, and the run in progress or the days a run left
    unfinished (killed, or the machine lost). Reads only: works on a read-only data directory."""
    from warehouse import db, ledger

    settings = Settings()
    with db.reader(settings) as con:
        records = list(ledger.records(con).values())
    try:
        now = db.running(settings)
    except OSError:  # the lock file cannot be opened here: no run can hold it from here either
        now = None
    if now is not None:
        console.print(f"running now: {db.describe_run(now)}", markup=False)
    for r in records[-last:]:
        extra = f" {r.stage}: {r.message}" if r.status in ("failed", "skipped") else ""
        if r.status not in ledger.DONE_STATES + (ledger.DayState.failed.value,) and now is None:
            extra = (f" interrupted after the {r.stage} stage: run the day again to finish it "
                     "(nothing to clear by hand)")
        console.print(f"{r.run_date}  {r.status:<11} lines={r.lines or 0:>9,} "
                      f"quarantined={r.quarantined or 0:>6,}{extra}", markup=False)


@app.command()
def checksums() -> None:
    """Row checksums of the published tables, to compare two runs (same rows, same sums)."""
    from warehouse.checksums import published_checksums

    console.print_json(json.dumps(published_checksums(Settings().published_dir)))


@app.command()
def docs(as_of: Annotated[Optional[datetime], date_option(
        "--date", help="as-of date of the docs (default: today)")] = None) -> None:
    """dbt docs generate for the warehouse."""
    from pipeline.context import RunContext
    from warehouse import db

    ctx = RunContext.build()
    with db.writer_lock(ctx.settings):
        path = ctx.dbt.generate_docs(as_of.date() if as_of else date.today())
    console.print(f"dbt docs: {path} (serve with: dbt docs serve --project-dir dbt_project "
                  f"--profiles-dir dbt_project --target-path {ctx.settings.dbt_target_dir})")


@app.command()
def serve(cron: Annotated[str, typer.Option(help="when the daily flow runs")] = "30 2 * * *",
          timezone: Annotated[str, typer.Option(help="time zone of the cron")] = "Europe/Berlin") -> None:
    """Serve the daily (scheduled) and backfill deployments from this machine."""
    from prefect import serve as prefect_serve
    from prefect.schedules import Cron

    from flows.backfill import backfill as backfill_flow
    from flows.daily import daily as daily_flow
    from sources.config import known_zone

    try:
        known_zone(timezone)  # the mappings' own check
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--timezone") from None
    try:
        schedule = Cron(cron, timezone=timezone)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--cron") from None
    prefect_serve(
        daily_flow.to_deployment(name="daily", schedules=[schedule], concurrency_limit=1),
        backfill_flow.to_deployment(name="backfill", concurrency_limit=1),
    )


monitor_app = typer.Typer(help="The monitoring's views: Evidently's workspace, the review page.")
app.add_typer(monitor_app, name="monitor")


@monitor_app.command("ui")
def monitor_ui(host: Annotated[str, typer.Option(help="where it listens")] = "127.0.0.1",
               port: int = 8000) -> None:
    """Start `evidently ui` on the data directory's workspace (one project per source, a
    snapshot per run date; offline: it reads the files, nothing leaves the machine)."""
    settings = Settings()
    workspace = settings.evidently_workspace
    if not workspace.exists():
        raise typer.BadParameter(f"no Evidently workspace at {workspace}: run a day first")
    evidently = Path(sys.executable).with_name("evidently")
    console.print(f"Evidently UI on http://{host}:{port} for {workspace} (Ctrl-C stops it); "
                  f"the review page: {settings.reports_dir / 'index.html'}")
    os.execv(str(evidently), [str(evidently), "ui", "--workspace", str(workspace),
                              "--host", host, "--port", str(port)])


@monitor_app.command("page")
def monitor_page() -> None:
    """Rebuild the review page (reports/index.html) from what the runs left, and print its path."""
    from pipeline import monitor
    from pipeline.context import RunContext
    from warehouse import db

    db.require_warehouse(Settings())  # before the context, which makes the data directory
    path = monitor.write_review_page(RunContext.build())
    if path is None:  # the run's log has why
        raise typer.Exit(1)
    console.print(str(path), markup=False)


models_app = typer.Typer(help="The registered models and the model gate's decisions.")
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list(kind: Annotated[Optional[str], typer.Option(
        help="forecaster or recommender (default: both)")] = None) -> None:
    """Every registered model (training window, lineage, training time, its backtests) and the
    gate's decisions: what served from which run date, and why."""
    from rich.markup import escape
    from rich.table import Table

    from models import gate, registry
    from pipeline.gate import parts_of
    from warehouse import db

    settings = Settings()
    kinds = [kind] if kind else list(registry.KINDS)
    unknown = set(kinds) - set(registry.KINDS)
    if unknown:
        raise typer.BadParameter(f"no model kind {sorted(unknown)}: {sorted(registry.KINDS)}")
    decisions = []
    if settings.warehouse_path.exists():
        with db.reader(settings) as con:
            decisions = [gate.Decision.from_dict(json.loads(d)) for (d,) in con.execute(
                "SELECT decision FROM ops.model_gate ORDER BY run_date, model").fetchall()]
    backtested: dict[str, list[str]] = {}  # version -> its backtests, against the baseline's score
    for d in decisions:
        if d.backtest is not None and gate.NETWORK in d.backtest.versions:
            b = d.backtest
            scores = ", ".join(f"{c} {s:.4f}" for c, s in b.scores.items())
            backtested.setdefault(b.versions[gate.NETWORK], []).append(
                f"on {b.origin + timedelta(days=1)}..{d.run_date}, {b.metric}: {scores}")
    for name in kinds:
        # one model a line, not a table's cell, wrapped by the terminal (soft_wrap): a version
        # is what promote and rollback are given, so it is never cut; its backtests follow it
        console.print(f"[bold]{name}: registered models[/bold], oldest first")
        registered = registry.candidates(settings.models_dir, name)
        if not registered:
            console.print(f"none in {settings.models_dir / name}")
        for c in registered:
            card = json.loads((c.path / registry.CARD).read_text())
            parent = (card.get("started_from") or {}).get("version")
            start = f"warm-started from {parent}" if parent else "from scratch"
            parts = parts_of(c.path)
            also = f"; also serves as {', '.join(parts)}" if parts else ""
            console.print(f"[bold]{c.path.name}[/bold]  data up to {c.train_end}, {start}, "
                          f"{c.training_seconds:.0f} s{also}")
            for line in backtested.get(c.path.name, []):
                console.print(f"  backtest {escape(line)}")
        gates = Table(title=f"{name}: the gate's decisions", title_justify="left")
        for column in ("from run date", "serves", "was serving"):
            gates.add_column(column, no_wrap=True)
        gates.add_column("why", overflow="fold")  # a version in it is never cut
        decided = [d for d in decisions if d.model == name]
        for d in decided:
            gates.add_row(str(d.run_date), d.winner, d.champion, escape(d.reason))
        console.print(gates if decided else f"[bold]{name}: the gate's decisions[/bold]: none yet")


def _predictor(kind: str):
    from pipeline.predict import FORECASTER, RECOMMENDER

    found = {p.model: p for p in (FORECASTER, RECOMMENDER)}
    if kind not in found:
        raise typer.BadParameter(f"no model kind {kind!r}: {sorted(found)}")
    return found[kind]


def _next_run_date(settings) -> date:
    from warehouse import db, ledger

    with db.reader(settings) as con:
        last = ledger.last_done_day(con)
    if last is None:
        raise typer.BadParameter("no day is complete yet: give --from")
    return last + timedelta(days=1)


KindArgument = Annotated[str, typer.Argument(help="forecaster or recommender")]
FromOption = Annotated[Optional[datetime], date_option(
    "--from", help="the first run date it serves (default: the day after "
    "the last complete day; rerun earlier days with backfill --force)")]


@models_app.command("promote")
def models_promote(kind: KindArgument,
                   version: Annotated[str, typer.Argument(help="a version from `shopcast models list`, "
                                                          "or the baseline's (e.g. baseline-ses-alpha0.1)")],
                   from_date: FromOption = None) -> None:
    """Serve VERSION from a run date on, until the gate decides again at the next retrain date
    (never a model trained on data after that run date)."""
    from pipeline.gate import promote

    settings = Settings()
    first = from_date.date() if from_date else _next_run_date(settings)
    try:
        decision = promote(settings, kind, version, first, _predictor(kind).baseline_version)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    console.print(f"{kind}: {version} serves from {decision.run_date} (was: {decision.champion})",
                  markup=False)


@models_app.command("rollback")
def models_rollback(kind: KindArgument, from_date: FromOption = None) -> None:
    """Serve again the version that published before the current one, from a run date on."""
    from pipeline.gate import previous_version, promote
    from warehouse import db

    settings = Settings()
    first = from_date.date() if from_date else _next_run_date(settings)
    predictor = _predictor(kind)
    with db.reader(settings) as con:
        found = previous_version(con, predictor.table, first)
    if found is None:
        raise typer.BadParameter(f"no earlier {kind} version published before {first}")
    try:
        promote(settings, kind, found[1], first, predictor.baseline_version)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    console.print(f"{kind}: {found[1]} serves again from {first} (instead of {found[0]})",
                  markup=False)


@app.command()
def demo(daily_days: Annotated[int, typer.Option(help="days run by the daily flow at the end")] = 2
         ) -> None:
    """End to end on the synthetic shop: generate, backfill, run the last days daily.

    Prints where the outputs and reports are."""
    from sources.synthetic import ShopConfig

    os.environ.setdefault("SHOPCAST_SOURCE_CONFIG", str(SYNTHETIC_MAPPING))
    for model, fields in DEMO_MODELS.items():
        for key, value in fields.items():
            os.environ.setdefault(f"SHOPCAST_{model}__{key}", str(value))
    settings = Settings()
    shop = ShopConfig.from_yaml(DEMO_SHOP)
    generate(shop=DEMO_SHOP, days=None, lines_per_day=None, seed=None, start=None)
    last = shop.start_date + timedelta(days=shop.days - 1)
    daily_days_ = [last - timedelta(days=i) for i in range(daily_days - 1, -1, -1)]

    from flows.backfill import backfill as backfill_flow
    from flows.daily import daily as daily_flow

    runs: dict[str, StageTimes] = {}
    with StageTimes.of(runs, "backfill"), LiveProgress():
        backfill_flow(start=shop.start_date, end=daily_days_[0] - timedelta(days=1), force=False)
    console.print(f"history built in {runs['backfill'].wall:.0f}s")
    with StageTimes.of(runs, f"{daily_days} daily runs"), LiveProgress():
        for d in daily_days_:
            daily_flow(run_date=d)
    published = settings.published_dir
    console.print()
    console.print("Demo complete.")
    for label, where in (
        ("review page", settings.reports_dir / "index.html"),
        ("warehouse (DuckDB)", settings.warehouse_path),
        ("published tables", f"{published}  (latest: {published / 'latest.json'})"),
        ("forecasts", published / "forecasts" / f"run_date={last}"),
        ("recommendations", published / "recommendations" / f"run_date={last}"),
        ("models", f"{settings.models_dir}/forecaster, {settings.models_dir}/recommender; "
                   "which serves and why: shopcast models list"),
        ("tracking (MLflow)", f"{settings.tracking}: every training and gate backtest; "
                              f"mlflow ui --backend-store-uri {settings.tracking}"
                              if settings.tracking else "off"),
        ("reports", f"{settings.reports_dir}/run_date=<D>/: summary.md, drift.json, realised.json, "
                    f"Evidently's drift_*.html (latest: {settings.day_reports_dir(last)})"),
        ("data quality", f"{settings.root / 'quality' / 'data_docs' / 'index.html'} (Data Docs)"),
        ("dbt docs", f"shopcast docs --date {last}"),
        ("day ledger", "shopcast status"),
    ):
        console.print(f"  {label + ':':<20}{where}", markup=False)
    print_stage_times(runs, settings.models_dir)


class StageTimes:
    """The wall time of every stage over the flow runs made inside ``with``, from their
    RunOutcome (an observer of each run), and the run's own wall time."""

    def __init__(self):
        self.outcomes: dict[int, object] = {}  # id -> RunOutcome: each flow run once
        self.wall = 0.0

    @classmethod
    def of(cls, runs: dict, name: str) -> "StageTimes":
        runs[name] = cls()
        return runs[name]

    def __call__(self, ctx, stage, window, outcome) -> None:
        self.outcomes[id(outcome)] = outcome

    def seconds(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for outcome in self.outcomes.values():
            for stage, seconds in outcome.stage_seconds.items():
                out[stage] = out.get(stage, 0.0) + seconds
        return out

    def __enter__(self):
        from flows import tasks

        self.began, self._started = datetime.now(timezone.utc), time.perf_counter()
        tasks.LOCAL_OBSERVERS.append(self)
        return self

    def __exit__(self, *exc):
        from flows import tasks

        tasks.LOCAL_OBSERVERS.remove(self)
        self.wall = time.perf_counter() - self._started
        self.ended = datetime.now(timezone.utc)


def print_stage_times(runs: dict[str, StageTimes], models_dir: Path) -> None:
    """One line per stage with its wall time in each run, then the time outside the stages
    (Prefect, start-up) and the meta-training inside the model stages."""
    from models.registry import saved_since
    from pipeline.definition import STAGE_NAMES

    def row(label: str, cells) -> None:
        console.print(f"  {label:<16}" + "".join(f"{c:>22}" for c in cells), markup=False)

    seconds = {name: run.seconds() for name, run in runs.items()}
    console.print()
    row("seconds", runs)
    for stage in STAGE_NAMES:
        row(stage, (f"{seconds[n].get(stage, 0.0):.1f}" for n in runs))
    row("outside stages", (f"{run.wall - sum(seconds[n].values()):.1f}" for n, run in runs.items()))
    row("total", (f"{run.wall:.1f}" for run in runs.values()))
    trained = {n: [c for c in saved_since(models_dir, run.began) if c.saved_at <= run.ended]
               for n, run in runs.items()}
    row("training", (f"{sum(c.training_seconds for c in trained[n]):.1f} "
                     f"({len(trained[n])} model{'' if len(trained[n]) == 1 else 's'})"
                     for n in runs))
    row("  warm-started", (f"{sum(c.warm_started for c in trained[n])} of {len(trained[n])}"
                           for n in runs))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `shopcast` script. What an operator corrects (a configuration file,
    a setting, a failed or waiting day, a busy warehouse) is said in one message without a
    traceback, exit status 1, and a flow run's log says it in its one line; SHOPCAST_TRACEBACK=1
    shows the tracebacks."""
    if not os.environ.get("SHOPCAST_TRACEBACK"):
        for name in RUN_LOGGERS:
            logging.getLogger(name).addFilter(OperatorErrorsInOneLine())
    try:
        app(args=argv, prog_name="shopcast")
    except operator_errors() as exc:
        if os.environ.get("SHOPCAST_TRACEBACK"):
            raise
        from rich.markup import escape

        from domain.errors import invalid_fields

        # soft wrap: the terminal wraps it, a path in it stays whole when copied
        Console(stderr=True, soft_wrap=True).print(
            f"[bold red]{type(exc).__name__}[/]: {escape(invalid_fields(exc))}", highlight=False)
        raise SystemExit(1) from None


RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


class OperatorErrorsInOneLine(logging.Filter):
    """Prefect logs a failed run's exception with its traceback: for an operator error (a failed
    or waiting day...) the message, which names the exception, is all there is to say."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], operator_errors()):
            record.exc_info, record.exc_text = None, None
        return True


def operator_errors() -> tuple[type[BaseException], ...]:
    from pydantic import ValidationError

    from domain.errors import ConfigurationError, NothingYet
    from pipeline.context import DayBlocked, DayFailed, DayNotReady
    from pipeline.settings import DataDirUnusable
    from pipeline.stages import OutsideCalendar
    from warehouse.db import WarehouseBusy

    return (ConfigurationError, ValidationError, DayFailed, DayBlocked, DayNotReady,
            WarehouseBusy, DataDirUnusable, NothingYet, OutsideCalendar)


if __name__ == "__main__":
    main()
