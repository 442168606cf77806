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
import zipfile
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
    fingerprints are those of the whole."""
    ids = {name: np.union1d(getattr(old, name), getattr(after, name)).astype(object)
           for name in ID_FIELDS}

    def codes(p: Purchases, name: str, column: str) -> np.ndarray:
        # ranks in the merged ids: the order of the old codes is kept
        to = np.searchsorted(ids[name], getattr(p, name)).astype(np.int32)
        return to[getattr(p, column)]

    # the whole's fingerprints span every day with rows: one more than the latest day column
    sizes = (len(ids["customer_ids"]), len(ids["item_ids"]), max(len(after.day_fingerprints), 1))

    def event_key(p: Purchases) -> np.ndarray:
        c, i = codes(p, "customer_ids", "customer"), codes(p, "item_ids", "item")
        return (c.astype(np.int64) * sizes[1] + i) * sizes[2] + p.day, c, i

    old_key, old_c, old_i = event_key(old)
    new_key, new_c, new_i = event_key(after)
    # every new row is dated after the old ones: it goes after each old row of its customer
    # and item, and the new rows keep the order they were loaded in
    at = np.searchsorted(old_key, new_key, side="right")
    del old_key
    order_at = np.searchsorted(
        codes(old, "customer_ids", "order_customer").astype(np.int64) * sizes[2] + old.order_day,
        codes(after, "customer_ids", "order_customer").astype(np.int64) * sizes[2]
        + after.order_day, side="right")
    return replace(
        old, **ids,
        customer=np.insert(old_c, at, new_c), item=np.insert(old_i, at, new_i),
        day=np.insert(old.day, at, after.day), orders=np.insert(old.orders, at, after.orders),
        order_customer=np.insert(codes(old, "customer_ids", "order_customer"), order_at,
                                 codes(after, "customer_ids", "order_customer")),
        order_day=np.insert(old.order_day, order_at, after.order_day),
        order_count=np.insert(old.order_count, order_at, after.order_count),
        order_store=np.insert(codes(old, "store_ids", "order_store"), order_at,
                              codes(after, "store_ids", "order_store")),
        day_fingerprints=after.day_fingerprints)


def save(purchases: Purchases, end: date, path: Path) -> None:
    """The purchases up to ``end`` into ``path``, whole or not at all (written beside it, then
    renamed over it). Ids that are not all strings are not kept (numpy would pickle them)."""
    arrays = {f.name: getattr(purchases, f.name) for f in fields(purchases) if f.name != "start"}
    for name in ID_FIELDS:
        if not all(isinstance(i, str) for i in arrays[name]):
            log.info("purchases not kept: %s are not all strings", name)
            return
        arrays[name] = np.asarray(arrays[name], dtype=str)
    meta = {"format": FORMAT, "start": purchases.start.isoformat(), "end": end.isoformat()}
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.partial"):  # left by a killed run
        stale.unlink(missing_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as out:
            np.savez(out, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def read(path: Path) -> tuple[Purchases, date] | None:
    """The purchases kept in ``path`` and the last day they hold; None when there is no file,
    or it cannot be read or holds another format (it is then loaded from scratch again)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            if meta.get("format") != FORMAT:
                log.info("purchases kept in %s: format %s, not %s", path, meta.get("format"), FORMAT)
                return None
            arrays = {f_.name: f[f_.name] for f_ in fields(Purchases) if f_.name != "start"}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        log.warning("purchases kept in %s cannot be read (%s): loading from scratch", path, exc)
        return None
    for name in ID_FIELDS:
        arrays[name] = arrays[name].astype(object)
    return (Purchases(start=date.fromisoformat(meta["start"]), **arrays),
            date.fromisoformat(meta["end"]))


def _rows(fingerprints: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` day rows, zeros past the array's end (a day without rows)."""
    out = np.zeros((n, fingerprints.shape[1]), fingerprints.dtype)
    out[:min(n, len(fingerprints))] = fingerprints[:n]
    return out

