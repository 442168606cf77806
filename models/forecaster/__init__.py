"""The meta-learned demand forecaster, its baselines and metrics."""
