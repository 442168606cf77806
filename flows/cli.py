"""`shopcast` command line: run the flows locally, generate the synthetic shop, operate days."""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from warehouse.settings import REPO_ROOT, Settings

DEMO_SHOP = REPO_ROOT / "configs" / "shop" / "demo.yaml"
# A year's backfill meta-trains each model every retrain_every_days (point in time): the demo
# retrains quarterly with shorter trainings so that it finishes in minutes.
DEMO_MODELS = {"FORECASTER": {"RETRAIN_EVERY_DAYS": 91, "OUTER_STEPS": 150},
               "RECOMMENDER": {"RETRAIN_EVERY_DAYS": 91, "OUTER_STEPS": 150}}


def _date(text: str) -> date:
    return date.fromisoformat(text)


def cmd_generate(args) -> int:
    from sources.config import load_source_config
    from sources.synthetic import ShopConfig, generate

    settings = Settings()
    shop = ShopConfig.from_yaml(args.shop)
    overrides = {k: v for k, v in {"days": args.days, "lines_per_day": args.lines_per_day,
                                   "seed": args.seed, "start_date": args.start}.items() if v is not None}
    shop = shop.model_copy(update=overrides)
    cfg = load_source_config(REPO_ROOT / "configs" / "sources" / "synthetic.yaml")
    t0 = time.perf_counter()
    summary = generate(shop, cfg.landing_path(settings.root), settings.root / "truth" / "synthetic")
    print(f"synthetic shop: {summary.days} days from {shop.start_date}, {summary.lines:,} lines, "
          f"{summary.items:,} items, {summary.customers:,} customers in {time.perf_counter() - t0:.1f}s")
    print(f"  landing folder: {summary.landing_dir}")
    print(f"  ground truth:   {summary.truth_dir}")
    return 0


def cmd_daily(args) -> int:
    from flows.daily import daily

    report = daily(run_date=args.date)
    print(json.dumps(report, indent=2, default=str))
    return 0


def cmd_backfill(args) -> int:
    from flows.backfill import backfill

    summary = backfill(start=args.start, end=args.end, force=args.force)
    print(f"backfill {args.start}..{args.end}: {len(summary['done'])} day(s) complete")
    return 0


def cmd_skip(args) -> int:
    from flows import stages

    stages.mark_skipped(Settings(), args.date, args.reason)
    print(f"{args.date} marked skipped: later days no longer wait for it")
    return 0


def cmd_reprocess(args) -> int:
    """After a mapping fix: re-read the days that have quarantined lines, in forced backfills."""
    from flows import stages
    from flows.backfill import backfill, consecutive_windows

    days = stages.days_with_quarantine(Settings(), args.start, args.end)
    if not days:
        print(f"no quarantined lines between {args.start} and {args.end}")
        return 0
    for start, end in consecutive_windows(days):
        backfill(start=start, end=end, force=True)
    with_rows = stages.days_with_quarantine(Settings(), args.start, args.end)
    print(f"reprocessed {len(days)} day(s); {len(with_rows)} still have quarantined lines")
    return 0


def cmd_status(args) -> int:
    from warehouse import db, ledger

    settings = Settings()
    with db.reader(settings) as con:
        recs = list(ledger.records(con).values())
    for r in recs[-args.last:]:
        extra = f" {r.stage}: {r.message}" if r.status in ("failed", "skipped") else ""
        print(f"{r.run_date}  {r.status:<11} lines={r.lines or 0:>9,} quarantined={r.quarantined or 0:>6,}{extra}")
    return 0


def cmd_docs(args) -> int:
    from flows.stages import load
    from warehouse import db, transform

    settings = Settings()
    with db.writer_lock(settings):
        path = transform.generate_docs(settings, load(settings), args.date or date.today())
    print(f"dbt docs: {path} (serve with: dbt docs serve --project-dir dbt_project "
          f"--profiles-dir dbt_project --target-path {settings.dbt_target_dir})")
    return 0


def cmd_serve(args) -> int:
    from prefect import serve
    from prefect.schedules import Cron

    from flows.backfill import backfill
    from flows.daily import daily

    serve(
        daily.to_deployment(name="daily", schedules=[Cron(args.cron, timezone=args.timezone)],
                            concurrency_limit=1),
        backfill.to_deployment(name="backfill", concurrency_limit=1),
    )
    return 0


