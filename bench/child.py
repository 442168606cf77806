"""One measured step of the benchmark, in its own process so that its peak memory is its own.

    python -m bench.child '<json>'   ->   prints {"seconds": ..., "peak_rss_mb": ..., ...}

The pipeline steps call the same stage functions, with the same parallelism, as the flows.
"""
from __future__ import annotations

import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from flows import stages
from warehouse.settings import Settings


def _days(spec: dict) -> list[date]:
    return stages.days_between(date.fromisoformat(spec["start"]), date.fromisoformat(spec["end"]))


def run(spec: dict) -> dict:
    step = spec["step"]
    settings = Settings()
    cfg = stages.load(settings)
    out: dict = {}
    if step == "generate":
        from sources.synthetic import ShopConfig, generate

        summary = generate(ShopConfig(**spec["shop"]), cfg.landing_path(settings.root),
                           settings.root / "truth" / "synthetic")
        out["lines"] = summary.lines
    elif step == "stage":  # the backfill's parallel staging: two workers, as the flow's runner
        with ThreadPoolExecutor(max_workers=2) as pool:
            staged = list(pool.map(lambda d: stages.stage_day(settings, cfg, d), _days(spec)))
        out["lines"] = sum(s.lines for s in staged)
    elif step == "promote":
        from warehouse.raw import IncomingDay, incoming_dir

        stages.promote_days(settings, cfg, [
            IncomingDay.load(incoming_dir(settings.incoming_dir, d)) for d in _days(spec)])
    elif step == "transform":
        days = _days(spec)
        stages.transform_window(settings, cfg, days[0], days[-1])
    elif step == "finish":
        stages.finish_days(settings, cfg, _days(spec))
    elif step == "daily":  # the daily flow's stages, without Prefect's server
        (d,) = _days(spec)
        stages.check_not_blocked(settings, cfg, d)
        timings: dict[str, float] = {}

        def timed(name, fn, *args):
            t = time.perf_counter()
            value = fn(*args)
            timings[name] = time.perf_counter() - t
            return value

        timed("gate_setup", lambda: stages.gate_for(settings, cfg).warm_up())  # GX import and context, once per process
        incoming = timed("ingest", stages.stage_day, settings, cfg, d)
        ((_, verdict),) = timed("gate", stages.gate_days, settings, cfg, [incoming])
        if not verdict.passed:
            raise RuntimeError(f"{d} failed the raw gate: {verdict.failures}")
        timed("promote", stages.promote_days, settings, cfg, [incoming])
        timed("transform", stages.transform_window, settings, cfg, d, d)
        feature_verdicts = timed("features", stages.check_features, settings, cfg, d, d)
        if not all(v.passed for v in feature_verdicts):
            raise RuntimeError(f"{d} failed the features gate")
        timed("finish", stages.finish_days, settings, cfg, [d])
        out.update(lines=incoming.lines, timings=timings)
    elif step == "forecast_compare":
        from bench import forecast as fc

        results, reference, training = fc.compare(
            settings.root, [date.fromisoformat(d) for d in spec["origins"]],
            Path(spec["truth"]) if spec.get("truth") else None, log=print)
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
            Path(spec["truth"]) if spec.get("truth") else None, settings.recommender, log=print)
        out.update(results=results.to_dict(orient="records"), reference=reference,
                   training=training)
    elif step in ("recommend_inner_loop_speed", "recommend_train_once"):
        from bench import recommend as rc

        fn = getattr(rc, step.removeprefix("recommend_"))
        out.update(fn(settings.root, date.fromisoformat(spec["origin"]), settings.recommender))
    elif step == "daily_recommend":
        from bench import recommend as rc

        out.update(rc.daily_recommend(settings, date.fromisoformat(spec["origin"])))
    elif step in ("plain_ingest", "plain_marts"):
        from bench import plain_sql

        out.update(getattr(plain_sql, step)(settings, cfg, Path(spec["warehouse"]), spec))
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
