"""The purchases kept between runs: extended day by day, they are exactly a load from scratch;
anything that makes them stale loads from scratch."""
from dataclasses import fields
from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from models.recommender import kept as kept_module
from models.recommender.data import Purchases, encode_purchases
from models.recommender.kept import extended_purchases
from tests.models.recommender.conftest import START, tiny_shop_frames

WINDOW = "WHERE order_date <= ? AND order_date >= ?"
LINES = f"SELECT order_date, customer_id, item_id, orders FROM lines {WINDOW}"
ORDERS = f"SELECT order_date, customer_id, orders, store FROM orders {WINDOW}"


def shop_with_late_newcomers():
    """The tiny shop, plus customers, items and a store that first appear late, with ids that
    sort before, between and after the early ones (each renumbers the codes after it)."""
    lines, orders, _, _ = tiny_shop_frames()
    late = START + timedelta(days=140)
    extra_lines = pd.DataFrame({
        "order_date": [late, late, late + timedelta(days=3), late + timedelta(days=3),
                       late + timedelta(days=6)],
        "customer_id": ["A000", "C0105", "C0105", "Z999", "C001"],
        "item_id": ["I000", "I0005", "H100", "I000", "I0005"],
        "orders": [1, 2, 1, 1, 3]})
    extra_orders = pd.DataFrame({
        "order_date": [late, late, late + timedelta(days=3), late + timedelta(days=3),
                       late + timedelta(days=6)],
        "customer_id": ["A000", "C0105", "C0105", "Z999", "C001"],
        "orders": [1, 2, 1, 1, 3], "store": ["AT", "DE", "DE", "", "BE"]})
    lines = pd.concat([lines, extra_lines], ignore_index=True)
    orders = pd.concat([orders, extra_orders], ignore_index=True)
    # one customer-day twice in the lines: the rows keep their canonical order
    return lines.drop_duplicates(["order_date", "customer_id", "item_id"]), \
        orders.drop_duplicates(["order_date", "customer_id"])


