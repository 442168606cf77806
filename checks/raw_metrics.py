"""Batch-level measurements of one staged day against the days before it (pure functions)."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import date

from checks.config import RawThresholds


@dataclass(frozen=True)
class DayVolume:
    """What a past day delivered: lines before quarantine, and lines without a customer."""

    run_date: date
    delivered: int
    no_customer: int


@dataclass(frozen=True)
class BatchMetrics:
    run_date: date
    delivered: int
    quarantined: int
    bad_row_share: float
    volume_ratio: float  # NaN where the check does not apply (warm-up, partial day, no trading)
    no_customer_share: float
    no_customer_share_increase: float  # NaN before the warm-up is over
    duplicate_files: int
    notes: tuple[str, ...] = ()

    def as_row(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("notes", "run_date")}


def measure(
    run_date: date,
    delivered: int,
    quarantined: int,
    no_customer: int,
    duplicate_files: int,
    history: list[DayVolume],
    limits: RawThresholds,
) -> BatchMetrics:
    """``history``: earlier days, any order; only trading days (lines delivered) count."""
    trading = sorted((h for h in history if h.delivered > 0 and h.run_date < run_date),
                     key=lambda h: h.run_date)
    notes = []
    volume_ratio = math.nan
    if delivered == 0:
        notes.append("no lines: a day without trading")
    elif run_date in limits.partial_days:
        notes.append("known partial day: volume not checked")
    elif len(trading) < limits.volume_warmup_trading_days:
        notes.append(f"volume not checked: {len(trading)} of {limits.volume_warmup_trading_days} "
                     "trading days of history")
    else:
        window = trading[-limits.volume_window_trading_days:]
        volume_ratio = delivered / statistics.median(h.delivered for h in window)
    share = no_customer / delivered if delivered else 0.0
    increase = math.nan
    if delivered and len(trading) >= limits.no_customer_warmup_trading_days:
        window = trading[-limits.volume_window_trading_days:]
        increase = share - statistics.median(h.no_customer / h.delivered for h in window)
    return BatchMetrics(
        run_date=run_date,
        delivered=delivered,
        quarantined=quarantined,
        bad_row_share=quarantined / delivered if delivered else 0.0,
        volume_ratio=volume_ratio,
        no_customer_share=share,
        no_customer_share_increase=increase,
        duplicate_files=duplicate_files,
        notes=tuple(notes),
    )