def cmd_demo(args) -> int:
    """Generate the demo shop, build its history, run the last days daily, say where things are."""
    import os

    from sources.synthetic import ShopConfig

    os.environ.setdefault("SHOPCAST_SOURCE_CONFIG", str(REPO_ROOT / "configs" / "sources" / "synthetic.yaml"))
    for model, fields in DEMO_MODELS.items():
        for key, value in fields.items():
            os.environ.setdefault(f"SHOPCAST_{model}__{key}", str(value))
    settings = Settings()
    shop = ShopConfig.from_yaml(DEMO_SHOP)
    cmd_generate(argparse.Namespace(shop=DEMO_SHOP, days=None, lines_per_day=None, seed=None, start=None))
    last = shop.start_date + timedelta(days=shop.days - 1)
    daily_days = [last - timedelta(days=i) for i in range(args.daily_days - 1, -1, -1)]

    from flows.backfill import backfill
    from flows.daily import daily

    t0 = time.perf_counter()
    backfill(start=shop.start_date, end=daily_days[0] - timedelta(days=1), force=False)
    print(f"history built in {time.perf_counter() - t0:.0f}s")
    for d in daily_days:
        daily(run_date=d)
    print()
    print("Demo complete.")
    print(f"  warehouse (DuckDB): {settings.warehouse_path}")
    print(f"  published tables:   {settings.published_dir}  (latest: {settings.published_dir / 'latest.json'})")
    print(f"  forecasts:          {settings.published_dir / 'forecasts' / f'run_date={last}'}")
    print(f"  recommendations:    {settings.published_dir / 'recommendations' / f'run_date={last}'}")
    print(f"  models:             {settings.models_dir}/forecaster, {settings.models_dir}/recommender")
    print(f"  reports:            {settings.reports_dir}/run_date=<D>/summary.md "
          f"(latest: {settings.reports_dir / f'run_date={last}' / 'summary.md'})")
    print(f"  data quality:       {settings.root / 'quality' / 'data_docs' / 'index.html'} (Data Docs)")
    print(f"  dbt docs:           shopcast docs --date {last}")
    print("  day ledger:         shopcast status")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopcast", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="write the synthetic shop's landing folder")
    p.add_argument("--shop", type=Path, default=DEMO_SHOP, help="shop parameters (YAML)")
    p.add_argument("--days", type=int)
    p.add_argument("--lines-per-day", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--start", type=_date)
    p.set_defaults(fn=cmd_generate)

    p = sub.add_parser("daily", help="run the daily flow for one run date")
    p.add_argument("--date", type=_date, help="run date D (default: yesterday in business time)")
    p.set_defaults(fn=cmd_daily)

    p = sub.add_parser("backfill", help="run a range of run dates")
    p.add_argument("--start", type=_date, required=True)
    p.add_argument("--end", type=_date, required=True)
    p.add_argument("--force", action="store_true", help="redo days already complete")
    p.set_defaults(fn=cmd_backfill)

    p = sub.add_parser("skip", help="mark a failed day skipped so later days stop waiting")
    p.add_argument("date", type=_date)
    p.add_argument("--reason", required=True)
    p.set_defaults(fn=cmd_skip)

    p = sub.add_parser("reprocess", help="re-read days with quarantined lines (after a mapping fix)")
    p.add_argument("--start", type=_date, required=True)
    p.add_argument("--end", type=_date, required=True)
    p.set_defaults(fn=cmd_reprocess)

    p = sub.add_parser("status", help="the day ledger")
    p.add_argument("--last", type=int, default=30)
    p.set_defaults(fn=cmd_status)

    p = sub.add_parser("docs", help="dbt docs generate for the warehouse")
    p.add_argument("--date", type=_date)
    p.set_defaults(fn=cmd_docs)

    p = sub.add_parser("serve", help="serve the daily (scheduled) and backfill deployments locally")
    p.add_argument("--cron", default="30 2 * * *")
    p.add_argument("--timezone", default="Europe/Berlin")
    p.set_defaults(fn=cmd_serve)

    p = sub.add_parser("demo", help="end to end on the synthetic shop")
    p.add_argument("--daily-days", type=int, default=3)
    p.set_defaults(fn=cmd_demo)

    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
