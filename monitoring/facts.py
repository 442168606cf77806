"""``DayFact``: one of a run date's facts (drifted share, lines, realised quality...) as an
Evidently metric, for the workspace's dashboard.

Evidently's own single-value metrics (``MeanValue`` and the other column statistics) each draw
a distribution chart of their column, which the snapshot then stores: on a one-row table of
facts that is a chart of one point: ten of them took 0.33-0.38 s and 178 kB a snapshot (an
eighth of the monitor stage then; decision 0015), for nothing a reviewer looks at. This metric is Evidently's
documented extension point (a ``SingleValueMetric`` and its calculation) returning the value
alone. The snapshot carries the metric's type name as data, so ``evidently ui`` plots it
without importing this module (tested). Imported only where snapshots are written: Evidently
takes seconds to import."""
from __future__ import annotations

from evidently.core.metric_types import SingleValueCalculation, SingleValueMetric


class DayFact(SingleValueMetric):
    """The value of ``column`` in the one-row table of a run date's facts."""
    column: str

    def _default_tests(self, context):  # a fact is plotted, not tested
        return []

    def _default_tests_with_reference(self, context):
        return []


class DayFactCalculation(SingleValueCalculation[DayFact]):
    def calculate(self, context, current_data, reference_data):
        values = current_data.column(self.metric.column).data
        return self.result(float(values.iloc[0]) if len(values) else float("nan")), None

    def display_name(self) -> str:
        return self.metric.column
