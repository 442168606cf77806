"""The review page in a real browser: headless Chromium from Debian's packages, driven by
Selenium through Debian's chromedriver (`make test` installs both). The index opens without
console errors, every link resolves, the charts and an Evidently report render, and a
screenshot is kept in the test's temporary folder."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tests.monitoring.conftest import DAY

pytestmark = [pytest.mark.slow, pytest.mark.dbt, pytest.mark.browser]
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    assert not missing, f"{missing} missing: apt-get install chromium chromium-driver (make test does)"
    options = Options()
    options.binary_location = str(CHROMIUM)
    # no sandbox as root; no background traffic: the machine has no network and the page needs none
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,2200", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def wait_for(driver, css: str, count: int = 1, seconds: float = 30):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, seconds).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, css)) >= count)
    return driver.find_elements(By.CSS_SELECTOR, css)


def test_the_index_opens_its_links_resolve_and_its_charts_render(monitored, browser, tmp_path):
    from selenium.webdriver.common.by import By

    index = monitored.reports_dir / "index.html"
    browser.get(index.as_uri())
    charts = wait_for(browser, ".js-plotly-plot .main-svg", count=4)
    fans = wait_for(browser, ".fan .js-plotly-plot .main-svg")
    assert len(charts) >= 4 and fans
    rows = browser.find_elements(By.CSS_SELECTOR, "#days tr")
    assert len(rows) == len(DAY) + 1  # a header, then one row per run date
    assert str(DAY[-1]) in rows[1].text and "complete" in rows[1].text
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a[href]")]
    assert any(h.endswith("drift_item_days.html") for h in links)
    for href in links:
        url = urlparse(href)
        assert url.scheme == "file", href  # everything opens from the disk
        assert Path(unquote(url.path)).exists(), f"{href} does not resolve"
    assert errors(browser) == []
    shot = tmp_path / "index.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000


def test_the_newest_drift_report_renders(monitored, browser):
    report = monitored.reports_dir / f"run_date={DAY[-1]}" / "drift_item_days.html"
    browser.get(report.as_uri())
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 60).until(
        lambda d: "price_ratio" in d.execute_script("return document.body.innerText"))
    assert errors(browser) == []


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_workspace_has_a_snapshot_per_scored_day_and_evidently_ui_serves_it(monitored):
    import json
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    from monitoring.workspace import open_project

    ws, project = open_project(monitored.evidently_workspace, "synthetic")
    dates = sorted(ws.get_run(project.id, s).metadata["run_date"] for s in ws.list_runs(project.id))
    assert dates == sorted(set(dates))  # one per run date: a rerun replaces its day
    assert str(DAY[-1]) in dates and str(DAY[-2]) in dates  # the daily runs: every day
    port = free_port()
    ui = subprocess.Popen([str(Path(sys.executable).with_name("shopcast")), "monitor", "ui", "--port", str(port)],
                          env={**os.environ, "SHOPCAST_DATA_DIR": str(monitored.root)},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline, projects = time.monotonic() + 90, None
        while time.monotonic() < deadline and projects is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/projects", timeout=5) as r:
                    projects = json.load(r)
            except OSError:
                assert ui.poll() is None, ui.stdout.read().decode(errors="replace")[-2000:]
                time.sleep(1)
        assert projects is not None, "evidently ui did not answer"
        assert [p["name"] for p in projects] == ["synthetic"]
        # the dashboard's series: the lines of every run date with a snapshot, as plotted
        from monitoring.workspace import FACT_METRIC

        query = {"series_filter": [{"tags": [], "metadata": {}, "metric_labels": {"column": "lines"},
                                    "metric": f"evidently:metric_v2:{FACT_METRIC}"}]}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v2/snapshots/{projects[0]['id']}/data_series_batch",
            data=json.dumps(query).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            series = json.load(r)
        (lines,) = series["series"]
        assert len(lines["values"]) == len(dates) and all(v > 0 for v in lines["values"])
    finally:
        ui.terminate()
        ui.wait(timeout=30)