def connection(lines: pd.DataFrame, orders: pd.DataFrame):
    con = duckdb.connect()
    for name, frame in (("lines", lines), ("orders", orders)):
        con.register(f"{name}_frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
    return con


def a_day_with_rows(con):
    """A day of the first fifty with lines and orders."""
    return con.execute("SELECT min(order_date) FROM lines WHERE order_date >= ? AND order_date "
                       "IN (SELECT order_date FROM orders)", [START + timedelta(days=50)]).fetchone()[0]


def from_scratch(con, end) -> Purchases:
    return encode_purchases(con, LINES, ORDERS, [end, START], START, (end - START).days + 1)


def assert_same(got: Purchases, want: Purchases):
    for f in fields(Purchases):
        a, b = getattr(got, f.name), getattr(want, f.name)
        if isinstance(b, np.ndarray):
            assert a.dtype == b.dtype, f.name
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        else:
            assert a == b, f.name


def test_purchases_extended_run_after_run_are_a_load_from_scratch(tmp_path):
    lines, orders = shop_with_late_newcomers()
    con = connection(lines, orders)
    path = tmp_path / "purchases.npz"
    # runs a day apart, several days apart, on the same day again, across the newcomers
    for end_day in (100, 101, 101, 120, 139, 140, 141, 143, 144, 146, 149):
        end = START + timedelta(days=end_day)
        got = extended_purchases(con, LINES, ORDERS, START, end, path)
        assert_same(got, from_scratch(con, end))
        assert kept_module.read(path)[1] == end


def test_the_extension_is_used_and_reads_only_the_days_after_the_kept_ones(tmp_path, monkeypatch):
    lines, orders = shop_with_late_newcomers()
    con = connection(lines, orders)
    path = tmp_path / "purchases.npz"
    extended_purchases(con, LINES, ORDERS, START, START + timedelta(days=139), path)
    asked = []
    real = kept_module.encode_purchases
    monkeypatch.setattr(kept_module, "encode_purchases",
                        lambda con_, lines_, orders_, params, *rest: asked.append(params)
                        or real(con_, lines_, orders_, params, *rest))
    end = START + timedelta(days=146)
    assert_same(extended_purchases(con, LINES, ORDERS, START, end, path), from_scratch(con, end))
    assert asked == [[end, START + timedelta(days=140)]]


@pytest.mark.parametrize("change", ["orders", "remove", "store"])
def test_a_changed_earlier_day_loads_from_scratch(tmp_path, change, caplog):
    lines, orders = shop_with_late_newcomers()
    con = connection(lines, orders)
    path = tmp_path / "purchases.npz"
    extended_purchases(con, LINES, ORDERS, START, START + timedelta(days=120), path)
    day = a_day_with_rows(con)
    if change == "orders":
        con.execute("UPDATE lines SET orders = orders + 1 WHERE rowid = "
                    "(SELECT min(rowid) FROM lines WHERE order_date = ?)", [day])
    elif change == "remove":
        con.execute("DELETE FROM lines WHERE order_date = ?", [day])
    else:
        con.execute("UPDATE orders SET store = 'XX' WHERE order_date = ?", [day])
    end = START + timedelta(days=130)
    want = from_scratch(con, end)
    with caplog.at_level("INFO", logger="shopcast"):
        assert_same(extended_purchases(con, LINES, ORDERS, START, end, path), want)
    assert f"the first {day}" in caplog.text


def test_the_check_is_what_catches_a_changed_day(tmp_path, monkeypatch):
    """Without the check, the stale file extended differs from a load from scratch: the test
    above would see a check that lets a change through."""
    lines, orders = shop_with_late_newcomers()
    con = connection(lines, orders)
    path = tmp_path / "purchases.npz"
    extended_purchases(con, LINES, ORDERS, START, START + timedelta(days=120), path)
    con.execute("UPDATE lines SET orders = orders + 1 WHERE order_date = ?",
                [a_day_with_rows(con)])
    monkeypatch.setattr(kept_module, "unusable", lambda *a: None)
    end = START + timedelta(days=130)
    with pytest.raises(AssertionError):
        assert_same(extended_purchases(con, LINES, ORDERS, START, end, path), from_scratch(con, end))


def test_a_file_ahead_of_the_run_or_from_another_start_loads_from_scratch(tmp_path):
    lines, orders = shop_with_late_newcomers()
    con = connection(lines, orders)
    path = tmp_path / "purchases.npz"
    extended_purchases(con, LINES, ORDERS, START, START + timedelta(days=145), path)
    end = START + timedelta(days=120)  # a backfill of an earlier window
    assert_same(extended_purchases(con, LINES, ORDERS, START, end, path), from_scratch(con, end))
    assert kept_module.read(path)[1] == end
    later_start = START + timedelta(days=1)
    got = extended_purchases(con, LINES, ORDERS, later_start, end, path)
    assert got.start == later_start
    assert kept_module.read(path)[0].start == later_start


def test_a_broken_or_older_file_loads_from_scratch_and_is_replaced(tmp_path, caplog):
    lines, orders = shop_with_late_newcomers()
    con = connection(lines, orders)
    path = tmp_path / "purchases.npz"
    end = START + timedelta(days=130)
    extended_purchases(con, LINES, ORDERS, START, end - timedelta(days=10), path)
    path.write_bytes(path.read_bytes()[:1000])  # cut short, as by a full disk
    with caplog.at_level("WARNING", logger="shopcast"):
        assert_same(extended_purchases(con, LINES, ORDERS, START, end, path), from_scratch(con, end))
    assert "cannot be read" in caplog.text and str(path) in caplog.text
    assert kept_module.read(path)[1] == end
    old, _ = kept_module.read(path)
    kept_module.save(old, end, path)
    kept_module.FORMAT, before = kept_module.FORMAT + 1, kept_module.FORMAT
    try:
        assert kept_module.read(path) is None
    finally:
        kept_module.FORMAT = before


def test_a_failed_write_leaves_the_kept_file_whole(tmp_path, monkeypatch):
    lines, orders = shop_with_late_newcomers()
    con = connection(lines, orders)
    path = tmp_path / "purchases.npz"
    first = START + timedelta(days=120)
    extended_purchases(con, LINES, ORDERS, START, first, path)

    def full_disk(out, values):
        out.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(kept_module.np, "save", full_disk)
    with pytest.raises(OSError, match="No space"):
        extended_purchases(con, LINES, ORDERS, START, START + timedelta(days=125), path)
    monkeypatch.undo()
    assert kept_module.read(path)[1] == first
    assert [p.name for p in tmp_path.iterdir()] == ["purchases.npz"]
