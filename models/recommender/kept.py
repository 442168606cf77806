"""The purchase history kept on disk between runs and extended with the days after it.

A daily run at a year of a large shop spent most of its history load reading and encoding the
same 29 million events it read the day before (docs/decisions/0029). The history a run loads is
kept in one file; the next run checks every kept day against the warehouse (the per-day
fingerprints, one pass over the rows, no fetch), reads only the days after the kept ones, and
merges them in. The result is the same arrays, in the same canonical order, as a load from
scratch (tested): ids are ranks of the sorted ids, so a new customer renumbers the ones after
it, and the kept codes are mapped onto the merged ids rather than appended.

Anything else (no file, another start, a changed earlier day, a file from another format or
that cannot be read) loads from scratch and keeps that instead: the file is derived data, safe
to delete.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import fields, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from models.recommender.data import Purchases, day_fingerprints_of, encode_purchases

log = logging.getLogger("shopcast")

# bump when the arrays' meaning changes: an older file is then loaded from scratch
FORMAT = 1
ID_FIELDS = ("customer_ids", "item_ids", "store_ids")


def extended_purchases(con, lines_sql: str, orders_sql: str, start: date, end: date,
                       path: Path) -> Purchases:
    """Purchases from ``start`` to ``end`` of the two queries (their ``?`` take the last and the
    first day), from the file at ``path`` where it holds an earlier part of them, and kept there
    for the next run."""
    days = (end - start).days + 1
    fingerprints = day_fingerprints_of(con, lines_sql, orders_sql, [end, start], start)
    kept = read(path)
    if kept is not None and (why := unusable(kept, start, end, fingerprints)):
        log.info("purchases kept in %s not used: %s", path, why)
        kept = None
    if kept is None:
        purchases = encode_purchases(con, lines_sql, orders_sql, [end, start], start, days,
                                     fingerprints)
    else:
        old, kept_end = kept
        if kept_end == end:
            return replace(old, day_fingerprints=fingerprints)
        after = encode_purchases(con, lines_sql, orders_sql, [end, kept_end + timedelta(days=1)], start,
                                 days, fingerprints)
        purchases = extend(old, after)
    save(purchases, end, path)
    return purchases


def unusable(kept: tuple[Purchases, date], start: date, end: date,
             fingerprints: np.ndarray) -> str | None:
    """Why the kept purchases cannot be extended to ``end`` (None: they can)."""
    old, kept_end = kept
    if old.start != start:
        return f"they start on {old.start}, the history on {start}"
    if kept_end > end:
        return f"they run to {kept_end}, after {end}"
    column = (kept_end - start).days + 1
    if not np.array_equal(_rows(old.day_fingerprints, column), _rows(fingerprints, column)):
        changed = np.flatnonzero((_rows(old.day_fingerprints, column)
                                  != _rows(fingerprints, column)).any(axis=1))
        return (f"the warehouse's rows of {len(changed)} kept day(s) changed since, the first "
                f"{start + timedelta(days=int(changed[0]))}")
    return None


def extend(old: Purchases, after: Purchases) -> Purchases:
    """``old`` and ``after`` (rows dated after all of old's, the same start) as one load of both:
    ids merged and sorted, codes mapped onto them, rows in the canonical order. ``after``'s day
    fingerprints are those of the whole. Costs a few passes over old's arrays, no sort."""
    ids = {name: np.union1d(getattr(old, name), getattr(after, name)).astype(object)
           for name in ID_FIELDS}

    def codes(p: Purchases, name: str, column: str) -> np.ndarray:
        """The column's codes as ranks in the merged ids (old codes keep their order)."""
        if len(getattr(p, name)) == len(ids[name]):  # no new id: the same ranks
            return getattr(p, column)
        return np.searchsorted(ids[name], getattr(p, name)).astype(np.int32)[getattr(p, column)]

    old_c, new_c = codes(old, "customer_ids", "customer"), codes(after, "customer_ids", "customer")
    old_i, new_i = codes(old, "item_ids", "item"), codes(after, "item_ids", "item")
    # every new row is dated after the old ones: it goes after each old row of its customer
    # and item (events) or of its customer (order rows), the new rows in the order they came
    at = _after_rows_of(old_c, old_i, new_c, new_i)
    old_oc = codes(old, "customer_ids", "order_customer")
    new_oc = codes(after, "customer_ids", "order_customer")
    order_at = np.searchsorted(old_oc, new_oc, side="right")
    events, order_rows = _merge(at), _merge(order_at)
    return replace(
        old, **ids,
        customer=events(old_c, new_c), item=events(old_i, new_i),
        day=events(old.day, after.day), orders=events(old.orders, after.orders),
        order_customer=order_rows(old_oc, new_oc),
        order_day=order_rows(old.order_day, after.order_day),
        order_count=order_rows(old.order_count, after.order_count),
        order_store=order_rows(codes(old, "store_ids", "order_store"),
                               codes(after, "store_ids", "order_store")),
        day_fingerprints=after.day_fingerprints)


def _after_rows_of(old_c: np.ndarray, old_i: np.ndarray, new_c: np.ndarray, new_i: np.ndarray
                   ) -> np.ndarray:
    """For each new (customer, item), the position after every old row with a smaller or equal
    (customer, item), old rows sorted by both: a binary search on the item within the rows of
    the customer, all new rows at once (no key over a year of events)."""
    lo = np.searchsorted(old_c, new_c, side="left")
    hi = np.searchsorted(old_c, new_c, side="right")
    while (open_ := lo < hi).any():
        mid = (lo + hi) // 2
        right = open_ & (old_i[np.minimum(mid, len(old_i) - 1)] <= new_i)
        lo = np.where(right, mid + 1, lo)
        hi = np.where(open_ & ~right, mid, hi)
    return lo


def _merge(at: np.ndarray):
    """(old, new) -> one array: the new values inserted before old positions ``at`` (sorted),
    in their order; ``np.insert`` with the positions worked out once for all the columns."""
    new_rows = at + np.arange(len(at))
    old_rows = None

    def merged(old: np.ndarray, new: np.ndarray) -> np.ndarray:
        nonlocal old_rows
        if old_rows is None:
            keep = np.ones(len(old) + len(new), bool)
            keep[new_rows] = False
            old_rows = np.flatnonzero(keep)
        out = np.empty(len(old) + len(new), old.dtype)
        out[old_rows] = old
        out[new_rows] = new
        return out
    return merged


def save(purchases: Purchases, end: date, path: Path) -> None:
    """The purchases up to ``end`` into ``path``, whole or not at all (written beside it, then
    renamed over it): a header, then each array as a ``.npy`` record, one after the other (a
    zip of them, ``np.savez``, spent a second on checksums of 650 MB). Ids that are not all
    strings are not kept (numpy would pickle them)."""
    arrays = {f.name: getattr(purchases, f.name) for f in fields(purchases) if f.name != "start"}
    for name in ID_FIELDS:
        if not all(isinstance(i, str) for i in arrays[name]):
            log.info("purchases not kept: %s are not all strings", name)
            return
        arrays[name] = np.asarray(arrays[name], dtype=str)
    header = {"format": FORMAT, "start": purchases.start.isoformat(), "end": end.isoformat(),
              "arrays": list(arrays)}
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.partial"):  # left by a killed run
        stale.unlink(missing_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as out:
            np.save(out, np.array(json.dumps(header)))
            for values in arrays.values():
                np.save(out, values)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def read(path: Path) -> tuple[Purchases, date] | None:
    """The purchases kept in ``path`` and the last day they hold; None when there is no file,
    or it cannot be read or holds another format (it is then loaded from scratch again)."""
    if not path.exists():
        return None
    try:
        with open(path, "rb") as f:
            header = json.loads(str(np.load(f)))
            if header.get("format") != FORMAT:
                log.info("purchases kept in %s: format %s, not %s", path, header.get("format"),
                         FORMAT)
                return None
            arrays = {name: np.load(f) for name in header["arrays"]}
            purchases = Purchases(start=date.fromisoformat(header["start"]), **{
                name: values.astype(object) if name in ID_FIELDS else values
                for name, values in arrays.items()})
    except (OSError, ValueError, EOFError, KeyError, TypeError) as exc:
        log.warning("purchases kept in %s cannot be read (%s): loading from scratch", path, exc)
        return None
    return purchases, date.fromisoformat(header["end"])


def _rows(fingerprints: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` day rows, zeros past the array's end (a day without rows)."""
    out = np.zeros((n, fingerprints.shape[1]), fingerprints.dtype)
    out[:min(n, len(fingerprints))] = fingerprints[:n]
    return out

