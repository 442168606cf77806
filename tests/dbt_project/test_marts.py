"""The dbt marts on a handful of hand-written lines: every count can be checked by eye."""
import json
from datetime import date
from pathlib import Path

import pytest

from pipeline.definition import days_between
from tests.conftest import promote_tiny_days, run_stages, tiny_environment, write_day
from warehouse import db, transform
from warehouse.transform import DbtProject

pytestmark = pytest.mark.dbt  # runs dbt: not in the fast tier

D1, D2, D3 = date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)
DAYS = {
    D1: [
        "1,10001,HEART,2,1.50,2025-03-01T09:00:00Z,7.0,DE",
        "1,10002,LANTERN,1,3.00,2025-03-01T09:00:00Z,7.0,DE",
        "2,10001,HEART,1,1.50,2025-03-01T10:00:00Z,,FR",
        "3,POST,Postage,1,5.00,2025-03-01T11:00:00Z,8.0,DE",
        "3,10003,SAMPLE,1,0.00,2025-03-01T11:00:00Z,8.0,DE",
        "C4,10001,HEART,-1,1.50,2025-03-01T12:00:00Z,7.0,DE",
    ],
    D2: ["5,10001,HEART,1,1.00,2025-03-02T09:00:00Z,7.0,DE"],  # a third off: promo
    D3: ["6,10002,LANTERN,4,3.00,2025-03-03T09:00:00Z,8.0,DE"],
}


