"""The gate: Great Expectations suites over a staged day, a verdict, and Data Docs to read.

Suites (built from configs/quality.yaml, versioned with the code):
  raw_order_lines   the day's normalised lines: keys present, ranges, timestamps inside D
  raw_batch         one row of batch metrics: bad-row share, volume against the trailing
                    median of trading days, share without customer against its trailing level,
                    duplicate deliveries
  features_day, item_features, customer_features   the marts of a run date
  forecasts         one row per run date of forecast rows breaking a row rule (no NaN,
                    non-negative, p10 <= p50 <= p90, D+1..D+28, one row per item and day)
  forecasts_day     one row per run date: every sellable item forecast, 28 days each
  recommendations   one row per run date of list rows breaking a row rule (keys and scores
                    present, ranks 1..20, one item per rank)
  recommendations_day   one row per run date: every customer with an order has a list of
                    distinct sellable items, 20 whenever 20 are sellable
The gate only returns a verdict; the flow decides what to do with it. Validation runs on pandas
frames (the GX SQL data source on DuckDB fails, see docs/stack.md); the predictions' rows, millions
a month, are counted in DuckDB first (checks/frames.py, decision 0009). Data Docs are written under
``<data_dir>/quality/data_docs``.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from checks.config import QualityConfig
from checks.frames import FORECAST_ROWS, RECOMMENDATION_ROWS
from checks.raw_metrics import BatchMetrics
from sources.landing import ORDER_LINE_SCHEMA

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
LINE_COLUMNS = [*ORDER_LINE_SCHEMA.names, "minutes_into_day"]  # run_date is among them


@dataclass
class Verdict:
    run_date: date
    passed: bool
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    docs_pages: list[Path] = field(default_factory=list)
    thresholds_at: str = ""    # where the thresholds named in failures are set

    def message(self, files: list[str]) -> str:
        pages = ", ".join(str(p) for p in self.docs_pages)
        where = (f" Thresholds: {self.thresholds_at}."
                 if self.thresholds_at and any("[set by" in f for f in self.failures) else "")
        return (f"{self.run_date} failed the raw data gate (files: {', '.join(files) or 'none'}): "
                + "; ".join(self.failures) + f".{where} Data Docs: {pages}")


class Gate:
    """One GX context per process; suites are rebuilt from the thresholds at start."""

    def __init__(self, root: Path, quality: QualityConfig, thresholds_at: str = ""):
        self.root = root
        self.quality = quality
        self.thresholds_at = thresholds_at  # the thresholds file, named in a failure
        self.docs_dir = root / "data_docs"
        self._pending_docs: list = []

    def warm_up(self) -> "Gate":
        """Import GX and build the context and suites now (otherwise the first run does)."""
        self._gx
        return self

    @cached_property
    def _gx(self):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        ctx = gx.get_context(mode="ephemeral")
        # no "Calculating Metrics" bars in the flow's log: a backfill runs hundreds of validations
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        ctx.add_data_docs_site("local", {
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(self.docs_dir)},
        })
        source = ctx.data_sources.add_pandas("shop")
        checkpoints = {}
        for name, expectations in (("raw_order_lines", self._line_expectations(gx)),
                                   ("raw_batch", self._batch_expectations(gx)),
                                   ("features_day", self._feature_day_expectations(gx)),
                                   ("item_features", self._item_feature_expectations(gx)),
                                   ("customer_features", self._customer_feature_expectations(gx)),
                                   ("forecasts", self._forecast_expectations(gx)),
                                   ("forecasts_day", self._forecast_day_expectations(gx)),
                                   ("recommendations", self._recommendation_expectations(gx)),
                                   ("recommendations_day",
                                    self._recommendation_day_expectations(gx))):
            suite = ctx.suites.add(gx.ExpectationSuite(name=name))
            for e in expectations:
                suite.add_expectation(e)
            batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("day")
            definition = ctx.validation_definitions.add(
                gx.ValidationDefinition(data=batch, suite=suite, name=name))
            checkpoints[name] = ctx.checkpoints.add(gx.Checkpoint(
                name=name, validation_definitions=[definition], actions=[],
                result_format={"result_format": "COMPLETE"}))
        return gx, ctx, checkpoints

    def _line_expectations(self, gx) -> list:
        q = self.quality.raw
        e = gx.expectations
        return [
            e.ExpectTableColumnsToMatchSet(column_set=LINE_COLUMNS, exact_match=True),
            e.ExpectColumnValuesToNotBeNull(column="order_id"),
            e.ExpectColumnValuesToNotBeNull(column="item_id"),
            e.ExpectColumnValuesToNotBeNull(column="ordered_at"),
            e.ExpectColumnValuesToBeBetween(column="quantity", min_value=-q.max_abs_quantity,
                                            max_value=q.max_abs_quantity,
                                            meta=_set_by("max_abs_quantity")),
            e.ExpectColumnValuesToBeBetween(column="unit_price", min_value=0, max_value=q.max_unit_price,
                                            meta=_set_by("max_unit_price")),
            e.ExpectColumnValuesToBeBetween(column="minutes_into_day", min_value=0, max_value=24 * 60),
        ]

    def _batch_expectations(self, gx) -> list:
        q = self.quality.raw
        e = gx.expectations
        return [
            e.ExpectColumnValuesToBeBetween(column="bad_row_share", min_value=0,
                                            max_value=q.max_bad_row_share,
                                            meta=_set_by("max_bad_row_share")),
            e.ExpectColumnValuesToBeBetween(column="volume_ratio", min_value=q.volume_min_ratio,
                                            max_value=q.volume_max_ratio,
                                            meta=_set_by("volume_min_ratio", "volume_max_ratio",
                                                         "partial_days")),
            e.ExpectColumnValuesToBeBetween(column="no_customer_share", min_value=0,
                                            max_value=q.max_no_customer_share,
                                            meta=_set_by("max_no_customer_share")),
            e.ExpectColumnValuesToBeBetween(column="no_customer_share_increase",
                                            max_value=q.max_no_customer_share_increase,
                                            meta=_set_by("max_no_customer_share_increase")),
            e.ExpectColumnValuesToBeBetween(column="duplicate_files", min_value=0, max_value=0),
        ]

    def _feature_day_expectations(self, gx) -> list:
        """One row per run date: the marts have the day, and agree with the raw tables."""
        e = gx.expectations
        zero = dict(min_value=0, max_value=0)
        return [
            e.ExpectColumnValuesToBeBetween(column="day_rows", min_value=1, max_value=1),
            e.ExpectColumnValuesToBeBetween(column="lines_minus_raw", **zero),
            e.ExpectColumnValuesToBeBetween(column="demand_units_minus_facts", **zero),
            e.ExpectColumnValuesToBeBetween(column="fact_rows_with_null_keys", **zero),
            e.ExpectColumnValuesToBeBetween(column="fact_rows_with_negative_units", **zero),
            # as-of snapshots exist for a window's last day (NaN elsewhere: not checked)
            e.ExpectColumnValuesToBeBetween(column="items_sold_without_features", **zero),
            e.ExpectColumnValuesToBeBetween(column="customers_without_features", **zero),
        ]

    def _item_feature_expectations(self, gx) -> list:
        e = gx.expectations
        return [
            e.ExpectColumnValuesToNotBeNull(column="item_id"),
            e.ExpectColumnValuesToBeUnique(column="item_id"),
            e.ExpectColumnValuesToBeInSet(column="segment", value_set=["cold", "warm"]),
            e.ExpectColumnValuesToBeBetween(column="history_days", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="units_28d", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="mean_price_90d", min_value=0),
            e.ExpectColumnValuesToNotBeNull(column="category"),
        ]

    def _customer_feature_expectations(self, gx) -> list:
        e = gx.expectations
        return [
            e.ExpectColumnValuesToNotBeNull(column="customer_id"),
            e.ExpectColumnValuesToBeUnique(column="customer_id"),
            e.ExpectColumnValuesToBeInSet(column="segment", value_set=["cold", "warm"]),
            e.ExpectColumnValuesToBeBetween(column="frequency", min_value=1),
            e.ExpectColumnValuesToBeBetween(column="recency_days", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="tenure_days", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="monetary", min_value=0),
        ]

    def _forecast_expectations(self, gx) -> list:
        """One row per run date: no forecast row breaks a row rule (checks/frames.py)."""
        return _all_zero(gx, FORECAST_ROWS.names)

    def _forecast_day_expectations(self, gx) -> list:
        """One row per run date: the forecast covers exactly the sellable items, each with
        every day of the horizon."""
        e = gx.expectations
        zero = dict(min_value=0, max_value=0)
        return [
            e.ExpectColumnValuesToBeBetween(column="sellable_items_missing", **zero),
            e.ExpectColumnValuesToBeBetween(column="items_not_sellable", **zero),
            e.ExpectColumnValuesToBeBetween(column="items_without_full_horizon", **zero),
            e.ExpectColumnValuesToBeBetween(column="forecast_items", min_value=1),
        ]

    def _recommendation_expectations(self, gx) -> list:
        """One row per run date: no list row breaks a row rule (checks/frames.py)."""
        return _all_zero(gx, RECOMMENDATION_ROWS.names)

    def _recommendation_day_expectations(self, gx) -> list:
        """One row per run date: a list for every customer with an order up to D and for no
        one else; distinct sellable items; full length (20, or every sellable item). A shop
        without customer ids has no lists, which is not a defect."""
        return _all_zero(gx, ["customers_without_list", "lists_for_unknown_customers",
                              "lists_with_repeated_items", "lists_with_items_not_sellable",
                              "short_lists", "lists_with_gaps_in_ranks"])

    def check_raw(self, days: list[tuple[date, pd.DataFrame, BatchMetrics]],
                  build_docs: bool = True) -> list[Verdict]:
        """Staged days: their normalised lines, and their batch metrics against earlier days.

        Validated together (one Great Expectations run per suite for all of them, since a run
        costs far more than its rows), then judged day by day."""
        lines = pd.concat([
            frame.assign(minutes_into_day=(
                frame["ordered_at"] - pd.Timestamp(datetime.combine(d, time()))).dt.total_seconds() / 60)
            for d, frame, _ in days], ignore_index=True)
        metrics = pd.DataFrame([{"run_date": d, **m.as_row()} for d, _, m in days])
        verdicts = self.validate([d for d, _, _ in days],
                                 {"raw_order_lines": lines, "raw_batch": metrics}, build_docs)
        for verdict, (_, _, m) in zip(verdicts, days):
            verdict.notes[:0] = list(m.notes)
        return verdicts

    def validate(self, days: list[date], frames: dict[str, pd.DataFrame], build_docs: bool = True
                 ) -> list[Verdict]:
        """Run each named suite once on its frame (rows carry their ``run_date``) and judge
        each day by the rows of its own that failed. The Data Docs pages are built now, or with
        ``build_docs=False`` by one later ``build_docs`` call (a build rewrites the index too)."""
        gx, ctx, checkpoints = self._gx
        first, last = min(days), max(days)
        # not "D1..D2": GX parses a run name as a time, and dateutil reads that as a time zone
        # offset beyond 24 hours, which breaks the Data Docs page of the run
        label = first.isoformat() if first == last else f"{first.isoformat()}_to_{last.isoformat()}"
        run_id = gx.RunIdentifier(run_name=label, run_time=datetime.combine(first, time()))
        verdicts = {d: Verdict(d, passed=True, thresholds_at=self.thresholds_at) for d in days}
        for name, frame in frames.items():
            frame = frame.reset_index(drop=True)
            result = checkpoints[name].run(batch_parameters={"dataframe": frame}, run_id=run_id)
            for identifier, run_result in result.run_results.items():
                self._pending_docs.append(identifier)
                page = self.docs_dir / "validations" / Path(*identifier.to_tuple()).with_suffix(".html")
                for verdict in verdicts.values():
                    verdict.docs_pages.append(page)
                for r in run_result.results:
                    if r.success:
                        continue
                    for day, text in _failures_by_day(name, r, frame, first).items():
                        verdicts[day].passed = False
                        verdicts[day].failures.append(text)
        if build_docs:
            self.build_docs()
        return [verdicts[d] for d in days]

    def build_docs(self) -> None:
        if self._pending_docs:
            _, ctx, _ = self._gx
            ctx.build_data_docs(site_names=["local"], resource_identifiers=self._pending_docs)
            self._pending_docs = []


def _set_by(*keys: str) -> dict:
    """An expectation's meta naming the thresholds (configs/quality.yaml, section raw) that set
    it, so that a failure tells the operator which value to change if the shop is like that."""
    return {"thresholds": [f"raw.{k}" for k in keys]}


def _all_zero(gx, columns: list[str]) -> list:
    return [gx.expectations.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=0)
            for c in columns]


def _failures_by_day(suite: str, r, frame: pd.DataFrame, first: date) -> dict[date, str]:
    """Attribute a failed expectation to the days whose rows broke it (a table-level
    expectation, such as the column set, to the first day)."""
    cfg = r.expectation_config
    column = cfg.kwargs.get("column") or cfg.kwargs.get("column_A")
    res = r.result or {}
    if cfg.kwargs.get("column_B"):
        where = f"{suite}.{cfg.type}({column} >= {cfg.kwargs['column_B']})"
    elif cfg.kwargs.get("column_list"):
        column = list(cfg.kwargs["column_list"])
        where = f"{suite}.{cfg.type}({', '.join(column)})"
    else:
        low, high = (_number(cfg.kwargs.get(k)) for k in ("min_value", "max_value"))
        where = f"{suite}.{cfg.type}({column or ''} in [{low}, {high}])"
    if (cfg.meta or {}).get("thresholds"):
        where += f" [set by {', '.join(cfg.meta['thresholds'])}]"
    index = res.get("unexpected_index_list")
    if not index or column is None or not isinstance(index[0], (int, np.integer)):
        return {first: f"{where}: observed {res.get('observed_value')}"}
    bad = frame.loc[index]
    if isinstance(column, str) and frame["run_date"].is_unique:  # a suite of one row per day
        example = f"{column}__example"
        return {_as_date(row["run_date"]): f"{where}: {_number(row[column])}" + (
                    f" (e.g. {row[example]})" if example in frame and pd.notna(row[example]) else "")
                for _, row in bad.iterrows()}
    out = {}
    for day, rows in bad.groupby(bad["run_date"].map(_as_date)):
        examples = rows[column].head(3).to_numpy().tolist()
        out[day] = f"{where}: {len(rows)} unexpected value(s), e.g. {examples}"
    return out


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _as_date(value) -> date:
    return value.date() if isinstance(value, (datetime, pd.Timestamp)) else value
