"""The review page, ``reports/index.html``: what a person opens each morning.

Rebuilt after every run from what the run left: the ledger (status of each run date), each
day's ``day.json`` (counts, models, the gate's decisions), ``drift.json`` and ``realised.json``,
and the warehouse for the fan charts. Static files that open from the disk: the charts are
Plotly figures whose library is written beside the page (``plotly-<version>.min.js``), no server
and no network.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import jinja2
import pandas as pd

from domain.rules import HORIZON_DAYS
from monitoring.drift import drifted_share
from warehouse import ledger
from warehouse.reports import backtest_candidates, backtest_caption

FAN_TOP_ITEMS = 3      # fan charts of the items with the most revenue over the last 28 days
FAN_NEW_ITEMS = 2      # ... and of the newest items
FAN_HISTORY_DAYS = 56


@dataclass(frozen=True)
class DayRow:
    record: ledger.DayRecord  # status, failing stage and message, lines, quarantined
    day: dict          # day.json: the published day's counts and models ({} before publishing)
    drift: dict        # drift.json ({} before monitoring)
    realised: dict     # realised.json ({} where nothing was scored that day)
    links: list[tuple[str, str]]   # (label, path relative to the index)


def _json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def day_rows(con, reports_dir: Path) -> list[DayRow]:
    """One row per run date in the ledger, newest first."""
    rows = []
    for run_date, r in sorted(ledger.records(con).items(), reverse=True):
        folder = reports_dir / f"run_date={run_date}"
        links = [(p.name, f"{folder.name}/{p.name}") for p in sorted(folder.glob("*"))
                 if p.suffix in (".md", ".html", ".json") and p.name != "day.json"]
        rows.append(DayRow(r, _json(folder / "day.json"), _json(folder / "drift.json"),
                           _json(folder / "realised.json"), links))
    return rows


def serving(gate: dict) -> list[dict]:
    """The day report's gate decisions (``day.json``'s ``model_gate``) as the page's rows: what
    serves each model since when and why, and the backtest behind it with each candidate's
    score and the version ``shopcast models promote`` would take to serve it."""
    rows = []
    for model, d in gate.items():
        tested = d.get("backtest") is not None
        candidates = [{"name": c, "score": s, "version": v, "serves": c == d["winner"]}
                      for c, v, s in (backtest_candidates(d) if tested else [])]
        rows.append({"model": model, "serves": d["winner"], "since": d["run_date"],
                     "why": d["reason"], "backtest": backtest_caption(d) if tested else None,
                     "candidates": candidates})
    return rows


def _ratio(realised: dict, table: str, metric: str, segment: str) -> tuple[float, float] | None:
    r = realised.get(table)
    if not r:
        return None
    return r["model"][segment][metric], r["baseline"][segment][metric]


def over_time(rows: list[DayRow]) -> pd.DataFrame:
    """Per run date: lines, quarantined lines, the alarmed and drifted share of the columns
    tested, and realised quality of the served model and its baseline."""
    records = []
    for row in rows:
        record = {"run_date": row.record.run_date, "lines": row.record.lines,
                  "quarantined": row.record.quarantined, "drifted_share": drifted_share(row.drift),
                  "alarm_columns": len(row.drift.get("alarm_columns", [])) if row.drift else None}
        for key, (table, metric, segment) in REALISED_SERIES.items():
            pair = _ratio(row.realised, table, metric, segment)
            record[f"{key} served"], record[f"{key} baseline"] = pair or (None, None)
        records.append(record)
    return pd.DataFrame(records).sort_values("run_date") if records else pd.DataFrame()


REALISED_SERIES = {
    "forecast WRMSSE": ("forecasts", "wrmsse", "all"),
    "forecast WRMSSE cold": ("forecasts", "wrmsse", "cold"),
    "Recall@20 cold": ("recommendations", "recall_at_20", "cold"),
    "Recall@20 warm": ("recommendations", "recall_at_20", "warm"),
}


def fan_items(con, run_date: date) -> list[tuple[str, str]]:
    """(item_id, why) of the items whose fan charts the page shows: the top items by revenue
    over the 28 days up to D and the newest items with a forecast at D."""
    top = con.execute(
        "SELECT item_id FROM marts.fct_item_daily_demand WHERE order_date BETWEEN ? AND ? "
        "GROUP BY item_id ORDER BY sum(revenue) DESC, item_id LIMIT ?",
        [run_date - timedelta(days=27), run_date, FAN_TOP_ITEMS]).fetchall()
    new = con.execute(
        "SELECT item_id FROM predictions.forecasts WHERE run_date = ? AND history_days IS NOT NULL "
        "GROUP BY item_id, history_days ORDER BY history_days, item_id LIMIT ?",
        [run_date, FAN_NEW_ITEMS]).fetchall()
    return [(i, "top revenue") for (i,) in top] + [(i, "newest") for (i,) in new if (i,) not in top]


def fan_chart(con, item_id: str, run_date: date, why: str):
    """History, the forecast published at D (p10-p90 band and mean), and the forecast published
    28 days earlier with the actuals that have arrived since."""
    import plotly.graph_objects as go

    first = run_date - timedelta(days=FAN_HISTORY_DAYS)
    actual = con.execute(
        "SELECT d.day, coalesce(f.units, 0) AS units FROM "
        "(SELECT unnest(generate_series(?::DATE, ?::DATE, INTERVAL 1 DAY))::DATE AS day) d "
        "LEFT JOIN marts.fct_item_daily_demand f ON f.order_date = d.day AND f.item_id = ? ORDER BY d.day",
        [first, run_date, item_id]).df()
    fig = go.Figure()
    earlier = run_date - timedelta(days=HORIZON_DAYS)
    for origin, colour, name in ((earlier, "rgba(150,150,150,0.3)", f"published {earlier}"),
                                 (run_date, "rgba(31,119,180,0.3)", f"published {run_date}")):
        f = con.execute("SELECT target_date, mean, p10, p90 FROM predictions.forecasts "
                        "WHERE run_date = ? AND item_id = ? ORDER BY target_date", [origin, item_id]).df()
        if f.empty:
            continue
        fig.add_trace(go.Scatter(x=f["target_date"], y=f["p90"], line={"width": 0}, showlegend=False,
                                 hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=f["target_date"], y=f["p10"], fill="tonexty", fillcolor=colour,
                                 line={"width": 0}, name=f"p10-p90, {name}"))
        fig.add_trace(go.Scatter(x=f["target_date"], y=f["mean"], line={"dash": "dash"},
                                 name=f"mean, {name}"))
    fig.add_trace(go.Scatter(x=actual["day"], y=actual["units"], mode="lines+markers",
                             marker={"size": 3}, line={"color": "black"}, name="units sold"))
    fig.update_layout(title=f"{item_id} ({why})", height=300, margin={"l": 40, "r": 10, "t": 40, "b": 30})
    return fig


def series_chart(frame: pd.DataFrame, columns: list[str], title: str, y_range=None):
    """Lines over run dates; a column named "... baseline" is drawn dotted in the colour of the
    "... served" line before it, so that the served model reads against its baseline."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    fig = go.Figure()
    colours = iter(qualitative.Plotly)
    colour = None
    for column in columns:
        if column not in frame or not frame[column].notna().any():
            continue
        baseline = column.endswith(" baseline")
        colour = colour if baseline and colour else next(colours)
        fig.add_trace(go.Scatter(x=frame["run_date"], y=frame[column], name=column,
                                 mode="lines+markers", marker={"size": 3}, connectgaps=True,
                                 line={"color": colour, "dash": "dot" if baseline else "solid"}))
    fig.update_layout(title=title, height=300, margin={"l": 40, "r": 10, "t": 40, "b": 30})
    if y_range:
        fig.update_yaxes(range=y_range)
    return fig


