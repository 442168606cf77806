"""Tables over the rolling-origin results of either model (one row per model, origin and
segment): means over origins per model, ratios to a reference model, and markdown.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

Column = tuple[str, str]  # (metric, segment)


def _wide(results: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    return results.pivot_table(index=["model", "origin"], columns="segment", values=metrics)


def _in_order(table: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Rows in the order the models were run."""
    return table.loc[list(dict.fromkeys(results["model"]))]


def mean_over_origins(results: pd.DataFrame, columns: dict[str, Column]) -> pd.DataFrame:
    """Per model, the mean over origins of each named (metric, segment)."""
    mean = _wide(results, sorted({m for m, _ in columns.values()})).groupby(
        level="model", sort=False).mean()
    return _in_order(pd.DataFrame({name: mean[key] for name, key in columns.items()}), results)


def ratio_over_origins(results: pd.DataFrame, reference: str, columns: dict[str, Column]
                       ) -> pd.DataFrame:
    """Per model, the mean over origins of each (metric, segment) divided by the reference
    model's at the same origin (the oracle on synthetic data)."""
    wide = _wide(results, sorted({m for m, _ in columns.values()}))
    ratio = wide.div(wide.loc[reference], level="origin").groupby(level="model", sort=False).mean()
    return _in_order(pd.DataFrame({name: ratio[key] for name, key in columns.items()}), results)


def to_markdown(table: pd.DataFrame, digits: int = 3) -> str:
    """A pipe table of a summary (no tabulate dependency)."""
    def cell(v):
        if isinstance(v, float):
            return "-" if np.isnan(v) else f"{v:.{digits}f}"
        return str(v)
    head = [table.index.name or "model", *map(str, table.columns)]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * len(table.columns) + "|"]
    for name, row in table.iterrows():
        lines.append("| " + " | ".join([str(name), *(cell(v) for v in row)]) + " |")
    return "\n".join(lines)
