"""`make run` for real: Airflow's components on a state dir, the master pipeline triggered and followed through the
REST API, on a machine busy with something else: in `make test` this module runs beside test_make_ui.py (its own
Airflow running DAGs, a browser), one on each worker of the Airflow pass."""

import os
import re
import signal
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from embedded_state import PLATFORM, state_with_data, wait_for_line
from nivesh_contract.catalog import model_named
from scoring import ANSWERS, REQUESTS, answers_of_the_scoring_server

pytestmark = [pytest.mark.slow, pytest.mark.airflow]
MASTER = "master_training_pipeline"


def run_platform(*args: str, timeout_s: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`nivesh-platform ...`; on timeout it gets SIGTERM, so that it stops the Airflow it started."""
    process = subprocess.Popen(
        [PLATFORM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or dict(os.environ)
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.terminate()
        stdout, stderr = process.communicate(timeout=120)
        pytest.fail(f"nivesh-platform {' '.join(args)}: no result after {timeout_s}s\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def left_by_an_earlier_make_run(state) -> str:
    """A master run an earlier `make run` left running (say it crashed), on its DAG paused so that nothing moves it
    before the next `make run` starts; its run id."""
    environment = state.environment(dict(os.environ))
    commands = (["db", "migrate"], ["dags", "reserialize"], ["dags", "pause", MASTER], ["dags", "trigger", MASTER])
    for command in commands:
        subprocess.run(["airflow", *command], env=environment, check=True, capture_output=True)
    with sqlite3.connect(state.airflow_home / "airflow.db") as db:
        (run_id,) = db.execute("SELECT run_id FROM dag_run WHERE state = 'queued'").fetchone()
        db.execute("UPDATE dag_run SET state = 'running', start_date = queued_at WHERE run_id = ?", (run_id,))
    return run_id


def a_new_intent_with_few_examples(intents: Path, target: Path) -> str:
    """The intents with one of them cut to 3 examples, as a weekly extract gets a new intent; that intent."""
    examples = pd.read_json(intents, lines=True)
    scarce = examples["intent"].iloc[0]
    kept = examples[(examples["intent"] != scarce) | (examples.groupby("intent").cumcount() < 3)]
    kept.to_json(target, orient="records", lines=True)
    return scarce


@pytest.mark.timeout(2100)
def test_master_pipeline_with_two_models_failing_still_promotes_the_others(
    tmp_path, sample_data, credit_data, postgres
):
    """With the app's database (NIVESH_SOURCE_DB, empty): make run loads each data file into its table, each model's
    refresh DAG announces a snapshot of it, and the master's model DAGs train on those; a file that does not fit its
    table (credit without its target) and a snapshot validate refuses (intent) leave their model on its file."""
    without_target = tmp_path / "applications.csv"
    pd.read_csv(credit_data).drop(columns=["default"]).to_csv(without_target, index=False)
    scarce_intents = tmp_path / "intents.jsonl"
    scarce = a_new_intent_with_few_examples(sample_data("intent_classifier"), scarce_intents)
    state = state_with_data(
        tmp_path / "state", sample_data, credit_risk_scorer=without_target, intent_classifier=scarce_intents
    )
    orphan = left_by_an_earlier_make_run(state)

    completed = run_platform(
        "run", "--state-dir", str(state.root), timeout_s=1800, env=dict(os.environ, NIVESH_SOURCE_DB=postgres.url)
    )

    assert completed.returncode == 1, completed.stderr[-3000:]
    assert postgres.password not in completed.stdout + completed.stderr
    assert 'credit_risk_scorer: its data does not fit its table (null value in column "default"' in completed.stderr
    assert "intent_classifier_data_refresh: failed, nothing announced" in completed.stderr
    assert len(list((state.data_dir / "intent" / "quarantine").iterdir())) == 1
    assert f"an earlier make run did not finish; marked failed: {MASTER} run {orphan}" in completed.stderr
    with sqlite3.connect(state.airflow_home / "airflow.db") as db:
        (left_state,) = db.execute("SELECT state FROM dag_run WHERE run_id = ?", (orphan,)).fetchone()
        query = "SELECT task_id FROM task_instance WHERE run_id = ? AND task_id LIKE 'trigger_%' AND state = 'success'"
        triggered = db.execute(query, (orphan,)).fetchall()
    # Stopped, and it re-ran no model DAG. (Marked failed; Airflow's scheduler, in the same second, may then end a run
    # whose tasks were all marked skipped as "success": it did nothing either way.)
    assert left_state in ("failed", "success") and not triggered, (left_state, triggered)
    # progress while it runs: each model's steps as they finish, with seconds; then the slowest model
    assert re.search(r"anomaly_detector_training\.train_model: success \(\d+\.\d s\)", completed.stderr)
    assert "credit_risk_training.validate_data: failed" in completed.stderr
    assert "slowest model DAG: " in completed.stderr
    # a DAG's skipped tasks in DAG lines (the approval branch: anomaly needs no approval); those skipped together are
    # one line, those the scheduler skips a poll later another
    assert re.search(r"anomaly_detector_training: skipped \w+", completed.stderr), completed.stderr[-3000:]
    assert not re.search(r"anomaly_detector_training\.\w+: skipped", completed.stderr)
    summary = completed.stdout[completed.stdout.index("Nivesh training summary") :].splitlines()
    assert "master_training_pipeline run" in completed.stdout and "trigger_credit_risk" in completed.stdout
    credit_line = next(line for line in summary if line.startswith("- credit_risk_scorer"))
    assert "failed at step validate_data" in credit_line and "default" in credit_line
    intent_line = next(line for line in summary if line.startswith("- intent_classifier"))
    assert "failed at step validate_data" in intent_line and scarce in intent_line, intent_line
    anomaly_line = next(line for line in summary if line.startswith("- anomaly_detector"))
    assert "promoted v1" in anomaly_line and "no drift measured before training (no production model)" in anomaly_line

    for model in ("financial_ner", "spending_predictor"):
        assert "promoted v1" in next(line for line in summary if line.startswith(f"- {model}"))

    client = MlflowClient(state.tracking_uri)
    for model in ("anomaly_detector", "financial_ner", "spending_predictor"):
        production = client.get_model_version_by_alias(model, "production")
        assert int(production.version) == 1, model
        # trained on the snapshot its refresh DAG announced, not on the file it was loaded from
        (snapshot,) = (state.data_dir / model_named(model).data_folder / "snapshots").iterdir()
        trained_on = client.get_run(production.run_id).data.tags["nivesh.data.source"]
        assert trained_on.startswith(str(snapshot)), (model, trained_on)
        assert f"{model}_data_refresh: announced {trained_on} (" in completed.stderr
    for model in ("credit_risk_scorer", "intent_classifier"):
        assert not client.search_registered_models(f"name = '{model}'"), model
    served = ("anomaly_detector", "financial_ner", "spending_predictor")
    with ThreadPoolExecutor(len(served)) as servers:  # the three servers start side by side, not one by one
        answers = servers.map(
            lambda model: answers_of_the_scoring_server(state.tracking_uri, model, REQUESTS[model], tmp_path), served
        )
        for model, predictions in zip(served, answers, strict=True):
            assert predictions and set(predictions[0]) == ANSWERS[model], (model, predictions)
    notifications = state.notification_file.read_text()
    assert "credit_risk_training.validate_data failed" in notifications
    assert "intent_classifier_training.validate_data failed" in notifications
    assert "Nivesh training summary" in notifications


@pytest.mark.timeout(900)
def test_ctrl_c_during_make_run_marks_what_it_interrupted_and_leaves_nothing_running(tmp_path, sample_data):
    state = state_with_data(tmp_path / "state", sample_data)
    output = tmp_path / "run.out"
    with open(output, "w") as sink:
        run = subprocess.Popen([PLATFORM, "run", "--state-dir", str(state.root)], stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for_line(run, output, "check_data_freshness: success", timeout_s=600)
        time.sleep(10)  # the model DAGs triggered and running
    finally:
        run.send_signal(signal.SIGINT)
        exit_code = run.wait(180)
    said = output.read_text()
    assert exit_code == 130, said[-3000:]
    assert "nivesh-platform: interrupted; marked failed: master_training_pipeline run" in said
    assert "The next make run starts a new master run" in said and "Traceback" not in said
    with sqlite3.connect(state.airflow_home / "airflow.db") as db:
        states = {state for (state,) in db.execute("SELECT state FROM dag_run")}
    assert states and not states & {"running", "queued"}, states
