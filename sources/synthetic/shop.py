"""Simulate a shop day by day and write its exports: daily order-line CSVs and a catalogue.

How observed demand is drawn (documented in docs/synthetic_shop.md):
  product lines of item i on day t ~ NegBin(mean = lambda[i, t], size = dispersion)
  units per line                   ~ 1 + Poisson(mean_qty[i] - 1)
so the expected units (the ground truth, written to truth/item_daily.parquet) are
lambda[i, t] * mean_qty[i], where lambda multiplies the item's base rate by a launch ramp, weekly
and yearly (per department) seasonality, holidays, trend, promotion lift (price cut ** -elasticity)
and any regime. Each line goes to a guest, to an earlier buyer of the item (repeat purchase), or to
a customer drawn in proportion to activity x taste for the item's category (truth/customers.parquet).
Returns, shipping lines and dirty rows are added on top of that demand and are not in the truth.
"""
from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sources.synthetic.config import ShopConfig

TIMEZONE = "Europe/Berlin"  # must match configs/sources/synthetic.yaml business_timezone
STORES = ["DE", "AT", "CH", "NL"]
STORE_WEIGHTS = [0.6, 0.15, 0.15, 0.1]
RING = 16  # recent buyers remembered per item for repeat purchases
SHIPPING_SKU, SHIPPING_PRICE = "SVC-SHIP", 4.95
DIRTY_KINDS = ("null_customer", "negative_price", "duplicate_line", "bad_timestamp")
CSV_COLUMNS = ["order_ref", "sku", "product_name", "category_path", "qty", "price_each",
               "created_at", "customer_ref", "shop"]

_ADJECTIVES = ["Vintage", "Rustic", "Classic", "Modern", "Nordic", "Little", "Grand", "Sweet",
               "Happy", "Lucky", "Golden", "Silver", "Pastel", "Bright", "Cosy", "Wild"]
_NOUNS = {
    "Lighting": ["Lantern", "T-Light Holder", "Fairy Lights", "Lamp"],
    "Textiles": ["Cushion", "Throw", "Tea Towel", "Apron"],
    "Decor": ["Heart Sign", "Frame", "Vase", "Wall Clock"],
    "Baking": ["Cake Tin", "Cupcake Cases", "Rolling Pin", "Cookie Cutter"],
    "Tableware": ["Mug", "Plate", "Bowl", "Napkins"],
    "Storage": ["Jar", "Lunch Box", "Storage Tin", "Basket"],
    "Plants": ["Herb Pot", "Seed Kit", "Planter", "Bulb Set"],
    "Tools": ["Trowel", "Watering Can", "Gloves", "Kneeler"],
    "Games": ["Puzzle", "Card Game", "Dominoes", "Skipping Rope"],
    "Plush": ["Teddy", "Bunny", "Owl Doorstop", "Puppet"],
    "Cards": ["Greeting Card", "Notebook", "Postcard Set", "Gift Tag"],
    "Wrapping": ["Wrapping Paper", "Ribbon", "Gift Bag", "Tissue Paper"],
}
_COLOURS = ["Red", "Blue", "Pink", "Green", "Ivory", "Black", "Mint", "Yellow"]


@dataclass
class GenerationSummary:
    days: int
    lines: int
    items: int
    customers: int
    landing_dir: Path
    truth_dir: Path


def _leaf_matches(category: str, target: str) -> bool:
    return category == target or category.startswith(target + "/")


