"""`make ui` for real, started once for this module: Airflow's components and the MLflow UI on a state dir of small
data, answered through Airflow's REST API, a real browser and `make publish-data`, then stopped with Ctrl-C.

Runs overlap as they would for a team: the credit run that waits for approval and the anomaly run that new data
starts are begun with the UI, while the browser triggers the NER DAG. Each test reads only its own runs.
"""

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import httpx
import psutil
import pytest
from mlflow import MlflowClient

from embedded_state import PLATFORM, start_ui, state_with_data
from nivesh_contract.catalog import MODELS, model_named
from nivesh_contract.names import TRAINING_POOL
from nivesh_platform.services import ANSWER_AFTER_S, APPROVE, AirflowApi
from nivesh_platform.state import EmbeddedState
from quick_credit import QUICK_CREDIT_CONF

pytestmark = [pytest.mark.slow, pytest.mark.airflow, pytest.mark.timeout(1500)]
FAKE_KUBECTL = Path(__file__).parents[1] / "cluster" / "fake_kubectl.py"

CREDIT_DAG, APPROVAL = "credit_risk_training", "approve_promotion"
APPROVAL_CONF = {"require_approval": True, "force": True, **QUICK_CREDIT_CONF}
ANOMALY_DAG = "anomaly_detector_training"
BROWSER_DAG, BROWSER_MODEL = "financial_ner_training", "financial_ner"
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


@dataclass
class Ui:
    state: EmbeddedState
    process: subprocess.Popen
    output: Path
    airflow: AirflowApi
    airflow_port: int
    mlflow_port: int
    started: datetime  # when the runs below were started
    rejected_run: str  # the credit runs that ask for approval, started with the UI: one is rejected,
    approved_run: str  # the other approved (they train at once, so which registers v1 is not known)
    published: Path  # the anomaly data published as an asset event with the UI's start
    published_said: str  # what `make publish-data` said
    starting: datetime  # just before `make ui` was started

    @property
    def mlflow_url(self) -> str:
        printed = next(line for line in self.output.read_text().splitlines() if line.startswith("MLflow UI:"))
        return printed.split()[-1]


def left_with_past_next_runs(state) -> None:
    """The state dir as a `make run` of last week leaves it: every DAG's stored next scheduled run is a past slot (a
    scheduler that starts before the DAGs are parsed again starts a run for it at once)."""
    environment = state.environment(dict(os.environ))
    for command in (["airflow", "db", "migrate"], ["airflow", "dags", "reserialize"]):
        subprocess.run(command, env=environment, check=True, capture_output=True)
    columns = ("next_dagrun", "next_dagrun_create_after", "next_dagrun_data_interval_start")
    columns += ("next_dagrun_data_interval_end",)
    with sqlite3.connect(state.airflow_home / "airflow.db") as db:
        for column in columns:
            a_week_earlier = f"strftime('%Y-%m-%d %H:%M:%f000', {column}, '-7 days')"
            db.execute(f"UPDATE dag SET {column} = {a_week_earlier} WHERE {column} IS NOT NULL")
        (past,) = db.execute("SELECT count(*) FROM dag WHERE next_dagrun_create_after < datetime('now')").fetchone()
    # each model's training DAG, its refresh DAG (paused: no NIVESH_SOURCE_DB here), its rollout DAG, and the master
    staged = sum(1 for model in MODELS if model.rollout.staged)
    assert past == len(MODELS) + sum(1 for model in MODELS if model.source) + staged + 1


def publish(state: EmbeddedState, airflow: AirflowApi) -> tuple[Path, str]:
    """`make publish-data` of a copy of the anomaly data: the file and what the command said."""
    published = state.data_dir / "anomaly" / "published.csv"
    shutil.copy(state.data_dir / model_named("anomaly_detector").data_file, published)
    command = [PLATFORM, "publish-data", "anomaly_detector", str(published), "--airflow-url", airflow.url]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return published, completed.stdout.strip()


