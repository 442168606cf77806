"""The synthetic shop has the structure the models are meant to find, and is reproducible."""
from __future__ import annotations

import hashlib
from datetime import date

import duckdb
import pytest

from sources.synthetic import Regime, ShopConfig, generate

YEAR = ShopConfig(seed=11, days=365, lines_per_day=300, initial_items=150, initial_customers=300,
                  customer_joins_per_day=1.0, item_launches_per_day=0.5)


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    root = tmp_path_factory.mktemp("shop")
    generate(YEAR, root / "landing", root / "truth")
    con = duckdb.connect()
    con.execute(f"""CREATE VIEW lines AS SELECT * FROM read_csv('{root}/landing/orders_*.csv',
                    all_varchar=true, filename=true)""")
    con.execute(f"CREATE VIEW truth AS SELECT * FROM '{root}/truth/item_daily.parquet'")
    con.execute(f"CREATE VIEW items AS SELECT * FROM '{root}/truth/items.parquet'")
    con.execute(f"CREATE VIEW catalogue AS SELECT * FROM read_csv('{root}/landing/catalogue.csv')")
    return root, con


def _digest(folder) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    small = ShopConfig(seed=3, days=15, lines_per_day=200, initial_items=50, initial_customers=80)
    generate(small, tmp_path / "a" / "landing", tmp_path / "a" / "truth")
    generate(small, tmp_path / "b" / "landing", tmp_path / "b" / "truth")
    generate(small.model_copy(update={"seed": 4}), tmp_path / "c" / "landing", tmp_path / "c" / "truth")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_files_look_like_a_daily_export(year):
    root, con = year
    files = sorted((root / "landing").glob("orders_*_part1.csv"))
    assert len(files) == 365
    assert files[0].name == "orders_2025-01-01_part1.csv"
    header = files[0].read_text().splitlines()[0]
    assert header.replace('"', "").split(",")[:3] == ["order_ref", "sku", "product_name"]


def test_weekly_seasonality_in_truth_and_in_observed_lines(year):
    _, con = year
    by_dow = dict(con.execute("""
        SELECT isodow(date), sum(expected_lines) FROM truth GROUP BY 1""").fetchall())
    profile = YEAR.weekly_profile
    assert by_dow[5] / by_dow[7] == pytest.approx(profile[4] / profile[6], rel=0.05)
    observed = dict(con.execute("""
        SELECT isodow(CAST(left(created_at, 10) AS DATE) ), count(*) FROM lines
        WHERE starts_with(sku, 'SKU-') AND NOT starts_with(order_ref, 'R-')
          AND created_at NOT LIKE '2025-13%' GROUP BY 1""").fetchall())
    assert observed[5] / observed[7] == pytest.approx(profile[4] / profile[6], rel=0.1)


def test_yearly_seasonality_follows_each_department(year):
    _, con = year
    garden_peak, home_peak = con.execute("""
        WITH m AS (
            SELECT split_part(i.category, '/', 1) AS dept, month(date) AS month,
                   sum(expected_units) / count(DISTINCT t.item_id) AS per_item
            FROM truth t JOIN items i USING (item_id) GROUP BY 1, 2)
        SELECT (SELECT month FROM m WHERE dept = 'Garden' ORDER BY per_item DESC LIMIT 1),
               (SELECT month FROM m WHERE dept = 'Home' ORDER BY per_item DESC LIMIT 1)""").fetchone()
    assert garden_peak in (4, 5, 6)  # Garden peaks in May
    assert home_peak in (11, 12)  # Home peaks before Christmas


def test_items_launch_over_time_and_some_listed_items_never_sold(year):
    _, con = year
    launched_in_year = con.execute(
        "SELECT count(*) FROM items WHERE first_sell_date >= DATE '2025-01-01'").fetchone()[0]
    assert launched_in_year > 100
    listed_unsold = con.execute("""
        SELECT count(*) FROM catalogue c WHERE c.launch_date <= DATE '2025-12-31'
          AND c.sku NOT IN (SELECT DISTINCT sku FROM lines)""").fetchone()[0]
    assert listed_unsold >= 1
    # a new item ramps up: its first week sells less than its fourth
    ramp = con.execute("""
        SELECT sum(expected_units) FILTER (WHERE date - first_sell_date < 7)
             / sum(expected_units) FILTER (WHERE date - first_sell_date BETWEEN 21 AND 27)
        FROM truth JOIN items USING (item_id) WHERE first_sell_date > DATE '2025-02-01'""").fetchone()[0]
    assert ramp < 0.7


