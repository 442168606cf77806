"""prefect.yaml names real flows: a daily deployment on a cron with a time zone, a manual backfill."""
import importlib

import yaml

from domain.paths import REPO_ROOT


def test_deployments_point_at_the_flows():
    spec = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert set(deployments) == {"daily", "backfill"}
    for d in deployments.values():
        path, fn = d["entrypoint"].split(":")
        flow = getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), fn)
        assert flow.name == d["name"]
        assert d["concurrency_limit"]["limit"] == 1
    (schedule,) = deployments["daily"]["schedules"]
    assert schedule["cron"] and schedule["timezone"] == "Europe/Berlin"
    assert deployments["backfill"]["schedules"] == []
    assert set(deployments["backfill"]["parameters"]) == {"start", "end", "force"}