def generate(cfg: ShopConfig, landing_dir: Path, truth_dir: Path) -> GenerationSummary:
    rng = np.random.default_rng(cfg.seed)
    landing_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    zone = ZoneInfo(TIMEZONE)
    cats = cfg.categories
    n_cat = len(cats)

    # --- items: an initial assortment plus launches over the horizon ----------------------
    launches = rng.poisson(cfg.item_launches_per_day, cfg.days)
    n_items = cfg.initial_items + int(launches.sum())
    sell_start = np.concatenate([
        -rng.integers(60, 700, cfg.initial_items),
        np.repeat(np.arange(cfg.days), launches),
    ])
    lead = rng.integers(0, cfg.listing_lead_days + 1, n_items)
    listed_day = sell_start - lead
    item_cat = rng.integers(0, n_cat, n_items)
    popularity = rng.lognormal(0.0, 1.0, n_items)
    cat_price = rng.lognormal(1.3, 0.5, n_cat)
    base_price = np.round(cat_price[item_cat] * rng.lognormal(0.0, 0.35, n_items), 2) + 0.05
    mean_qty = 1.0 + rng.exponential(2.0, n_items)
    mid_active = cfg.initial_items + cfg.item_launches_per_day * cfg.days / 2
    base_rate = cfg.lines_per_day * popularity / (popularity.mean() * mid_active)
    item_ids = np.array([f"SKU-{i:05d}" for i in range(n_items)])
    item_names = np.array([
        f"{_ADJECTIVES[rng.integers(len(_ADJECTIVES))]} {_COLOURS[rng.integers(len(_COLOURS))]} "
        f"{_NOUNS[cats[c].split('/')[1]][rng.integers(4)]}"
        for c in item_cat
    ])
    item_cat_name = np.array(cats)[item_cat]
    peaks = np.array(cfg.category_peaks)[item_cat]

    # --- customers, ordered by join day so that prefixes are the joined ones ---------------
    joins = rng.poisson(cfg.customer_joins_per_day, cfg.days)
    n_cust = cfg.initial_customers + int(joins.sum())
    join_day = np.concatenate([
        np.sort(-rng.integers(1, 365, cfg.initial_customers)),
        np.repeat(np.arange(cfg.days), joins),
    ])
    activity = rng.lognormal(0.0, 1.0, n_cust)
    taste = rng.dirichlet(np.full(n_cat, 0.3), n_cust)
    cust_store = rng.choice(len(STORES), n_cust, p=STORE_WEIGHTS)
    cum_weight = np.cumsum(activity[:, None] * taste, axis=0)
    cust_ids = np.array([f"C{j:06d}" for j in range(n_cust)])

    ring = np.full((n_items, RING), -1, dtype=np.int64)
    ring_count = np.zeros(n_items, dtype=np.int64)
    promo_until = np.full(n_items, -1)
    promo_cut = np.zeros(n_items)
    pending_returns: dict[int, list[dict]] = {}
    order_seq = 0
    truth_parts: list[pa.Table] = []
    total_lines = 0

    for t in range(cfg.days):
        day = cfg.start_date + timedelta(days=t)
        doy = day.timetuple().tm_yday
        offset_s = zone.utcoffset(datetime(day.year, day.month, day.day, 12)).total_seconds()

        # promotions start at random and last one to two weeks
        starting = (promo_until < t) & (rng.random(n_items) < cfg.promo_start_rate)
        promo_until[starting] = t + rng.integers(cfg.promo_days[0], cfg.promo_days[1] + 1, starting.sum())
        promo_cut[starting] = rng.uniform(*cfg.promo_discount, starting.sum())
        in_promo = promo_until >= t
        price_factor = np.where(in_promo, 1.0 - promo_cut, 1.0)
        demand_factor = price_factor ** (-cfg.price_elasticity)
        for regime in cfg.regimes:
            if day >= regime.start:
                hit = np.array([_leaf_matches(c, regime.category) for c in cats])[item_cat]
                if regime.kind == "price_shock":
                    price_factor = np.where(hit, price_factor * regime.factor, price_factor)
                    demand_factor = np.where(hit, demand_factor * regime.factor ** (-cfg.price_elasticity), demand_factor)
                else:
                    demand_factor = np.where(hit, demand_factor * regime.factor, demand_factor)

        active = sell_start <= t
        age = t - sell_start
        ramp = np.where(sell_start >= 0, 1.0 - np.exp(-(age + 1) / 10.0), 1.0)
        season = 1.0 + cfg.yearly_amplitude * np.cos(2 * np.pi * (doy - peaks) / 365.25)
        day_factor = (cfg.weekly_profile[day.weekday()] * cfg.holidays.get(day.strftime("%m-%d"), 1.0)
                    * (1.0 + cfg.trend_per_year * t / 365.0))
        lam = np.where(active, base_rate * ramp * season * day_factor * demand_factor, 0.0)
        price = np.round(base_price * price_factor, 2)

        idx = np.flatnonzero(active)
        truth_parts.append(pa.table({
            "date": pa.array([day] * idx.size, pa.date32()),
            "item_id": item_ids[idx],
            "expected_lines": lam[idx],
            "expected_units": lam[idx] * mean_qty[idx],
            "price": price[idx],
            "in_promo": in_promo[idx],
        }))

        lam_a = lam[idx]
        n_lines = rng.negative_binomial(cfg.dispersion, cfg.dispersion / (cfg.dispersion + lam_a))
        item = np.repeat(idx, n_lines)
        n = item.size
        qty = 1 + rng.poisson(mean_qty[item] - 1.0)

        # who buys: a guest, an earlier buyer of the item, or a customer drawn by taste
        n_joined = int(np.searchsorted(join_day, t, side="right"))
        u = rng.random(n)
        guest = u < cfg.guest_share
        repeat = ~guest & (u < cfg.guest_share + cfg.repeat_share) & (ring_count[item] > 0)
        customer = np.full(n, -1, dtype=np.int64)
        slots = np.minimum(ring_count[item[repeat]], RING)
        customer[repeat] = ring[item[repeat], (rng.random(repeat.sum()) * slots).astype(np.int64)]
        by_taste = ~guest & ~repeat
        line_cat = item_cat[item]
        for k in np.unique(line_cat[by_taste]):
            sel = by_taste & (line_cat == k)
            cw = cum_weight[:n_joined, k]
            draw = rng.random(sel.sum()) * cw[-1]
            customer[sel] = np.minimum(np.searchsorted(cw, draw, side="right"), n_joined - 1)
        known = customer >= 0
        if known.any():
            order = np.argsort(item[known], kind="stable")
            it, cu = item[known][order], customer[known][order]
            first = np.searchsorted(it, it, side="left")
            pos = ring_count[it] + (np.arange(it.size) - first)
            ring[it, pos % RING] = cu
            ring_count += np.bincount(it, minlength=n_items)

        # orders: one per known customer and day; guests' lines grouped in threes
        guest_group = rng.integers(0, max(1, int(guest.sum()) // 3 + 1), n)
        key = np.where(known, customer, n_cust + guest_group)
        uniq, order_idx = np.unique(key, return_inverse=True)
        n_orders = uniq.size
        order_ids = np.array([f"O{order_seq + j:08d}" for j in range(n_orders)])
        order_seq += n_orders
        order_secs = rng.integers(7 * 3600, 22 * 3600, n_orders)
        order_store = np.where(uniq < n_cust, cust_store[np.minimum(uniq, n_cust - 1)],
                               rng.choice(len(STORES), n_orders, p=STORE_WEIGHTS))

        rows = {
            "order": order_ids[order_idx],
            "item": item,
            "qty": qty,
            "price": price[item],
            "secs": order_secs[order_idx],
            "customer": customer,
            "store": order_store[order_idx],
        }
        ship = rng.random(n_orders) < cfg.shipping_line_share
        extra = {
            "order": order_ids[ship], "item": np.full(ship.sum(), -1), "qty": np.ones(ship.sum(), int),
            "price": np.full(ship.sum(), SHIPPING_PRICE), "secs": order_secs[ship],
            "customer": np.where(uniq[ship] < n_cust, uniq[ship], -1), "store": order_store[ship],
        }
        # returns of earlier days arrive today as R- orders with negative quantities
        returns = pending_returns.pop(t, [])
        parts = [rows, extra] + [
            {**r, "secs": rng.integers(7 * 3600, 22 * 3600, r["qty"].size)} for r in returns
        ]
        lines = {k: np.concatenate([p[k] for p in parts]) for k in rows}
        back = rng.random(n) < cfg.return_share
        if back.any():
            due = t + rng.integers(1, 15, back.sum())
            for d_ in np.unique(due):
                s = np.flatnonzero(back)[due == d_]
                pending_returns.setdefault(int(d_), []).append({
                    "order": np.char.add("R-", rows["order"][s]), "item": item[s], "qty": -qty[s],
                    "price": rows["price"][s], "customer": customer[s], "store": rows["store"][s],
                })

        columns = _csv_columns(lines, day, offset_s, item_ids, item_names, item_cat_name, cust_ids)
        table = _make_dirty(columns, cfg.dirty_share, rng)
        total_lines += table.num_rows
        for p, chunk in enumerate(np.array_split(np.arange(table.num_rows), cfg.files_per_day), 1):
            out = landing_dir / f"orders_{day.isoformat()}_part{p}.csv"
            pacsv.write_csv(table.take(pa.array(chunk, pa.int64())), out)

    _write_catalogue(landing_dir, cfg, item_ids, item_names, item_cat_name, base_price, listed_day)
    _write_truth(truth_dir, cfg, truth_parts, item_ids, item_cat_name, popularity, mean_qty,
                 sell_start, listed_day, cust_ids, join_day, activity, taste, cust_store)
    return GenerationSummary(cfg.days, total_lines, n_items, n_cust, landing_dir, truth_dir)


def _csv_columns(lines, day, offset_s, item_ids, item_names, item_cat_name, cust_ids) -> dict:
    """The export's columns as text, lines sorted by time as a shop system would write them."""
    order = np.lexsort((lines["order"], lines["secs"]))
    lines = {k: v[order] for k, v in lines.items()}
    midnight_utc = calendar.timegm(day.timetuple()) - offset_s
    utc = pa.array((midnight_utc + lines["secs"]).astype("int64"), pa.timestamp("s"))
    is_ship = lines["item"] < 0
    it = np.maximum(lines["item"], 0)
    return {
        "order_ref": lines["order"].astype(object),
        "sku": np.where(is_ship, SHIPPING_SKU, item_ids[it]).astype(object),
        "product_name": np.where(is_ship, "Shipping", item_names[it]).astype(object),
        "category_path": np.where(is_ship, "Service", item_cat_name[it]).astype(object),
        "qty": lines["qty"].astype(np.int64).astype(str).astype(object),
        "price_each": np.char.mod("%.2f", lines["price"]).astype(object),
        "created_at": pc.strftime(utc, format="%Y-%m-%dT%H:%M:%SZ").to_numpy(zero_copy_only=False).astype(object),
        "customer_ref": np.where(lines["customer"] >= 0, cust_ids[np.maximum(lines["customer"], 0)], "").astype(object),
        "shop": np.array(STORES)[lines["store"]].astype(object),
    }


def _make_dirty(cols: dict, share: float, rng: np.random.Generator) -> pa.Table:
    """Spoil a share of lines, evenly over the kinds a real export shows; return the table."""
    n = cols["order_ref"].size
    k = rng.binomial(n, share) if n else 0
    pick = rng.choice(n, k, replace=False) if k else np.empty(0, np.int64)
    kind = rng.integers(0, len(DIRTY_KINDS), k)
    cols["customer_ref"][pick[kind == 0]] = ""
    neg = pick[kind == 1]
    cols["price_each"][neg] = ["-" + p for p in cols["price_each"][neg]]
    cols["created_at"][pick[kind == 3]] = "2025-13-45T99:99:99Z"
    dup = pick[kind == 2]
    if dup.size:  # an exact copy right after the original line
        order = np.sort(np.concatenate([np.arange(n), dup]), kind="stable")
        cols = {c: v[order] for c, v in cols.items()}
    return pa.table({c: pa.array(cols[c], pa.string()) for c in CSV_COLUMNS})


def _write_catalogue(landing_dir, cfg, item_ids, item_names, item_cat_name, base_price, listed_day):
    pacsv.write_csv(pa.table({
        "sku": item_ids,
        "product_name": item_names,
        "category_path": item_cat_name,
        "launch_date": [(cfg.start_date + timedelta(days=int(d))).isoformat() for d in listed_day],
        "list_price": base_price,
    }), landing_dir / "catalogue.csv")


def _write_truth(truth_dir, cfg, truth_parts, item_ids, item_cat_name, popularity, mean_qty,
                 sell_start, listed_day, cust_ids, join_day, activity, taste, cust_store) -> None:
    pq.write_table(pa.concat_tables(truth_parts), truth_dir / "item_daily.parquet")
    to_date = lambda days: [cfg.start_date + timedelta(days=int(d)) for d in days]  # noqa: E731
    pq.write_table(pa.table({
        "item_id": item_ids, "category": item_cat_name, "popularity": popularity,
        "mean_qty": mean_qty, "first_sell_date": to_date(sell_start), "listed_date": to_date(listed_day),
    }), truth_dir / "items.parquet")
    pq.write_table(pa.table({
        "customer_id": cust_ids, "join_date": to_date(join_day), "activity": activity,
        "taste": pa.array(list(taste), pa.list_(pa.float64())), "store": np.array(STORES)[cust_store],
    }), truth_dir / "customers.parquet")
    (truth_dir / "params.json").write_text(json.dumps({
        "config": json.loads(cfg.model_dump_json()),
        "categories": cfg.categories,
        "timezone": TIMEZONE,
        "line_count_distribution": f"negative binomial, size {cfg.dispersion}",
        "units_per_line": "1 + Poisson(mean_qty - 1)",
        "repeat_buyers_remembered": RING,
    }, indent=2))