def _transform(settings, *days):
    """The pipeline's transform stage (dbt build) alone, over the days start..end."""
    assert run_stages(settings, days_between(days[0], days[-1]), only=("transform",)).stop is None


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Built once for the module: each dbt invocation costs seconds."""
    with tiny_environment(tmp_path_factory.mktemp("marts")) as (settings, cfg, landing):
        promote_tiny_days(settings, landing, DAYS)
        _transform(settings, D1, D2)  # as-of D2 sees raw D3 rows: must ignore them
        _transform(settings, D3)
        yield settings, cfg


def test_demand_counts_only_product_lines_not_cancelled_with_a_price(built):
    settings, _ = built
    with db.reader(settings) as con:
        rows = con.execute("""SELECT order_date, item_id, units, revenue, returned_units, orders,
                                     customers, is_promo FROM marts.fct_item_daily_demand
                              ORDER BY 1, 2""").fetchall()
    assert rows == [
        (D1, "10001", 3, pytest.approx(4.5), 1, 2, 1, False),
        (D1, "10002", 1, pytest.approx(3.0), 0, 1, 1, False),
        (D2, "10001", 1, pytest.approx(1.0), 0, 1, 1, True),
        (D3, "10002", 4, pytest.approx(12.0), 0, 1, 1, False),
    ]


def test_every_rule_is_counted_per_day(built):
    settings, _ = built
    with db.reader(settings) as con:
        row = con.execute("""SELECT lines, demand_lines, cancellation_lines, non_product_lines,
                                    zero_price_lines, lines_without_customer, orders
                             FROM marts.daily_line_counts WHERE order_date = ?""", [D1]).fetchone()
    assert row == (6, 3, 1, 1, 1, 1, 4)


def test_as_of_features_see_no_later_data(built):
    settings, _ = built
    with db.reader(settings) as con:
        feats = {(r[0], r[1]): r[2:] for r in con.execute("""
            SELECT as_of_date, customer_id, frequency, recency_days, tenure_days, segment
            FROM marts.customer_features""").fetchall()}
        items = {(r[0], r[1]): r[2:] for r in con.execute("""
            SELECT as_of_date, item_id, history_days, units_7d, segment FROM marts.item_features""").fetchall()}
    # order C4 is a cancellation, order 3 has a (zero-price) product line: both customers have 2
    assert feats[(D3, "7")] == (2, 1, 2, "cold")
    assert feats[(D3, "8")] == (2, 0, 2, "cold")
    assert feats[(D2, "8")] == (1, 1, 1, "cold")  # order 6 on D3 is not visible as of D2
    assert items[(D3, "10001")] == (2, 4, "cold")
    assert items[(D2, "10002")] == (1, 1, "cold")
    assert (D2, "10003") not in items  # never sold with a price, not in a catalogue


def test_rebuilding_a_window_changes_nothing(built):
    from warehouse.checksums import mart_checksums

    settings, cfg = built
    with db.reader(settings) as con:
        before = mart_checksums(con)
    _transform(settings, D1, D3)
    with db.reader(settings) as con:
        after = mart_checksums(con)
    assert {k: v for k, v in after.items() if k not in ("item_features", "customer_features")} == {
        k: v for k, v in before.items() if k not in ("item_features", "customer_features")}
    assert after["customer_features"] == before["customer_features"]


def test_docs_generate(built):
    settings, cfg = built
    with db.writer_lock(settings):
        path = DbtProject(settings, cfg).generate_docs(D3)
    assert Path(path).is_file() and Path(path).stat().st_size > 0
    catalog = json.loads((settings.dbt_target_dir / "catalog.json").read_text())
    documented = {node["metadata"]["name"]: node["columns"] for node in catalog["nodes"].values()}
    # the warehouse's marts as they are, with their columns (docs generate read the real file)
    assert {"fct_item_daily_demand", "item_features", "customer_features"} <= set(documented)
    assert {"units", "is_promo"} <= {c.lower() for c in documented["fct_item_daily_demand"]}


def test_a_redelivered_earlier_day_invalidates_later_snapshots(tiny_source, settings):
    """Customer features chain from the latest valid snapshot; a snapshot built before an earlier
    day was re-delivered with other content must not be chained from."""
    cfg, landing = tiny_source
    d4 = date(2025, 3, 4)
    days = {**DAYS, d4: ["7,10002,LANTERN,1,3.00,2025-03-04T09:00:00Z,7.0,DE"]}
    for d, rows in days.items():
        write_day(landing, d, rows)
    run_stages(settings, list(days), only=("ingest", "promote"))
    for d in (D1, D2, D3):
        _transform(settings, d)
    # D1 comes again with one more order of customer 8: snapshots D2 and D3 are now stale
    write_day(landing, D1, DAYS[D1] + ["9,10002,LANTERN,1,3.00,2025-03-01T15:00:00Z,8.0,DE"])
    run_stages(settings, [D1], only=("ingest", "promote"))
    _transform(settings, D1)
    _transform(settings, d4)
    with db.reader(settings) as con:
        got = dict(con.execute("""SELECT customer_id, frequency FROM marts.customer_features
                                  WHERE as_of_date = ?""", [d4]).fetchall())
    assert got == {"7": 3, "8": 3}  # 8: orders 3 and 9 on D1, order 6 on D3


def test_the_marts_take_the_segment_rule_from_the_domain_definition(tiny_source, settings,
                                                                    monkeypatch):
    """dbt reads cold_customer_max_orders from domain/rules.py: another value, other segments."""
    from domain.rules import DomainRules

    cfg, landing = tiny_source
    promote_tiny_days(settings, landing, DAYS)
    monkeypatch.setattr(transform, "RULES", DomainRules(cold_customer_max_orders=1))
    _transform(settings, D1, D3)
    with db.reader(settings) as con:
        segments = dict(con.execute("""SELECT customer_id, segment FROM marts.customer_features
                                       WHERE as_of_date = ?""", [D3]).fetchall())
    assert segments == {"7": "warm", "8": "warm"}  # two orders each: cold under the shipped rule


def test_day_by_day_builds_give_the_marts_of_one_window(built, tmp_path):
    """The incremental path (a day's promo flag reads the prior days back from the mart) gives
    the rows that a build of D1..D2 in one window (D2's prior days from raw lines) gives."""
    settings, _ = built
    with tiny_environment(tmp_path) as (daily, _, landing):
        promote_tiny_days(daily, landing, DAYS)
        for day in DAYS:
            _transform(daily, day)
        rows, customers = {}, {}
        for name, s in (("one window", settings), ("day by day", daily)):
            with db.reader(s) as con:
                rows[name] = con.execute("""
                    SELECT * EXCLUDE (reference_price), round(reference_price, 6)
                    FROM marts.fct_item_daily_demand ORDER BY order_date, item_id""").fetchall()
                # a customer who bought nothing since the day before keeps their mix
                customers[name] = con.execute("""
                    SELECT * EXCLUDE (input_fingerprint) FROM marts.customer_features
                    WHERE as_of_date = ? ORDER BY customer_id""", [D3]).fetchall()
    assert rows["day by day"] == rows["one window"]
    assert any(r[7] for r in rows["day by day"])  # D2's promo flag is among them
    assert customers["day by day"] == customers["one window"]
    assert len(customers["day by day"]) > 1  # one bought on D3, the others did not


LATER = {**DAYS, date(2025, 5, 30): ["10,10001,HEART,1,1.50,2025-05-30T09:00:00Z,7.0,DE"],  # D1 + 90
         date(2025, 6, 2): ["11,10002,LANTERN,2,3.00,2025-06-02T09:00:00Z,8.0,DE"]}   # D3 + 91


def _customer_rows(settings, as_of: date) -> list[dict]:
    """A snapshot's rows by column name (a migrated table orders its columns differently)."""
    with db.reader(settings) as con:
        cur = con.execute("""SELECT * EXCLUDE (input_fingerprint) FROM marts.customer_features
                             WHERE as_of_date = ? ORDER BY customer_id""", [as_of])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def test_chained_customer_features_drop_orders_that_leave_the_90_days(tmp_path):
    """orders_90d is chained from the previous snapshot (plus the new days, less the days that
    left the window): day by day it equals a build from all history, also once D1's orders are
    more than 90 days old."""
    later = sorted(LATER)
    built = {}
    for name in ("day by day", "one window"):
        with tiny_environment(tmp_path / name) as (settings, _, landing):
            promote_tiny_days(settings, landing, LATER)
            for day in (later if name == "day by day" else later[-2:]):
                # one window from D1: no earlier snapshot, so built from all history
                _transform(settings, *(days_between(later[0], day) if name == "one window" else [day]))
            built[name] = {d: _customer_rows(settings, d) for d in later[-2:]}
            with db.reader(settings) as con:
                got = {(r[0], r[1]): r[2:] for r in con.execute(
                    "SELECT as_of_date, customer_id, frequency, orders_90d FROM marts.customer_features"
                ).fetchall()}
    assert built["day by day"] == built["one window"]
    # customer 7: orders 1 (D1), 5 (D2), 10 (D1 + 90); order 1 has left the 90 days by D1 + 90
    assert got[(later[-2], "7")] == (3, 2)
    # customer 8: orders 3 (D1), 6 (D3), 11; by D3 + 91 only order 11 is within 90 days
    assert got[(later[-1], "8")] == (3, 1)


def test_a_warehouse_with_the_older_snapshot_layout_is_rebuilt_not_chained(tmp_path):
    """customer_features of layout 1 (the category mix as two maps) is migrated by the next
    build: the old columns go, the snapshot is built from all history, equal to a fresh one."""
    with tiny_environment(tmp_path / "fresh") as (settings, _, landing):
        promote_tiny_days(settings, landing, DAYS)
        _transform(settings, D1, D3)
        fresh = _customer_rows(settings, D3)
    with tiny_environment(tmp_path / "old") as (settings, _, landing):
        promote_tiny_days(settings, landing, DAYS)
        _transform(settings, D1, D2)
        with db.writer(settings) as con:  # as a warehouse built before layout 2 had it
            con.execute("ALTER TABLE marts.customer_features DROP COLUMN units_by_category")
            con.execute("ALTER TABLE marts.customer_features ADD COLUMN category_mix MAP(VARCHAR, DOUBLE)")
            con.execute("ALTER TABLE marts.customer_features ADD COLUMN category_units MAP(VARCHAR, BIGINT)")
            con.execute("UPDATE marts.customer_features SET frequency = 99")  # would show if chained
        _transform(settings, D3)
        with db.reader(settings) as con:
            columns = {r[0] for r in con.execute("DESCRIBE marts.customer_features").fetchall()}
        assert "units_by_category" in columns and not {"category_mix", "category_units"} & columns
        assert _customer_rows(settings, D3) == fresh
