"""The command line: --help on every command, the embedded defaults, the live progress."""
import subprocess
import sys
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from flows.cli import LiveProgress, app
from pipeline.context import Window
from pipeline.definition import STAGES, RunOutcome

COMMANDS = ["generate", "daily", "backfill", "skip", "reprocess", "status", "checksums", "docs",
            "serve", "demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = CliRunner().invoke(app, [command, "--help"], prog_name="shopcast")
    assert result.exit_code == 0, result.output
    assert "Usage: shopcast " + command in " ".join(result.output.split())


def test_a_bad_date_is_refused_with_a_clear_message():
    result = CliRunner().invoke(app, ["backfill", "--start", "2025-13-01", "--end", "2025-01-02"])
    assert result.exit_code != 0 and "--start" in result.output


def test_the_embedded_defaults_send_no_telemetry_and_wait_for_the_server():
    """An offline laptop must not log 'Failed to send telemetry' errors, and a busy one must
    not give up on the local server's first start."""
    code = ("import flows; from prefect.settings import get_current_settings as s; "
            "print(s().server.analytics_enabled, s().server.ephemeral.startup_timeout_seconds)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert out.stdout.split() == ["False", "120"], out.stderr


def test_live_progress_counts_days_done_of_the_total():
    days = tuple(date(2025, 1, 1) + timedelta(days=i) for i in range(3))
    outcome = RunOutcome(list(days))
    progress = LiveProgress()
    with progress:
        for stage in STAGES:
            progress(None, stage, Window(days), outcome)
    task = progress.progress.tasks[0]
    assert (task.completed, task.total) == (3, 3)


def test_the_pipeline_logs_at_info_under_the_flows():
    """Prefect copies its handlers onto the "shopcast" logger, not a level: without one the
    root's WARNING drops every line of the stages (seen in make demo)."""
    import logging

    import flows  # noqa: F401

    assert logging.getLogger("shopcast").getEffectiveLevel() == logging.INFO
