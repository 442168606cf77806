"""Orchestration only: Prefect flows that run the pipeline's stages (pipeline/definition.py) as
tasks, and the command line. The embedded defaults are set here, before Prefect is imported:
no telemetry from an offline laptop, and the pipeline's own log lines in the flow run's log."""
import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "shopcast")
