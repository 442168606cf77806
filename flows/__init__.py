"""Orchestration only: Prefect flows that run the pipeline's stages (pipeline/definition.py) as
tasks, and the command line. The embedded defaults are set here, before Prefect is imported: no
telemetry from an offline laptop, the pipeline's own log lines in the flow run's log, and time
for the local server to start (its first start migrates a new database, which takes more than
Prefect's 20 s on a busy 2-core machine)."""
import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "shopcast")
# stages run outside a flow (tests, the benchmark) log locally, without a warning per line
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

import logging  # noqa: E402 - after the environment above, which Prefect reads at import

# The pipeline logs under "shopcast" (pipeline/context.py); Prefect copies its handlers onto it
# (PREFECT_LOGGING_EXTRA_LOGGERS) but not a level, and the root's WARNING would drop every line.
logging.getLogger("shopcast").setLevel(logging.INFO)
