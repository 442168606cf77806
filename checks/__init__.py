"""Data-quality gate: Great Expectations suites whose verdicts the flows act on."""
