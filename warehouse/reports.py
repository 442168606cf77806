"""Human-readable run reports (Markdown) written beside the data, one folder per run date."""
from __future__ import annotations


def day_report_markdown(report: dict) -> str:
    rows = [
        ("lines delivered (after quarantine)", report["lines"]),
        ("demand lines", report["demand_lines"]),
        ("cancellations / returns", report["cancellation_lines"]),
        ("non-product lines", report["non_product_lines"]),
        ("zero-price product lines", report["zero_price_lines"]),
        ("lines without customer", report["lines_without_customer"]),
        ("exact repeated lines (kept)", report["repeated_lines"]),
        ("quarantined lines", report["quarantined_lines"]),
        ("orders", report["orders"]),
        ("demand units", report["demand_units"]),
        ("sellable items with features", report["sellable_items_with_features"]),
        ("customers with features", report["customers_with_features"]),
    ]
    lines = [
        f"# Run {report['run_date']} ({report['source']})",
        "",
        "| measure | count |",
        "|---|---:|",
        *[f"| {name} | {value:,} |" for name, value in rows],
        "",
    ]
    if report.get("forecast_model"):
        lines += [f"Forecasts: {report['forecast_items']:,} items x 28 days "
                  f"({report['forecast_rows']:,} rows), model {report['forecast_model']}", ""]
    if report.get("recommendation_model"):
        lines += [f"Recommendations: {report['recommended_customers']:,} customers "
                  f"({report['recommendation_rows']:,} rows), model "
                  f"{report['recommendation_model']}", ""]
    if report.get("model_gate"):
        lines += gate_lines(report["model_gate"])
    if report.get("data_docs"):
        lines += [f"Data quality: passed the raw, features and predictions gates; Data Docs: {report['data_docs']}", ""]
    if report.get("quarantine_by_rule"):
        lines += ["## Quarantined by rule", "", "| rule | lines |", "|---|---:|"]
        lines += [f"| {rule} | {n:,} |" for rule, n in report["quarantine_by_rule"].items()]
        lines.append("")
    if report.get("drift"):
        lines += drift_lines(report["drift"])
    if report.get("realised"):
        lines += realised_lines(report["realised"])
    if report.get("retraining"):
        lines += ["## Retraining", "", "| model | retrain asked for | why |", "|---|---|---|"]
        lines += [f"| {model} | {'yes, in the next run' if d['requested'] else 'no'} | {d['reason']} |"
                  for model, d in report["retraining"].items()]
        lines.append("")
    return "\n".join(lines)


def gate_lines(gate: dict) -> list[str]:
    """Which candidate serves each model, decided when and why, and the backtest behind it."""
    lines = ["## Which model serves (the gate)", "",
             "| model | serves | decided on | why |", "|---|---|---|---|"]
    lines += [f"| {model} | {d['winner']} | {d['run_date']} | {d['reason']} |"
              for model, d in gate.items()]
    for model, d in gate.items():
        if d.get("backtest"):
            lines += ["", f"{model}: {backtest_caption(d)}", "",
                      "| candidate | version | score |", "|---|---|---:|"]
            lines += [f"| {c} | {v} | {s:.4f} |" for c, v, s in backtest_candidates(d)]
    return lines + [""]


def backtest_caption(decision: dict) -> str:
    """What a gate decision's backtest scored, in words (the day's summary and the review page)."""
    b = decision["backtest"]
    return (f"backtest of what was known on {b['origin']}, scored on the days after it up to "
            f"{decision['run_date']} ({b['metric']}, "
            f"{'lower' if b['lower_is_better'] else 'higher'} is better)")


def backtest_candidates(decision: dict) -> list[tuple[str, str, float]]:
    """(candidate, the version it publishes as or "-", score) of a gate decision's backtest, in
    the order it scored them (the day's summary and the review page)."""
    b = decision["backtest"]
    return [(c, b["versions"].get(c, "-"), s) for c, s in b["scores"].items()]


def drift_lines(summary: dict) -> list[str]:
    """The drift section: each dataset's status and drifted columns, links to its reports."""
    first, last = summary["reference"]
    lines = [f"## Drift against {first} .. {last}", "",
             "| dataset | status | drifted columns | rows (day / reference) |", "|---|---|---|---:|"]
    for name, d in summary["datasets"].items():
        drifted = [c for c, v in d.get("columns", {}).items() if v.get("drifted")]
        lines.append(f"| {name} | {d['status']} | {', '.join(drifted) or '-'} | "
                     f"{d['rows']['current']:,} / {d['rows']['reference']:,} |")
    if summary.get("reports"):
        lines += ["", "Evidently reports: " + ", ".join(
            f"[{name}]({path})" for name, path in summary["reports"].items())]
    return lines + [""]


REALISED_METRICS = {
    "forecasts": (("wrmsse", "WRMSSE", "all"), ("wrmsse", "WRMSSE", "cold"),
                  ("weekly_wape", "weekly WAPE", "all"), ("coverage_80", "p10-p90 coverage", "all")),
    "recommendations": (("recall_at_20", "Recall@20", "cold"), ("recall_at_20", "Recall@20", "warm"),
                        ("ndcg_at_20", "NDCG@20", "cold"), ("ndcg_at_20", "NDCG@20", "warm")),
}


def realised_lines(realised: dict) -> list[str]:
    """Realised quality: what was published 28 (forecasts) and 30 (lists) days ago against what
    happened, beside the same day's baseline, so that a drop shows as a drop against it."""
    lines = ["## Realised quality", "",
             "| published | origin | metric | segment | served model | baseline | served / baseline |",
             "|---|---|---|---|---:|---:|---:|"]
    for table, metrics in REALISED_METRICS.items():
        r = realised.get(table)
        if not r:
            continue
        for key, label, segment in metrics:
            mine, base = r["model"][segment][key], r["baseline"][segment][key]
            ratio = mine / base if base else float("nan")
            lines.append(f"| {table} ({r['model_version']}) | {r['origin']} | {label} | {segment} "
                         f"| {mine:.3f} | {base:.3f} | {ratio:.2f} |")
    lines += ["", "Baselines: " + ", ".join(f"{t}: {r['baseline_version']}" for t, r in realised.items()),
              "(lower is better for WRMSSE and WAPE, higher for Recall and NDCG; coverage aims at 0.80)", ""]
    return lines