@pytest.fixture(scope="module")
def ui(tmp_path_factory, sample_data) -> Ui:
    root = tmp_path_factory.mktemp("make-ui")
    state = state_with_data(root / "state", sample_data)
    left_with_past_next_runs(state)
    output = root / "ui.out"
    starting = datetime.now(UTC)
    process, airflow_port, mlflow_port = start_ui(state, output)
    try:
        airflow = AirflowApi(f"http://127.0.0.1:{airflow_port}")
        started = datetime.now(UTC)
        rejected_run, approved_run = (airflow.trigger(CREDIT_DAG, APPROVAL_CONF) for _ in range(2))
        published, said = publish(state, airflow)
        runs = (started, rejected_run, approved_run)
        yield Ui(state, process, output, airflow, airflow_port, mlflow_port, *runs, published, said, starting)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(120)


def test_it_says_where_both_uis_are_and_how_to_log_in(ui):
    said = ui.output.read_text()
    assert "login admin / admin" in said
    assert ui.mlflow_url == f"http://127.0.0.1:{ui.mlflow_port}/#/experiments"
    assert 'until you click "Model training" at its top left once: the browser remembers it' in said


def test_everything_it_started_listens_on_loopback_only(ui):
    """admin/admin and the task logs must not be reachable from the network: every listening socket of every
    process `make ui` started (Airflow's components and their workers, the MLflow UI) is on 127.0.0.1 or ::1."""
    started = psutil.Process(ui.process.pid)
    listening = set()
    for process in [started, *started.children(recursive=True)]:
        with suppress(psutil.NoSuchProcess):
            connections = process.net_connections("inet")
            name = " ".join(process.cmdline()[:3])
            listening |= {(name, c.laddr.ip, c.laddr.port) for c in connections if c.status == psutil.CONN_LISTEN}
    assert {port for *_, port in listening} >= {ui.airflow_port, ui.mlflow_port}
    assert all(ip in ("127.0.0.1", "::1") for _, ip, _ in listening), sorted(listening)


def test_the_mlflow_ui_is_one_server_process_and_no_job_runner(ui):
    """MLflow's defaults start 15 processes (four workers, a job runner and its consumers) and 3.2 GB for one
    person's UI."""
    started = psutil.Process(ui.process.pid).children(recursive=True)
    (mlflow_ui,) = [
        process for process in started if [Path(arg).name for arg in process.cmdline()[1:3]] == ["mlflow", "ui"]
    ]
    under_it = [" ".join(process.cmdline()) for process in mlflow_ui.children(recursive=True)]
    assert len(under_it) == 1 and "uvicorn" in under_it[0], under_it


def test_train_steps_share_a_pool_of_one_slot_per_core(ui):
    assert ui.airflow.call("GET", f"/pools/{TRAINING_POOL}").json()["slots"] == os.cpu_count()


# ---- make trigger, against this Airflow as the cluster's (kubectl stood in for: tests/cluster/fake_kubectl.py) -----


def cluster_trigger(ui, dag_id: str, *options: str, tmp_path: Path) -> subprocess.CompletedProcess:
    kubectl = tmp_path / "bin" / "kubectl"
    kubectl.parent.mkdir(parents=True)
    kubectl.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE_KUBECTL} "$@"\n')
    kubectl.chmod(0o755)
    environment = os.environ | {
        "PATH": f"{kubectl.parent}:{os.environ['PATH']}",
        "FAKE_CLUSTER_SERVICES": json.dumps({"airflow-api-server": ui.airflow_port}),
    }
    command = [PLATFORM, "cluster", "trigger", dag_id, *options]
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120)


def test_make_trigger_names_a_dag_airflow_does_not_have_and_an_http_error_in_one_line(ui, tmp_path):
    unknown = cluster_trigger(ui, "credit_risk_trainig", tmp_path=tmp_path / "unknown")
    assert unknown.returncode == 2
    (line,) = unknown.stderr.strip().splitlines()
    assert "no DAG credit_risk_trainig in the cluster's Airflow; its pipeline DAGs: master_training_pipeline" in line
    refused = cluster_trigger(ui, CREDIT_DAG, "--conf", '{"tune_trials": -1}', tmp_path=tmp_path / "refused")
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert f"POST /dags/{CREDIT_DAG}/dagRuns: HTTP 400" in line


