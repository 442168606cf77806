"""Drift verdicts: Evidently's tests column by column, the same numbers in its report."""
from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from monitoring.config import DriftSettings, load_monitoring_config
from monitoring.datasets import MONITORED, DayRows, current_window, reference_window, spans
from monitoring.drift import Samples, evidently_report, verdict

DAY = date(2025, 6, 1)
CATEGORIES = ["Home/Lighting", "Home/Decor", "Garden/Tools", "Toys/Games"]


def item_days(n: int, seed: int, lighting_price: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    category = rng.choice(CATEGORIES, n)
    ratio = np.where(rng.random(n) < 0.1, 0.7, 1.0) * rng.normal(1.0, 0.03, n)
    ratio = np.where(category == "Home/Lighting", ratio * lighting_price, ratio)
    price = rng.lognormal(1.5, 0.6, n) * ratio
    return pd.DataFrame({"units": rng.poisson(2, n) + 1.0, "mean_price": price, "price_ratio": ratio,
                         "is_promo": np.where(ratio < 0.85, "true", "false"), "category": category})


def test_the_reference_window_ends_a_gap_before_the_run_date():
    assert reference_window(DAY, 28, 28) == (date(2025, 4, 7), date(2025, 5, 4))
    assert current_window(DAY, 7) == (date(2025, 5, 26), DAY)


def test_a_window_reads_each_day_once_at_most_per_day_rows_the_same_at_every_rerun():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.execute("""CREATE TABLE raw.order_lines AS
                   SELECT DATE '2025-05-01' + CAST(i % 40 AS INTEGER) AS run_date,
                          CAST(i % 7 + 1 AS BIGINT) AS quantity, (i % 13) * 1.5 AS unit_price,
                          'web' AS store, 'Home/Decor' AS category,
                          CASE WHEN i % 5 = 0 THEN NULL ELSE 'c' || i END AS customer_id
                   FROM range(40 * 500) t(i)""")
    first, last = date(2025, 5, 1), date(2025, 6, 9)
    rows = DayRows.load(con, MONITORED["raw_lines"], [(first, last)], per_day=100)
    assert rows.rows.groupby("day").size().eq(100).all() and rows.rows["day"].nunique() == 40
    again = DayRows.load(con, MONITORED["raw_lines"], [(first, last)], per_day=100)
    pd.testing.assert_frame_equal(rows.rows, again.rows)
    # thinning a day by the hash first keeps exactly the rows with the smallest hashes
    columns = ", ".join(MONITORED["raw_lines"].columns)
    ranked = con.execute(
        f"SELECT day, {columns} FROM ({MONITORED['raw_lines'].sql}) QUALIFY row_number() OVER "
        f"(PARTITION BY day ORDER BY hash({columns}), {columns}) <= 100 "
        f"ORDER BY day, hash({columns}), {columns}", [first, last]).df()
    ranked["day"] = pd.to_datetime(ranked["day"]).dt.date
    pd.testing.assert_frame_equal(rows.rows, ranked)
    two = DayRows.load(con, MONITORED["raw_lines"], [(first, date(2025, 5, 28)), (date(2025, 6, 3), last)], 100)
    assert sorted(set(two.rows["day"])) == [d for d in sorted(set(rows.rows["day"]))
                                            if d <= date(2025, 5, 28) or d >= date(2025, 6, 3)]
    week = rows.between(date(2025, 6, 3), date(2025, 6, 9))
    assert len(week) == 700 and list(week.columns) == list(MONITORED["raw_lines"].columns)
    assert "customer_id" not in rows.rows.columns


def test_samples_kept_in_the_warehouse_are_loads_rows_and_follow_a_rerun():
    from warehouse.db import SCHEMA_SQL

    con = duckdb.connect()
    con.execute(SCHEMA_SQL)
    con.execute("""INSERT INTO raw.order_lines
                   SELECT DATE '2025-05-01' + CAST(i % 40 AS INTEGER), 'f.csv', i, 'o' || i,
                          CASE WHEN i % 5 = 0 THEN NULL ELSE 'c' || i END, 'i' || (i % 50), NULL,
                          'Home/Decor', i % 7 + 1, (i % 13) * 1.5, TIMESTAMP '2025-05-01', 'web'
                   FROM range(40 * 500) t(i)""")
    con.execute("INSERT INTO ops.day_status (run_date, status) SELECT DATE '2025-05-01' + "
                "CAST(i AS INTEGER), 'complete' FROM range(40) t(i)")
    data, ranges = MONITORED["raw_lines"], [(date(2025, 5, 1), date(2025, 5, 28)),
                                            (date(2025, 6, 3), date(2025, 6, 9))]

    def cached(fresh=(), per_day=100):
        return DayRows.cached(con, data, ranges, per_day, set(fresh)).rows

    pd.testing.assert_frame_equal(cached(), DayRows.load(con, data, ranges, 100).rows)
    # a settled day is read back, not sampled again: a change no rerun made is not seen ...
    changed, rerun = date(2025, 5, 10), date(2025, 6, 5)
    con.execute("UPDATE raw.order_lines SET quantity = quantity + 1000 WHERE run_date IN (?, ?)",
                [changed, rerun])
    before = cached()
    assert before[before["day"] == changed]["quantity"].max() < 1000
    # ... a day of the run (fresh) and a day whose rerun has begun (not complete) are
    con.execute("UPDATE ops.day_status SET status = 'transformed' WHERE run_date = ?", [changed])
    after = cached(fresh={rerun})
    assert after[after["day"].isin([changed, rerun])]["quantity"].min() > 1000
    pd.testing.assert_frame_equal(after, DayRows.load(con, data, ranges, 100).rows)
    # another sample size is another query: sampled again throughout
    assert cached(per_day=30).groupby("day").size().eq(30).all()


def test_a_daily_run_reads_its_month_and_its_week_and_a_backfill_one_range():
    day = date(2025, 6, 1)
    month, week = reference_window(day, 28, 28), current_window(day, 7)
    assert spans([month, week]) == [month, week]  # not the 21 days between them
    month_of_days = [day + timedelta(days=i) for i in range(30)]
    windows = [w for d in month_of_days for w in (reference_window(d, 28, 28), current_window(d, 7))]
    assert spans(windows) == [(month[0], month_of_days[-1])]


def test_the_warm_up_gives_no_verdict_while_the_reference_is_young():
    s = {"item_days": Samples(MONITORED["item_days"], item_days(5_000, 1), item_days(3_000, 2))}
    young = verdict(s, DriftSettings(warmup_days=28), DAY, first_day=date(2025, 3, 20))
    assert young["datasets"]["item_days"]["status"].startswith("no verdict: the reference window")
    grown = verdict(s, DriftSettings(warmup_days=28), DAY, first_day=date(2025, 3, 10))
    assert grown["datasets"]["item_days"]["status"] == "stable"


def test_only_the_alarmed_datasets_raise_the_days_alarm():
    shocked = {"item_days": Samples(MONITORED["item_days"], item_days(20_000, 1),
                                    item_days(3_000, 2, lighting_price=1.5))}
    loud = verdict(shocked, DriftSettings(), DAY)
    assert loud["alarm"] and loud["alarm_columns"] == loud["drifted_columns"]
    watched = verdict(shocked, DriftSettings(alarm_on=["raw_lines"]), DAY)
    assert watched["drifted_columns"] and not watched["alarm"] and watched["alarm_columns"] == []


def test_a_column_takes_its_own_test_and_threshold():
    shocked = {"item_days": Samples(MONITORED["item_days"], item_days(20_000, 1),
                                    item_days(3_000, 2, lighting_price=1.5))}
    settings = DriftSettings(column_methods={"item_days.price_ratio": "psi"},
                             column_thresholds={"item_days.price_ratio": 5.0})
    column = verdict(shocked, settings, DAY)["datasets"]["item_days"]["columns"]["price_ratio"]
    assert column["method"] == "psi" and column["threshold"] == 5.0 and not column["drifted"]


@pytest.mark.parametrize("override, message", [
    ({"column_thresholds": {"item_days.customer_id": 0.2}}, "not a monitored"),
    ({"column_methods": {"item_days.category": "wasserstein"}}, "not a test for its column type"),
])
def test_an_override_of_an_unknown_column_or_a_wrong_test_is_refused(override, message):
    with pytest.raises(ValueError, match=message):
        DriftSettings(**override)


def test_samples_of_one_distribution_do_not_drift():
    out = verdict({"item_days": Samples(MONITORED["item_days"], item_days(20_000, 1), item_days(3_000, 2))},
                  DriftSettings(), DAY)
    assert out["drifted_columns"] == [] and out["datasets"]["item_days"]["status"] == "stable"
    assert set(out["datasets"]["item_days"]["columns"]) == set(MONITORED["item_days"].columns)


def test_a_price_shock_in_one_category_moves_the_prices_and_nothing_else():
    out = verdict({"item_days": Samples(MONITORED["item_days"], item_days(20_000, 1),
                                        item_days(3_000, 2, lighting_price=1.5))}, DriftSettings(), DAY)
    assert out["drifted_columns"] == ["item_days.mean_price", "item_days.price_ratio"]
    column = out["datasets"]["item_days"]["columns"]["price_ratio"]
    assert column["method"] == "wasserstein" and column["score"] > column["threshold"] == 0.15


def test_a_dataset_drifts_when_its_share_of_drifted_columns_is_reached():
    shocked = Samples(MONITORED["item_days"], item_days(20_000, 1), item_days(3_000, 2, lighting_price=1.5))
    assert verdict({"item_days": shocked}, DriftSettings(drift_share=0.4), DAY)["drifted_datasets"] == ["item_days"]
    assert verdict({"item_days": shocked}, DriftSettings(drift_share=0.5), DAY)["drifted_datasets"] == []


def test_too_few_rows_give_no_verdict_rather_than_a_noisy_one():
    out = verdict({"item_days": Samples(MONITORED["item_days"], item_days(20_000, 1), item_days(50, 2))},
                  DriftSettings(min_rows=200), DAY)
    assert out["datasets"]["item_days"]["status"].startswith("no verdict")
    assert out["drifted_columns"] == []


def test_evidentlys_report_shows_the_verdicts_numbers():
    s = Samples(MONITORED["item_days"], item_days(5_000, 1), item_days(1_000, 2, lighting_price=1.5))
    settings = DriftSettings(column_thresholds={"item_days.units": 0.3},
                             column_methods={"item_days.mean_price": "psi"})
    scores = {c: v["score"] for c, v in verdict({"item_days": s}, settings, DAY)["datasets"]["item_days"]["columns"].items()}
    reported = report_scores(evidently_report(s, settings, DAY).dict())
    assert reported.keys() == scores.keys()
    for column, score in scores.items():
        assert reported[column] == pytest.approx(score, rel=1e-9), column


def test_a_column_empty_in_the_reference_is_left_out_of_the_report_as_in_the_verdict():
    """Before any item has 28 days of prices the price ratio is empty: the verdict says so, and
    Evidently's report (which refuses an empty column) tests the other columns."""
    reference = item_days(2_000, 1).assign(price_ratio=np.nan)
    s = Samples(MONITORED["item_days"], reference, item_days(1_000, 2))
    settings = DriftSettings()
    columns = verdict({"item_days": s}, settings, DAY)["datasets"]["item_days"]["columns"]
    assert columns["price_ratio"] == {"status": "no values"}
    snapshot = evidently_report(s, settings, DAY).dict()
    assert report_scores(snapshot).keys() == {c for c, v in columns.items() if "drifted" in v}


def report_scores(snapshot: dict) -> dict[str, float]:
    """Per column, the drift score of the report's ValueDrift metrics."""
    out = {}
    for metric in snapshot["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith("ValueDrift"):
            out[config["column"]] = float(metric["value"])
    return out


def test_an_unknown_drift_test_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "monitoring.yaml"
    path.write_text("defaults:\n  drift:\n    num_method: t_tests\n")
    with pytest.raises(ValueError, match=r"(?s)monitoring.yaml: invalid monitoring settings for shop.*num_method"):
        load_monitoring_config(path, "shop")


def test_a_mistake_under_another_source_is_refused_naming_it(tmp_path):
    path = tmp_path / "monitoring.yaml"
    path.write_text("sources:\n  other:\n    drift:\n      num_treshold: 0.2\n")
    with pytest.raises(ValueError, match=r"(?s)invalid monitoring settings for other.*num_treshold"):
        load_monitoring_config(path, "shop")


def test_a_source_overrides_the_defaults(tmp_path):
    path = tmp_path / "monitoring.yaml"
    path.write_text("defaults:\n  drift:\n    num_threshold: 0.1\nsources:\n  shop:\n    drift:\n      num_threshold: 0.2\n")
    assert load_monitoring_config(path, "shop").drift.num_threshold == 0.2
    assert load_monitoring_config(path, "other").drift.num_threshold == 0.1


def test_a_sources_thresholds_lay_over_the_defaults_never_below_them():
    from domain.paths import REPO_ROOT

    path = REPO_ROOT / "configs" / "monitoring.yaml"
    defaults = load_monitoring_config(path, "synthetic").drift
    online_retail = load_monitoring_config(path, "online_retail").drift
    for dataset, data in MONITORED.items():
        for column in data.columns:
            numerical = column in data.numerical
            assert online_retail.threshold(dataset, column, numerical) >= \
                defaults.threshold(dataset, column, numerical), f"{dataset}.{column}"
    assert online_retail.threshold("raw_lines", "store", False) == 0.2  # the country mix
