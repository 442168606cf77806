"""Orchestration: Prefect flows and the plain stage functions they wire together."""