def write_index(con, reports_dir: Path, source: str, data_docs: Path) -> Path:
    """Render reports/index.html (and the plotly library beside it, once per plotly version)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    library = write_library(reports_dir)
    rows = day_rows(con, reports_dir)
    frame = over_time(rows)
    charts = []
    if not frame.empty:
        charts = [
            series_chart(frame, ["forecast WRMSSE served", "forecast WRMSSE baseline",
                                 "forecast WRMSSE cold served", "forecast WRMSSE cold baseline"],
                         "Realised forecast quality (published 28 days earlier; lower is better)"),
            series_chart(frame, ["Recall@20 cold served", "Recall@20 cold baseline",
                                 "Recall@20 warm served", "Recall@20 warm baseline"],
                         "Realised list quality (published 30 days earlier; higher is better)"),
            series_chart(frame, ["lines", "quarantined"], "Lines delivered and quarantined per day"),
            series_chart(frame, ["drifted_share"], "Share of monitored columns that drifted", [0, 1]),
        ]
    latest = next((r for r in rows if r.record.status == ledger.DayState.complete.value), None)
    newest = latest.record.run_date if latest else None
    fans = [fan_chart(con, item, newest, why) for item, why in fan_items(con, newest)] if newest else []
    gate = (latest.day.get("model_gate") or {}) if latest else {}
    html = TEMPLATE.render(
        source=source, rows=rows, newest=newest, library=library.name, serving=serving(gate),
        data_docs=Path(data_docs).resolve().as_uri() if Path(data_docs).exists() else None,
        charts=[_div(c) for c in charts], fans=[_div(f) for f in fans])
    path = reports_dir / "index.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html)
    tmp.replace(path)  # a reader never sees half a page
    return path


def write_library(reports_dir: Path) -> Path:
    """plotly.js as the installed plotly ships it, named by its version: an upgrade writes the
    new library (the page's charts are drawn by the same version that built them) and removes
    the old one."""
    import plotly
    from plotly.offline import get_plotlyjs

    library = reports_dir / f"plotly-{plotly.__version__}.min.js"
    if not library.exists():
        tmp = library.with_suffix(".tmp")
        tmp.write_text(get_plotlyjs())
        tmp.replace(library)
    for old in [*reports_dir.glob("plotly-*.min.js"), reports_dir / "plotly.min.js"]:
        if old != library and old.exists():
            old.unlink()
    return library


def _div(figure) -> str:
    """A figure as a div of the page (the library is loaded once; no link off the machine)."""
    return figure.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})


TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""\
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shopcast review: {{ source }}</title>
<script src="{{ library }}"></script>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
.serves { font-weight: bold; } .complete { color: #1a7f37; } .failed { color: #cf222e; font-weight: bold; } .alarm { color: #bc4c00; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 0.5em; }
</style></head>
<body>
<h1>shopcast review: {{ source }}</h1>
<p>Newest complete run date: <b>{{ newest or "none yet" }}</b>.
{% if data_docs %}Data quality: <a href="{{ data_docs }}">Great Expectations Data Docs</a>.{% endif %}
Drift compares the week ending on each run date with the 28 days ending 28 days earlier;
realised quality scores what was published 28 (forecasts) and 30 (lists) days earlier, beside
the same day's baseline.</p>
{% if serving %}<h2>Which model serves ({{ newest }})</h2>
<table id="serving">
<tr><th>model</th><th>serves</th><th>since</th><th>why</th><th>the gate's backtest</th></tr>
{% for s in serving %}<tr>
<td>{{ s.model }}</td><td><b>{{ s.serves }}</b></td><td>{{ s.since }}</td><td>{{ s.why }}</td>
<td>{% if s.backtest %}{{ s.backtest }}:<br>{% for c in s.candidates %}<span title="{{ c.version }}" class="{{ 'serves' if c.serves else '' }}">{{ c.name }} {{ "%.4f" % c.score }}</span><br>{% endfor %}{% else %}-{% endif %}</td>
</tr>{% endfor %}
</table>{% endif %}
<h2>Over time</h2>
<div class="grid">{% for chart in charts %}<div>{{ chart | safe }}</div>{% endfor %}</div>
{% if fans %}<h2>Forecasts of {{ newest }}</h2>
<div class="grid">{% for chart in fans %}<div class="fan">{{ chart | safe }}</div>{% endfor %}</div>{% endif %}
<h2>Run dates</h2>
<table id="days">
<tr><th>run date</th><th>status</th><th>lines (quarantined)</th><th>drift alarm</th>
<th>models</th><th>realised (served / baseline)</th><th>reports</th></tr>
{% for row in rows %}{% set r = row.record %}<tr>
<td>{{ r.run_date }}</td>
<td class="{{ r.status }}">{{ r.status }}{% if r.status == "failed" %} at {{ r.stage }}: {{ r.message | truncate(300) }}{% endif %}</td>
<td>{{ "{:,}".format(r.lines) if r.lines is not none else "-" }} ({{ r.quarantined if r.quarantined is not none else "-" }})</td>
<td class="{{ 'alarm' if row.drift.get('alarm') else '' }}">{% if row.drift %}{{ row.drift.get("alarm_columns") | join(", ") or "none" }}{% else %}-{% endif %}</td>
<td>{{ row.day.get("forecast_model") or "-" }}<br>{{ row.day.get("recommendation_model") or "-" }}</td>
<td>{% for table, r in row.realised.items() %}{% if table == "forecasts" %}WRMSSE {{ "%.3f" % r.model.all.wrmsse }} / {{ "%.3f" % r.baseline.all.wrmsse }}{% else %}Recall@20 cold {{ "%.3f" % r.model.cold.recall_at_20 }} / {{ "%.3f" % r.baseline.cold.recall_at_20 }}, warm {{ "%.3f" % r.model.warm.recall_at_20 }} / {{ "%.3f" % r.baseline.warm.recall_at_20 }}{% endif %}<br>{% endfor %}</td>
<td>{% for label, href in row.links %}<a href="{{ href }}">{{ label }}</a> {% endfor %}</td>
</tr>{% endfor %}
</table>
</body></html>
""")
