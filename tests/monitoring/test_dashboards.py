"""The Grafana dashboards: the committed JSON is what the code builds, and after real pipeline runs (the anomaly DAG
through `airflow dags test`: one promotion, one forced run staged by its canary, one refused by its gate) every panel's
query returns a series in a real Prometheus that scrapes the Pushgateway, and every alert rule evaluates."""

import json
import os
import shutil
import time

import httpx
import pytest

from nivesh_platform import prometheus as servers
from nivesh_platform.dashboards import BOARDS, DASHBOARDS_DIR, board
from nivesh_platform.embedded import migrate_metadata_db, run_dag
from nivesh_platform.services import free_port
from nivesh_platform.state import EmbeddedState

DAG_ID, MODEL = "anomaly_detector_training", "anomaly_detector"


def test_the_committed_dashboards_are_what_the_code_builds():
    committed = {path.stem: json.loads(path.read_text()) for path in DASHBOARDS_DIR.glob("*.json")}
    assert committed == {uid: board(uid) for uid in BOARDS}, "run make dashboards-json and commit the result"


def test_every_panel_says_what_it_answers_here_and_in_the_readme():
    readme = (DASHBOARDS_DIR.parents[2] / "README.md").read_text()
    for uid in BOARDS:
        for panel in board(uid)["panels"]:
            assert len(panel["description"]) > 60, panel["title"]
            assert [target["datasource"]["type"] for target in panel["targets"]] == ["prometheus"]
            assert f"- *{panel['title']}*: " in readme, panel["title"]


@pytest.fixture(scope="module")
def monitored_runs(tmp_path_factory, sample_data):
    """A Pushgateway and a Prometheus scraping it every second, and the anomaly DAG run twice against them."""
    if missing := servers.missing_binaries():
        if os.environ.get("NIVESH_REQUIRE_PROMETHEUS") == "1":
            pytest.fail(f"NIVESH_REQUIRE_PROMETHEUS=1 but no {', '.join(missing)}")
        pytest.skip(f"no {', '.join(missing)}: {servers.INSTALL_HINT}")
    root = tmp_path_factory.mktemp("monitored")
    with (
        servers.pushgateway(free_port(), root / "pushgateway", root) as gateway,
        servers.prometheus(free_port(), gateway, root / "prometheus", root, interval_s=1) as prometheus,
    ):
        state = EmbeddedState(root / "state")
        state.prepare()
        data = state.data_dir / "anomaly" / "transactions.csv"
        data.parent.mkdir(parents=True)
        shutil.copy(sample_data(MODEL), data)
        environment = state.environment(dict(os.environ)) | {"AIRFLOW_VAR_NIVESH_PUSHGATEWAY_URL": gateway}
        migrate_metadata_db(state, environment)
        promoted = run_dag(state, DAG_ID, environment)
        staged = run_dag(state, DAG_ID, environment, {"force": True})  # anomaly's canary: v2 becomes staging
        refused = run_dag(state, DAG_ID, environment, {"force": True, "min_recall": 0.999})
        assert promoted.succeeded and staged.succeeded, promoted.log_file.read_text()[-3000:]
        assert not refused.succeeded  # the gate failed the run; production kept
        yield prometheus


def series(prometheus: str, query: str, timeout_s: float = 30) -> list[dict]:
    """The query's result once Prometheus has scraped something for it (it scrapes every second)."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": query}, timeout=10).json()
        assert answer["status"] == "success", answer
        if answer["data"]["result"] or time.monotonic() > deadline:
            return answer["data"]["result"]
        time.sleep(1)


@pytest.mark.slow
@pytest.mark.parametrize(
    "panel", [(uid, panel) for uid, (_, panels) in BOARDS.items() for panel in panels], ids=lambda p: p[1].title
)
def test_every_panel_shows_the_runs(monitored_runs, panel):
    uid, spec = panel
    assert series(monitored_runs, spec.query), f"{uid}: {spec.title}: no series for {spec.query}"


@pytest.mark.slow
def test_what_the_runs_pushed_is_what_they_did(monitored_runs):
    outcome = series(monitored_runs, f'nivesh_pipeline_outcome{{model="{MODEL}"}}')
    assert [(s["metric"]["outcome"], s["metric"]["step"]) for s in outcome] == [("gate_failed", "evaluate_model")]
    assert series(monitored_runs, f'nivesh_production_version{{model="{MODEL}"}}')[0]["value"][1] == "1"
    assert series(monitored_runs, f'nivesh_staging_version{{model="{MODEL}"}}')[0]["value"][1] == "2"
    refused = series(monitored_runs, f'nivesh_step_status{{model="{MODEL}",step="evaluate"}}')
    assert [s["metric"]["status"] for s in refused] == ["gate_failed"]


@pytest.mark.slow
def test_every_alert_rule_evaluates(monitored_runs):
    deadline = time.monotonic() + 30
    while True:
        groups = httpx.get(f"{monitored_runs}/api/v1/rules", timeout=10).json()["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        if rules and all(rule.get("lastEvaluation", "").startswith("2") for rule in rules):
            break
        assert time.monotonic() < deadline, rules
        time.sleep(1)
    assert len(rules) == 5 and {rule["health"] for rule in rules} == {"ok"}, rules
