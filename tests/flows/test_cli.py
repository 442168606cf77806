"""The command line: --help on every command, the embedded defaults, the live progress."""
import subprocess
import sys
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from flows.cli import LiveProgress, StageTimes, app, print_stage_times
from pipeline.context import Window
from pipeline.definition import STAGES, RunOutcome

COMMANDS = ["generate", "daily", "backfill", "skip", "reprocess", "status", "checksums", "docs",
            "serve", "demo", "models list"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = CliRunner().invoke(app, [*command.split(), "--help"], prog_name="shopcast")
    assert result.exit_code == 0, result.output
    assert "Usage: shopcast " + command in " ".join(result.output.split())


def test_the_command_list_wraps_each_summary_as_one_sentence(monkeypatch):
    """A docstring's line breaks used to be kept in the list of commands, so summaries broke
    mid-sentence at whatever column the source wrapped them."""
    monkeypatch.setenv("COLUMNS", "240")
    result = CliRunner().invoke(app, ["--help"], prog_name="shopcast")
    assert "publish (a complete day reruns only when its inputs changed)" in result.output
    result = CliRunner().invoke(app, ["daily", "--help"], prog_name="shopcast")
    assert "YYYY-MM-DD" in result.output and "%Y" not in result.output


@pytest.mark.parametrize("args", [["backfill", "--start", "2025-03-05", "--end", "2025-03-01"],
                                  ["reprocess", "--start", "2025-03-05", "--end", "2025-03-01"],
                                  ["skip", "2025-03-05", "2025-03-01", "--reason", "x"]])
def test_a_range_given_backwards_is_refused_before_anything_runs(args):
    """It used to reach the flow and end in a traceback."""
    result = CliRunner().invoke(app, args, prog_name="shopcast")
    assert result.exit_code == 2 and "2025-03-01 is before the start 2025-03-05" in result.output


@pytest.mark.parametrize("option, said", [
    (["--cron", "61 2 * * *"], 'Invalid cron string: "61 2 * * *"'),
    (["--timezone", "Europe/Berln"], "unknown time zone 'Europe/Berln'")])
def test_serve_refuses_a_bad_schedule_before_serving(option, said):
    result = CliRunner().invoke(app, ["serve", *option], prog_name="shopcast")
    assert result.exit_code == 2 and said in " ".join(result.output.split())


def test_a_bad_date_is_refused_with_a_clear_message():
    result = CliRunner().invoke(app, ["backfill", "--start", "2025-13-01", "--end", "2025-01-02"])
    assert result.exit_code != 0 and "--start" in result.output


def test_an_unknown_stage_to_stop_at_is_refused_naming_the_stages():
    result = CliRunner().invoke(app, ["backfill", "--start", "2025-01-01", "--end", "2025-01-02",
                                      "--through", "dbt"])
    text = " ".join(result.output.split())
    assert result.exit_code != 0 and "--through" in text and "no stage ['dbt']" in text
    assert "transform" in text and "features" in text


def test_a_misspelt_setting_is_one_message_without_a_traceback(monkeypatch, capsys, tmp_path):
    from flows.cli import main

    monkeypatch.setenv("SHOPCAST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHOPCAST_RECOMMENDER__TWO_STAGES", "false")
    monkeypatch.delenv("SHOPCAST_TRACEBACK", raising=False)
    with pytest.raises(SystemExit) as stopped:
        main(["status"])
    err = capsys.readouterr().err
    assert stopped.value.code == 1
    assert "SHOPCAST_RECOMMENDER__TWO_STAGES: not a setting" in " ".join(err.split())
    assert "Traceback" not in err and "errors.pydantic.dev" not in err


def test_a_failed_day_is_one_message_and_a_bug_keeps_its_traceback(monkeypatch, capsys):
    import flows.cli as cli
    from pipeline.context import DayFailed

    def failing(error):
        def command(**_):
            raise error
        return command

    monkeypatch.delenv("SHOPCAST_TRACEBACK", raising=False)
    monkeypatch.setattr(cli, "app", failing(DayFailed("2025-03-01 failed the raw data gate [x]")))
    with pytest.raises(SystemExit) as stopped:
        cli.main([])
    assert stopped.value.code == 1
    assert "DayFailed: 2025-03-01 failed the raw data gate [x]" in capsys.readouterr().err
    monkeypatch.setenv("SHOPCAST_TRACEBACK", "1")
    with pytest.raises(DayFailed):
        cli.main([])
    monkeypatch.delenv("SHOPCAST_TRACEBACK")
    monkeypatch.setattr(cli, "app", failing(KeyError("a bug")))
    with pytest.raises(KeyError):
        cli.main([])


@pytest.mark.parametrize("command, said", [
    (["status"], "no warehouse at {data}/warehouse.duckdb: run a daily or backfill flow first"),
    (["checksums"], "nothing published at {data}/published: run a daily or backfill flow first"),
    (["models", "rollback", "forecaster"], "no warehouse at {data}/warehouse.duckdb"),
    (["monitor", "page"], "no warehouse at {data}/warehouse.duckdb"),
])
def test_a_data_directory_with_nothing_in_it_is_said_in_one_message(command, said, tmp_path,
                                                                    monkeypatch, capsys):
    """A first command on an empty (or mistyped) data directory: one message naming what is
    missing, not a FileNotFoundError traceback; and nothing is created there."""
    from flows.cli import main

    data = tmp_path / "data"
    monkeypatch.setenv("SHOPCAST_DATA_DIR", str(data))
    with pytest.raises(SystemExit) as stopped:
        main(command)
    err = " ".join(capsys.readouterr().err.split())
    assert stopped.value.code == 1 and said.format(data=data) in err and "Traceback" not in err
    assert not data.exists()


def test_a_first_daily_run_without_source_files_says_where_they_go(tmp_path):
    """The command as an operator runs it (its own process: no captured streams shared with
    other tests' Prefect handlers): one message, no traceback in the run's log either."""
    import os

    env = {**os.environ, "SHOPCAST_DATA_DIR": str(tmp_path / "data")}
    env.pop("SHOPCAST_TRACEBACK", None)
    out = subprocess.run([sys.executable, "-m", "flows.cli", "daily", "--date", "2025-03-01"],
                         capture_output=True, text=True, env=env, timeout=300)
    said = " ".join((out.stdout + out.stderr).split())
    assert out.returncode == 1 and "Traceback" not in said, said[-3000:]
    assert f"no file yet in {tmp_path / 'data'}/landing/synthetic" in said
    assert "shopcast generate" in said


@pytest.mark.parametrize("option", [["--days", "0"], ["--lines-per-day", "-5"]])
def test_generate_refuses_a_shop_it_cannot_make_naming_the_option(option, tmp_path, monkeypatch,
                                                                  capsys):
    from flows.cli import main

    monkeypatch.setenv("SHOPCAST_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(SystemExit) as stopped:
        main(["generate", *option])
    err = capsys.readouterr().err
    assert stopped.value.code == 1 and "Traceback" not in err
    assert option[0][2:].replace("-", "_") in err  # the field, as the shop file names it


def test_models_list_on_an_empty_data_directory_says_none_yet(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPCAST_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["models", "list"], prog_name="shopcast")
    assert result.exit_code == 0 and result.output.count("none yet") == 2


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


def test_live_progress_of_a_backfill_through_a_stage_counts_its_days_done_there():
    days = tuple(date(2025, 1, 1) + timedelta(days=i) for i in range(2))
    progress = LiveProgress("features")
    with progress:
        for stage in STAGES[:5]:
            progress(None, stage, Window(days), RunOutcome(list(days)))
    assert progress.progress.tasks[0].completed == 2


def test_the_demo_prints_one_line_per_stage_and_the_training_it_did(tmp_path, capsys):
    from flows import tasks
    from models import registry
    from models.forecaster.config import ForecasterConfig
    from models.forecaster.network import Forecaster
    from models.forecaster.train import TrainedForecaster

    config = ForecasterConfig(hidden=8, embedding=4)
    untrained = TrainedForecaster(model=Forecaster(2, config.hidden, config.embedding),
                                  config=config, categories=["a", "b"],
                                  train_start="2025-01-01", train_end="2025-03-01",
                                  data_checksum="x", metrics={"seconds": 12.5, "boosted_seconds": 2.0})

    runs: dict = {}
    with StageTimes.of(runs, "backfill") as times:
        assert times in tasks.LOCAL_OBSERVERS
        first, second = RunOutcome([]), RunOutcome([])
        first.stage_seconds, second.stage_seconds = {"ingest": 1.5, "publish": 2.0}, {"ingest": 1.0}
        for outcome in (first, second, first):
            times(None, STAGES[0], Window(()), outcome)
        registry.save(untrained, tmp_path)
    assert times not in tasks.LOCAL_OBSERVERS
    print_stage_times(runs, tmp_path)
    lines = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()
             if line.strip()}
    assert lines["ingest"] == ["2.5"] and lines["publish"] == ["2.0"] and lines["gate"] == ["0.0"]
    assert set(lines) >= {s.name for s in STAGES} | {"outside", "total", "training"}
    assert lines["training"] == ["14.5", "(1", "model)"]  # trees trained beside it count


def test_the_pipeline_logs_at_info_under_the_flows():
    """Prefect copies its handlers onto the "shopcast" logger, not a level: without one the
    root's WARNING drops every line of the stages (seen in make demo)."""
    import logging

    import flows  # noqa: F401

    assert logging.getLogger("shopcast").getEffectiveLevel() == logging.INFO


def test_a_read_only_data_directory_status_reads_it_a_run_is_refused_naming_it(tmp_path):
    """As another user on a folder they may only read (as root: dropped to nobody): status
    lists the days and says what was interrupted; a run is refused before it writes anything."""
    import os
    import shutil
    import stat
    import tempfile
    from pathlib import Path

    from domain.paths import REPO_ROOT
    from pipeline.settings import Settings
    from warehouse import db, ledger

    shared = Path(tempfile.mkdtemp(prefix="shopcast-ro-"))  # reachable by another user
    try:
        data, home = shared / "data", shared / "home"
        settings = Settings(data_dir=data)
        with db.writer(settings) as con:
            ledger.set_state(con, date(2025, 3, 1), ledger.DayState.complete, "monitor")
            ledger.set_state(con, date(2025, 3, 2), ledger.DayState.ingested, "promote")
        home.mkdir()
        for folder in (shared, home):
            folder.chmod(0o777 if folder == home else 0o755)
        for path in [data, *data.rglob("*")]:  # read-only for everyone but root
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) | 0o555
                       if path.is_dir() else 0o444)
        command = [str(Path(sys.executable).parent / "shopcast"), "status"]
        if os.geteuid() == 0:
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PREFECT_HOME": str(home / "prefect"),
               "SHOPCAST_DATA_DIR": str(data), "COLUMNS": "200"}
        done = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "2025-03-01  complete" in done.stdout
        assert "2025-03-02  ingested" in done.stdout and "interrupted after the promote stage" in done.stdout
        published = sorted(p.name for p in data.rglob("*"))
        # what every run does first (the flows' run context); Prefect is left out: its server
        # would need a writable home of its own
        build = "from pipeline.context import RunContext; RunContext.build()"
        refused = subprocess.run([*command[:-2], sys.executable, "-c", build], env=env,
                                 cwd=REPO_ROOT, capture_output=True, text=True)
        assert refused.returncode != 0
        assert f"{data}: not writable by this user" in refused.stdout + refused.stderr
        assert sorted(p.name for p in data.rglob("*")) == published  # nothing written
    finally:
        for path in [shared, *shared.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(shared)


def test_a_run_log_says_an_operator_error_in_one_line_and_keeps_a_bugs_traceback():
    """Prefect logs a failed flow's exception with its traceback; a failed day needs only its
    message (which names the exception), a bug keeps the traceback."""
    import logging

    from flows.cli import OperatorErrorsInOneLine
    from pipeline.context import DayFailed

    def record(exc):
        try:
            raise exc
        except Exception:
            import sys
            return logging.LogRecord("prefect.flow_runs", logging.ERROR, __file__, 1,
                                     "Encountered exception during execution: %r", (exc,),
                                     sys.exc_info())

    day, bug = record(DayFailed("no file x for 2026-01-01")), record(KeyError("oops"))
    assert OperatorErrorsInOneLine().filter(day) and OperatorErrorsInOneLine().filter(bug)
    assert day.exc_info is None and "DayFailed('no file x" in logging.Formatter().format(day)
    assert "Traceback" in logging.Formatter().format(bug)