# ---- approval before production: the credit run waits at its human-in-the-loop task ---------------------------


def wait_for_approval_request(airflow: AirflowApi, run_id: str, timeout_s: float = 900) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states = airflow.task_states(CREDIT_DAG, run_id)
        if states.get(APPROVAL) == "awaiting_input":
            return airflow.call(
                "GET", f"/dags/{CREDIT_DAG}/dagRuns/{run_id}/taskInstances/{APPROVAL}/-1/hitlDetails"
            ).json()
        assert airflow.run_state(CREDIT_DAG, run_id) in ("queued", "running"), states
        time.sleep(5)
    raise AssertionError(f"{APPROVAL} did not ask within {timeout_s}s")


def answer(airflow: AirflowApi, run_id: str, option: str) -> None:
    time.sleep(ANSWER_AFTER_S)  # a person reads the request first (the Airflow 3.3.2 race in services.py)
    path = f"/dags/{CREDIT_DAG}/dagRuns/{run_id}/taskInstances/{APPROVAL}/-1/hitlDetails"
    airflow.call("PATCH", path, json={"chosen_options": [option], "params_input": {}})


def test_approval_through_the_rest_api_reject_keeps_production_and_approve_promotes(ui):
    airflow, client = ui.airflow, MlflowClient(ui.state.tracking_uri)
    request = wait_for_approval_request(airflow, ui.rejected_run)
    rejected_version = airflow.xcom(CREDIT_DAG, ui.rejected_run, "register_model")["version"]
    assert request["subject"] == "Promote credit_risk_scorer to production?"
    assert request["options"] == ["Approve", "Reject"] and request["defaults"] == ["Reject"]
    body = request["body"]
    assert f"**credit_risk_scorer v{rejected_version}**" in body and "**validate_fairness**: passed" in body
    assert "- test_roc_auc " in body and "disparate_impact_ratio" in body
    assert "would be promoted: no production version yet" in body
    asked = ui.state.notification_file.read_text()  # the team hears of it, with the request and where to answer
    assert "[nivesh] credit_risk_training: approval needed" in asked and "would be promoted" in asked
    where = f"Answer at task approve_promotion of http://127.0.0.1:{ui.airflow_port}/dags/credit_risk_training/runs/"
    assert where in asked
    answer(airflow, ui.rejected_run, "Reject")
    assert airflow.wait_for_run(CREDIT_DAG, ui.rejected_run, timeout_s=300) == "success"
    states = airflow.task_states(CREDIT_DAG, ui.rejected_run)
    assert states["deploy_to_production"] == states["smoke_test_production"] == "skipped"
    assert not client.get_registered_model("credit_risk_scorer").aliases.get("production")
    rejected = airflow.xcom(CREDIT_DAG, ui.rejected_run, "send_notification")["outcome"]
    assert rejected == (
        f"credit_risk_scorer: no production version yet: candidate v{rejected_version} rejected by admin at "
        "approve_promotion"
    )

    # the other run approved as `make smoke` approves on the cluster: every open request made since it started
    answered = []

    def approve() -> None:
        answered.extend(airflow.answer_requests(ui.started, APPROVE))

    assert airflow.wait_for_run(CREDIT_DAG, ui.approved_run, timeout_s=900, each_poll=approve) == "success"
    approved_version = airflow.xcom(CREDIT_DAG, ui.approved_run, "register_model")["version"]
    assert {approved_version, rejected_version} == {1, 2}
    assert [request["task_instance"]["dag_run_id"] for request in answered] == [ui.approved_run]
    assert f"**credit_risk_scorer v{approved_version}**" in answered[0]["body"]
    assert client.get_model_version_by_alias("credit_risk_scorer", "production").version == approved_version
    approved = airflow.xcom(CREDIT_DAG, ui.approved_run, "send_notification")["outcome"]
    assert f"credit_risk_scorer: promoted v{approved_version}" in approved and "approved by admin" in approved
    assert "smoke test" in approved


# ---- first contact in a real browser ----------------------------------------------------------------------------