def test_promotions_cut_prices_and_lift_demand(year):
    _, con = year
    price_ratio, lift = con.execute("""
        WITH per_item AS (
            SELECT item_id, avg(price) FILTER (WHERE in_promo) / avg(price) FILTER (WHERE NOT in_promo) AS p,
                   avg(expected_units) FILTER (WHERE in_promo) / avg(expected_units) FILTER (WHERE NOT in_promo) AS q
            FROM truth GROUP BY item_id HAVING count(*) FILTER (WHERE in_promo) > 0)
        SELECT median(p), median(q) FROM per_item""").fetchone()
    assert 0.6 < price_ratio < 0.8
    assert lift > 1.4


def test_returns_repeat_buyers_and_dirty_rows_are_there(year):
    _, con = year
    total, returns, bad_ts, negative, no_customer = con.execute("""
        SELECT count(*),
               count(*) FILTER (WHERE starts_with(order_ref, 'R-') AND CAST(qty AS INT) < 0),
               count(*) FILTER (WHERE created_at LIKE '2025-13-%'),
               count(*) FILTER (WHERE starts_with(price_each, '-')),
               count(*) FILTER (WHERE customer_ref IS NULL)
        FROM lines""").fetchone()
    expected_each = total * YEAR.dirty_share / 4
    assert returns > 0.01 * total
    assert bad_ts == pytest.approx(expected_each, rel=0.25)
    assert negative == pytest.approx(expected_each, rel=0.25)
    assert no_customer > total * YEAR.guest_share * 0.8  # guests plus dirty nulls
    repeat_pairs = con.execute("""
        SELECT count(*) FROM (SELECT customer_ref, sku FROM lines
        WHERE customer_ref IS NOT NULL AND starts_with(sku, 'SKU-') AND NOT starts_with(order_ref, 'R-')
        GROUP BY 1, 2 HAVING count(DISTINCT left(created_at, 10)) > 1)""").fetchone()[0]
    assert repeat_pairs > 500


def test_observed_demand_scatters_around_the_truth(year):
    _, con = year
    observed, expected = con.execute("""
        SELECT (SELECT sum(CAST(qty AS INT)) FROM lines WHERE starts_with(sku, 'SKU-')
                  AND NOT starts_with(order_ref, 'R-') AND NOT starts_with(price_each, '-')
                  AND created_at NOT LIKE '2025-13-%'),
               (SELECT sum(expected_units) FROM truth)""").fetchone()
    # dirty duplicates add ~0.25% on top; bad rows remove ~0.5%
    assert observed == pytest.approx(expected, rel=0.03)


def test_regime_changes_can_be_switched_on(tmp_path):
    shock = Regime(kind="price_shock", start=date(2025, 2, 1), category="Home/Lighting", factor=1.5)
    surge = Regime(kind="category_surge", start=date(2025, 2, 1), category="Garden", factor=3.0)
    cfg = ShopConfig(seed=5, days=60, lines_per_day=300, initial_items=120, regimes=[shock, surge])
    generate(cfg, tmp_path / "landing", tmp_path / "truth")
    con = duckdb.connect()
    price_jump, surge_jump = con.execute(f"""
        WITH t AS (SELECT t.*, i.category FROM '{tmp_path}/truth/item_daily.parquet' t
                   JOIN '{tmp_path}/truth/items.parquet' i USING (item_id) WHERE NOT in_promo)
        SELECT avg(price) FILTER (WHERE category = 'Home/Lighting' AND date >= DATE '2025-02-01')
             / avg(price) FILTER (WHERE category = 'Home/Lighting' AND date < DATE '2025-02-01'),
               sum(expected_lines) FILTER (WHERE category LIKE 'Garden/%' AND date BETWEEN DATE '2025-02-01' AND DATE '2025-02-14')
             / sum(expected_lines) FILTER (WHERE category LIKE 'Garden/%' AND date BETWEEN DATE '2025-01-18' AND DATE '2025-01-31')
        FROM t""").fetchone()
    assert price_jump == pytest.approx(1.5, rel=0.1)
    assert surge_jump > 2.5
