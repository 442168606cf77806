"""The meta-learned recommender, its baselines and metrics."""