def test_a_dag_triggered_with_the_trigger_button_leads_to_its_version_in_mlflow(ui, tmp_path):
    """Log in, see the DAG list, trigger a model DAG with its default params, then find its version, the version's
    link back to the Airflow run and the experiment's runs in MLflow's pages (Debian's Chromium, Playwright)."""
    sync_playwright = _browser_or_skip()
    airflow_url = f"http://127.0.0.1:{ui.airflow_port}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            run_id = _trigger_with_defaults(page, airflow_url)
            assert ui.airflow.wait_for_run(BROWSER_DAG, run_id, timeout_s=900) == "success"
            root = ui.mlflow_url.split("/#/")[0]
            _registry_shows_the_version(page, root)
            _the_version_links_the_airflow_run_that_trained_it(page, airflow_url, run_id)
            _experiment_shows_its_training_runs(page, root)
        finally:
            page.screenshot(path=str(tmp_path / "last-page.png"))
            browser.close()


def _browser_or_skip():
    """Playwright's sync API, or a skip saying what is missing (a failure under NIVESH_REQUIRE_BROWSER=1, as in
    `.ci/run`, which installs Debian's Chromium: Playwright never downloads a browser here)."""
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


def _trigger_with_defaults(page, airflow_url: str) -> str:
    """Log in, see the DAG list, open the DAG, trigger it with its default params; the new run's id."""
    page.goto(f"{airflow_url}/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "admin")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{airflow_url}/", timeout=60_000)  # signed in: back at the home page
    page.goto(f"{airflow_url}/dags")
    page.get_by_text(BROWSER_DAG).first.wait_for(timeout=60_000)
    # the schedule column shows the data asset; the weekly time is the DAG's tag (Airflow shows a few tags)
    page.get_by_text("(UTC) or on new data").first.wait_for(timeout=30_000)
    page.goto(f"{airflow_url}/dags/{BROWSER_DAG}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog").filter(has_text=f"Trigger Dag - {BROWSER_DAG}")
    dialog.get_by_text("data_path").wait_for()  # the run parameters, all at their defaults
    trigger = dialog.get_by_role("button", name="Trigger")
    assert trigger.is_enabled(), "the defaults do not validate: the form refuses to trigger"
    trigger.click()
    page.wait_for_url(f"**/dags/{BROWSER_DAG}/runs/*", timeout=60_000)
    return page.url.rsplit("/runs/", 1)[1]


def _registry_shows_the_version(page, mlflow_root: str) -> None:
    page.goto(f"{mlflow_root}/#/models")
    page.get_by_text(BROWSER_MODEL).first.wait_for(timeout=60_000)
    page.goto(f"{mlflow_root}/#/models/{BROWSER_MODEL}/versions/1")
    description = page.get_by_text("Gates: evaluate passed").first
    description.wait_for(timeout=60_000)
    assert "First candidate for production" in description.inner_text()


def _the_version_links_the_airflow_run_that_trained_it(page, airflow_url: str, run_id: str) -> None:
    """One click from the registered version (the page left open) to the Airflow run's page (MLflow opens links of
    a description in a new tab: followed here in the same one)."""
    href = page.get_by_role("link", name="Airflow run").first.get_attribute("href")
    expected = f"{airflow_url}/dags/{BROWSER_DAG}/runs/"
    assert href.startswith(expected) and unquote(href.rsplit("/", 1)[1]) == unquote(run_id)
    page.goto(href)
    page.get_by_text(unquote(run_id)).first.wait_for(timeout=60_000)


def _experiment_shows_its_training_runs(page, mlflow_root: str) -> None:
    """As `make ui` tells a person: the printed list, one click on "Model training", then a click on the model's
    experiment lands on its runs, named after the Airflow run.

    MLflow 3.17's UI takes the view from the URL or the browser's stored choice (its sidebar switch), not from the
    experiment's kind tag, which is still set for the UIs that read it (see services.MLFLOW_VIEW_HINT).
    """
    experiment = MlflowClient(mlflow_root).get_experiment_by_name(f"nivesh/{BROWSER_MODEL}")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    page.goto(f"{mlflow_root}/#/experiments")
    page.get_by_text("Model training", exact=True).first.click()
    page.get_by_role("link", name=f"nivesh/{BROWSER_MODEL}", exact=True).click()
    page.get_by_text(f"{BROWSER_MODEL}_manual__").first.wait_for(timeout=60_000)
    assert "/runs" in page.url and not page.get_by_text("Detect Issues").count()


