"""One measured step of the benchmark, in its own process so that its peak memory is its own.

    python -m bench.child '<json>'   ->   prints {"seconds": ..., "peak_rss_mb": ..., ...}

The pipeline steps run the stages of pipeline/definition.py, with the same parallelism as the flows.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from pipeline.context import RunContext, Window
from pipeline.definition import STAGE_NAMES, STAGES, days_between, run_days
from warehouse import db


def _days(spec: dict) -> list[date]:
    return days_between(date.fromisoformat(spec["start"]), date.fromisoformat(spec["end"]))


def _reset_peak() -> None:
    """Start this process's peak resident memory (VmHWM) again from its current size (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def run(spec: dict) -> dict:
    step = spec["step"]
    ctx = RunContext.build()
    settings = ctx.settings
    out: dict = {}
    if step == "generate":
        from sources.synthetic import ShopConfig, generate

        summary = generate(ShopConfig(**spec["shop"]), ctx.source.landing_path(settings.root),
                           settings.root / "truth" / "synthetic")
        out["lines"] = summary.lines
    elif step in STAGE_NAMES:  # one stage over a window, as a backfill runs it
        stage = STAGES[STAGE_NAMES.index(step)]
        after = stage.run(ctx, Window(tuple(_days(spec))))
        if after.stop is not None:
            raise RuntimeError(f"{step} stopped at {after.stop.run_date}: {after.stop.error}")
        out["lines"] = sum(day.lines for day in after.incoming.values())
    elif step == "daily":  # every stage users run for one day, without Prefect's server
        timings: dict[str, float] = {}

        def timed(stage, ctx, window):
            t = time.perf_counter()
            after = stage.run(ctx, window)
            timings[stage.name] = time.perf_counter() - t
            return after

        t = time.perf_counter()
        ctx.gate.warm_up()  # GX import and context, once per process
        timings["gate_setup"] = time.perf_counter() - t
        t = time.perf_counter()
        ctx.dbt.manifest()  # dbt import and (partial) parse, once per process
        timings["dbt_setup"] = time.perf_counter() - t
        t = time.perf_counter()
        import evidently.legacy.calculations.stattests  # noqa: F401 (Evidently's import, once per process)
        from evidently import Report  # noqa: F401
        timings["monitor_setup"] = time.perf_counter() - t
        outcome = run_days(ctx, _days(spec), force=True, call=timed)
        if outcome.stop is not None:
            raise RuntimeError(f"{outcome.stop.run_date} stopped at {outcome.failed_stage}: "
                               f"{outcome.stop.error}")
        out.update(lines=outcome.reports[0]["lines"], timings=timings,
                   customers=outcome.reports[0]["recommended_customers"])
        if spec.get("plain"):  # the same day's transformations as plain SQL, after the run
            from bench import plain_sql

            out["plain"] = plain_sql.plain_day(settings, ctx.source, _days(spec)[-1],
                                               settings.root / "plain_day.duckdb")
    elif step == "run":  # run_days as the flows call it: complete, unchanged days are left alone
        t = time.perf_counter()
        outcome = run_days(ctx, _days(spec), force=spec.get("force", False))
        if outcome.stop is not None:
            raise RuntimeError(f"{outcome.stop.run_date} stopped at {outcome.failed_stage}: "
                               f"{outcome.stop.error}")
        out.update(run_s=time.perf_counter() - t, ran=len(outcome.todo))
    elif step == "day_by_day":  # days one at a time in one long-lived process: memory per day
        days, stage_peaks = [], {}

        def measured(stage, ctx, window):  # each stage's own peak (VmHWM reset before it)
            _reset_peak()
            after = stage.run(ctx, window)
            stage_peaks[stage.name] = _status_mb("VmHWM")
            return after

        for d in _days(spec):
            t = time.perf_counter()
            outcome = run_days(ctx, [d], force=True, call=measured)
            if outcome.stop is not None:
                raise RuntimeError(f"{outcome.stop.run_date} stopped at {outcome.failed_stage}: "
                                   f"{outcome.stop.error}")
            days.append({"day": d.isoformat(), "seconds": time.perf_counter() - t,
                         "lines": outcome.reports[0]["lines"],
                         "peak_mb": max(stage_peaks.values()), "rss_mb": _status_mb("VmRSS"),
                         "stage_peak_mb": dict(stage_peaks)})
            print(json.dumps(days[-1]), file=sys.stderr, flush=True)
        out["days"] = days
    elif step == "cli_backfill":  # the flow as an operator starts it, with its task runner
        import subprocess

        from warehouse.checksums import mart_checksums, published_checksums, table_checksum

        through = ["--through", spec["through"]] if spec.get("through") else []
        done = subprocess.run(
            [str(Path(sys.executable).parent / "shopcast"), "backfill", "--start", spec["start"],
             "--end", spec["end"], *through],
            env={**os.environ, "SHOPCAST_TASK_RUNNER": spec["runner"]}, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"shopcast backfill failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        summary = json.loads(done.stdout[done.stdout.rindex("\n{") + 1:])
        if through:  # days short of publishing: what the stages wrote to the warehouse
            with db.reader(settings) as con:
                out["written"] = {**mart_checksums(con), **{t: table_checksum(con, t) for t in (
                    "raw.order_lines", "raw.quarantine")}}
        else:
            out["published"] = published_checksums(settings.published_dir)
        out.update(stage_seconds=summary["stage_seconds"], days_through=summary["days_through"],
                   peak_children_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    elif step == "train_processes":  # the forecaster trained in N processes, scored after the origin
        from models.forecaster.evaluate import rolling_origins
        from models.forecaster.predict import forecast
        from models.forecaster.train import meta_train
        from models.panel import load_panel
        from pipeline.predict import meta_trained

        cfg = settings.forecaster.model_copy(update={"processes": spec["processes"]})
        origin = date.fromisoformat(spec["origin"])
        with db.reader(settings) as con:
            end = con.execute("SELECT max(order_date) FROM marts.fct_item_daily_demand").fetchone()[0]
            panel = load_panel(con, end)
        trained_s: dict = {}

        def fit(history):
            t = time.perf_counter()
            trained = meta_trained(meta_train, history, cfg, print, None)
            trained_s["s"] = time.perf_counter() - t
            return forecast(trained, history)

        results = rolling_origins(panel, [origin], {"meta": fit}, log=None)
        by_segment = results.set_index("segment")
        out.update({"train_s": trained_s["s"], "wrmsse all": by_segment.loc["all", "wrmsse"],
                    "wrmsse cold": by_segment.loc["cold", "wrmsse"],
                    "total_bias all": by_segment.loc["all", "total_bias"]})
    elif step == "forecast_compare":
        from bench import forecast as fc

        results, reference, training = fc.compare(
            settings.root, [date.fromisoformat(d) for d in spec["origins"]],
            Path(spec["truth"]) if spec.get("truth") else None,
            set(spec["models"]) if spec.get("models") else None, log=print)
        out.update(results=results.to_dict(orient="records"), reference=reference,
                   training=training)
    elif step in ("inner_loop_speed", "train_once"):
        from bench import forecast as fc

        out.update(getattr(fc, step)(settings.root, date.fromisoformat(spec["origin"]),
                                     settings.forecaster))
    elif step == "daily_forecast":
        from bench import forecast as fc

        out.update(fc.daily_forecast(settings, date.fromisoformat(spec["origin"])))
    elif step == "recommend_compare":
        from bench import recommend as rc

        results, reference, training = rc.compare(
            settings.root, [date.fromisoformat(d) for d in spec["origins"]],
            Path(spec["truth"]) if spec.get("truth") else None, settings.recommender, log=print,
            only=spec.get("only"))
        out.update(results=results.to_dict(orient="records"), reference=reference,
                   training=training)
    elif step in ("recommend_inner_loop_speed", "recommend_train_once"):
        from bench import recommend as rc

        fn = getattr(rc, step.removeprefix("recommend_"))
        out.update(fn(settings.root, date.fromisoformat(spec["origin"]), settings.recommender))
    elif step == "two_stage_once":  # the two-stage ranker trained up to D - 1, then D's lists
        from bench.recommend import history_at
        from models import trees
        from models.recommender import ranker

        day = date.fromisoformat(spec["day"])
        history = history_at(settings.root, day)
        _reset_peak()
        t = time.perf_counter()
        model = ranker.train(history.until(day - timedelta(days=1)),
                             customers_per_origin=settings.recommender.ranker_customers)
        out.update(train_s=time.perf_counter() - t, train_peak_mb=_status_mb("VmHWM"))
        _reset_peak()
        t = time.perf_counter()
        lists = ranker.recommend(model, history)
        out.update(lists_s=time.perf_counter() - t, lists_peak_mb=_status_mb("VmHWM"),
                   customers=len(lists.customer_ids), items=len(history.sellable()),
                   ranker_customers=settings.recommender.ranker_customers,
                   ranker_origins=ranker.TRAINING_ORIGINS)
        # as served (recommend_days): the ranker compiled, its first use on this machine (an
        # empty cache of its own, removed after)
        with tempfile.TemporaryDirectory() as cache:
            os.environ["XDG_CACHE_HOME"] = cache
            t = time.perf_counter()
            trees.compiled(model, ranker.FEATURES, "the two-stage ranker")
            out.update(compile_s=time.perf_counter() - t)
            _reset_peak()
            t = time.perf_counter()
            served = ranker.recommend_days(model, history, [history.run_date])[0]
            out.update(served_s=time.perf_counter() - t, served_peak_mb=_status_mb("VmHWM"),
                       same_lists=served.item_ids.tolist() == lists.item_ids.tolist())
    elif step == "daily_recommend":
        from bench import recommend as rc

        out.update(rc.daily_recommend(settings, date.fromisoformat(spec["origin"]),
                                      promoted=spec.get("promoted")))
    elif step == "register_two_stage":
        from bench import recommend as rc

        out.update(promoted=rc.register_two_stage(settings, date.fromisoformat(spec["origin"])))
    elif step == "warm_start_compare":
        from bench import warm_start

        kind = spec["kind"]
        out.update(warm_start.compare(
            settings.root, kind, [date.fromisoformat(d) for d in spec["origins"]],
            settings.forecaster if kind == "forecast" else settings.recommender, log=print,
            seeds=spec["seeds"]))
    elif step in ("plain_ingest", "plain_marts"):
        from bench import plain_sql

        out.update(getattr(plain_sql, step)(settings, ctx.source, Path(spec["warehouse"]), spec))
    else:
        raise ValueError(f"unknown step {step}")
    return out


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    t0 = time.perf_counter()
    result = run(spec)
    result["seconds"] = time.perf_counter() - t0
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result, default=str))
