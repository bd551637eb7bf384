"""First contact in a real browser: `make ui`, Debian's Chromium driven by Playwright (no browser download).

Logs in to Airflow, opens the DAG list, triggers a model DAG with the Trigger button and its default params,
waits for the run, then opens MLflow's registered models, the new version's page and the experiment's runs.
Skipped where Chromium or Playwright is missing; `.ci/run` installs both and sets NIVESH_REQUIRE_BROWSER=1.
"""

import os
import shutil
import signal
from urllib.parse import unquote

import pytest
from mlflow import MlflowClient

from embedded_state import start_ui, state_with_data
from nivesh_platform.services import AirflowApi

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

CHROMIUM = os.environ.get("NIVESH_CHROMIUM", "/usr/bin/chromium")
# Headless, and quiet on a closed network (Chromium's background fetches would be refused, many at a time).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DAG_ID = "anomaly_detector_training"
MODEL = "anomaly_detector"


def _browser_or_skip():
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing, sync_playwright = "playwright is not installed", None
    if not shutil.which(CHROMIUM):
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if missing and os.environ.get("NIVESH_REQUIRE_BROWSER") == "1":
        pytest.fail(f"NIVESH_REQUIRE_BROWSER=1 but {missing}")
    if missing:
        pytest.skip(missing)
    return sync_playwright


@pytest.fixture
def ui(tmp_path, sample_data):
    """`nivesh-platform ui` on small data: (Airflow URL, MLflow URL as printed); stopped with Ctrl-C after."""
    state = state_with_data(tmp_path / "state", sample_data)
    output = tmp_path / "ui.out"
    process, airflow_port, _ = start_ui(state, output)
    try:
        printed = next(line for line in output.read_text().splitlines() if line.startswith("MLflow UI:"))
        yield f"http://127.0.0.1:{airflow_port}", printed.split()[-1]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)


def test_trigger_a_model_dag_from_the_ui_and_find_its_version_in_mlflow(ui, tmp_path):
    sync_playwright = _browser_or_skip()
    airflow_url, mlflow_url = ui
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            run_id = _trigger_with_defaults(page, airflow_url)
            assert AirflowApi(airflow_url).wait_for_run(DAG_ID, run_id, timeout_s=900) == "success"
            _registry_shows_the_version(page, mlflow_url)
            _the_version_links_the_airflow_run_that_trained_it(page, airflow_url, run_id)
            _experiment_shows_its_training_runs(page, mlflow_url)
        finally:
            page.screenshot(path=str(tmp_path / "last-page.png"))
            browser.close()


def _trigger_with_defaults(page, airflow_url: str) -> str:
    """Log in, see the DAG list, open the DAG, trigger it with its default params; the new run's id."""
    page.goto(f"{airflow_url}/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "admin")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{airflow_url}/", timeout=60_000)  # signed in: back at the home page
    page.goto(f"{airflow_url}/dags")
    page.get_by_text(DAG_ID).first.wait_for(timeout=60_000)
    page.goto(f"{airflow_url}/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog").filter(has_text=f"Trigger Dag - {DAG_ID}")
    dialog.get_by_text("data_path").wait_for()  # the run parameters, all at their defaults
    trigger = dialog.get_by_role("button", name="Trigger")
    assert trigger.is_enabled(), "the defaults do not validate: the form refuses to trigger"
    trigger.click()
    page.wait_for_url(f"**/dags/{DAG_ID}/runs/*", timeout=60_000)
    return page.url.rsplit("/runs/", 1)[1]


def _registry_shows_the_version(page, mlflow_url: str) -> None:
    root = mlflow_url.split("/#/")[0]
    page.goto(f"{root}/#/models")
    page.get_by_text(MODEL).first.wait_for(timeout=60_000)
    page.goto(f"{root}/#/models/{MODEL}/versions/1")
    description = page.get_by_text("Gates: evaluate passed").first
    description.wait_for(timeout=60_000)
    assert "First candidate for production" in description.inner_text()


def _the_version_links_the_airflow_run_that_trained_it(page, airflow_url: str, run_id: str) -> None:
    """One click from the registered version (the page left open) to the Airflow run's page (MLflow opens links of
    a description in a new tab: followed here in the same one)."""
    href = page.get_by_role("link", name="Airflow run").first.get_attribute("href")
    assert href.startswith(f"{airflow_url}/dags/{DAG_ID}/runs/") and unquote(href.rsplit("/", 1)[1]) == unquote(run_id)
    page.goto(href)
    page.get_by_text(unquote(run_id)).first.wait_for(timeout=60_000)


def _experiment_shows_its_training_runs(page, mlflow_url: str) -> None:
    """The model's experiment in MLflow's "Model training" view: its runs, named after the Airflow run.

    MLflow 3.17's UI takes the view from the URL or the browser's own choice (its sidebar switch), not from the
    experiment's kind tag, which is still set for the UIs that read it.
    """
    root = mlflow_url.split("/#/")[0]
    experiment = MlflowClient(root).get_experiment_by_name(f"nivesh/{MODEL}")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    page.goto(f"{root}/#/experiments/{experiment.experiment_id}?workflowType=machine_learning")
    page.get_by_text(f"{MODEL}_manual__").first.wait_for(timeout=60_000)
    assert "/runs" in page.url and not page.get_by_text("Detect Issues").count()
