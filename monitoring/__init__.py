"""Drift monitoring of the day's inputs and predictions against a reference window (Evidently)."""