# ---- new data published as an event of the model's data asset ---------------------------------------------------


def asset_triggered_run(airflow: AirflowApi, dag_id: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs = airflow.call("GET", f"/dags/{dag_id}/dagRuns", params={"run_type": "asset_triggered"}).json()
        if runs["dag_runs"]:
            (run,) = runs["dag_runs"]
            return run
        time.sleep(3)
    raise AssertionError(f"no asset-triggered run of {dag_id} after {timeout_s}s")


def test_published_data_starts_its_dag_on_that_file_and_the_mlflow_ui_serves_its_version(ui):
    said = ui.published_said
    assert said.startswith(f"published {ui.published} as event ") and said.endswith(
        "of asset anomaly_detector_training_data; it starts anomaly_detector_training"
    )
    data_run = asset_triggered_run(ui.airflow, ANOMALY_DAG, timeout_s=120)["dag_run_id"]
    assert ui.airflow.wait_for_run(ANOMALY_DAG, data_run, timeout_s=900) == "success"
    path = f"/dags/{ANOMALY_DAG}/dagRuns/{data_run}/taskInstances/validate_data"
    assert str(ui.published) in ui.airflow.call("GET", path).json()["rendered_fields"]["arguments"]
    assert ui.airflow.xcom(ANOMALY_DAG, data_run, "validate_data")["path"] == str(ui.published)
    mlflow = MlflowClient(f"http://127.0.0.1:{ui.mlflow_port}")  # the MLflow UI's own server
    production = mlflow.get_model_version_by_alias("anomaly_detector", "production")
    assert int(production.version) == 1
    assert mlflow.get_run(production.run_id).data.metrics["test_recall"] > 0


def test_prometheus_scrapes_what_the_published_data_s_run_pushed(ui):
    """Where Debian's Prometheus is installed, `make ui` starts it and the Pushgateway, and the pipelines push."""
    said = next(line for line in ui.output.read_text().splitlines() if line.startswith("Prometheus: "))
    if "not started" in said:
        if os.environ.get("NIVESH_REQUIRE_PROMETHEUS") == "1":
            pytest.fail(f"NIVESH_REQUIRE_PROMETHEUS=1 but {said}")
        pytest.skip(said)
    prometheus = said.split()[1].removesuffix("/alerts")
    data_run = asset_triggered_run(ui.airflow, ANOMALY_DAG, timeout_s=120)["dag_run_id"]
    assert ui.airflow.wait_for_run(ANOMALY_DAG, data_run, timeout_s=900) == "success"
    query = 'nivesh_pipeline_outcome{model="anomaly_detector",outcome="promoted"}'
    deadline = time.monotonic() + 60  # Prometheus scrapes every 15 s
    while not (found := httpx.get(f"{prometheus}/api/v1/query", params={"query": query}).json()["data"]["result"]):
        assert time.monotonic() < deadline, f"no {query} in {prometheus}"
        time.sleep(3)
    assert found[0]["metric"]["step"] == "deploy_to_production"


def test_schedules_are_on_yet_no_past_weekly_slot_started_a_run(ui):
    """Each DAG's stored next run was past at start (left_with_past_next_runs). An hourly rollout DAG may have
    reached its next slot since: a run for a slot after the start is a schedule working, not a past slot."""
    scheduled = ui.airflow.call("GET", "/dags/~/dagRuns", params={"run_type": "scheduled"}).json()["dag_runs"]
    past = [run["dag_run_id"] for run in scheduled if datetime.fromisoformat(run["logical_date"]) < ui.starting]
    assert past == [], past


def test_ctrl_c_stops_airflow_and_the_mlflow_ui(ui):
    ui.process.send_signal(signal.SIGINT)
    exit_code = ui.process.wait(60)
    assert exit_code == 0 and "stopped Airflow and the MLflow UI" in ui.output.read_text()
    for port in (ui.airflow_port, ui.mlflow_port):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2)
