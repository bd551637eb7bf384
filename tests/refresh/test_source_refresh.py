"""`make run`'s use of NIVESH_SOURCE_DB before Airflow starts: which models it loads into the app's database, and the
one line it says where it cannot (no variable, no answer, a file that does not fit its table). The whole path, with
the refresh DAGs and the master training on their snapshots: tests/e2e/test_embedded_services.py."""

import _thread
import json
import logging
import signal
import threading
from http.server import ThreadingHTTPServer
from typing import ClassVar

import pandas as pd
import pytest

from embedded_state import state_with_data
from json_stand_in import JsonHandler
from nivesh_contract.catalog import MODELS, model_named
from nivesh_platform.progress import Interrupted
from nivesh_platform.services import AirflowApi, free_port
from nivesh_platform.source_db import SCHEMA, TABLES
from nivesh_platform.source_refresh import load_state_data, refresh, refresh_dag_ids


@pytest.fixture
def state(tmp_path, sample_data):
    return state_with_data(tmp_path / "state", sample_data)


def test_without_the_variable_the_files_are_used_and_it_says_so_once(state, monkeypatch, caplog):
    monkeypatch.delenv("NIVESH_SOURCE_DB", raising=False)
    with caplog.at_level(logging.INFO):
        assert load_state_data(state) == [] and refresh_dag_ids() == []
    assert caplog.messages == [f"NIVESH_SOURCE_DB is not set: the models train on their files under {state.data_dir}"]


def test_a_database_that_does_not_answer_is_named_without_its_password(state, monkeypatch, caplog):
    monkeypatch.setenv("NIVESH_SOURCE_DB", f"postgresql://app:hunter2@127.0.0.1:{free_port()}/app")
    with caplog.at_level(logging.INFO):
        assert load_state_data(state) == []
    (said,) = caplog.messages
    assert said.startswith("NIVESH_SOURCE_DB=postgresql://***@127.0.0.1:") and "Connection refused" in said
    assert said.endswith(": the models train on their files") and "hunter2" not in said


def test_empty_tables_are_filled_a_table_with_rows_is_left_and_a_misfit_file_loads_nothing(
    state, source, postgres, monkeypatch, caplog
):
    applications = state.data_dir / "credit_risk" / "applications.csv"
    pd.read_csv(applications).drop(columns=["default"]).to_csv(applications, index=False)
    source.execute(f"INSERT INTO {SCHEMA}.{TABLES['intent_classifier']} (text, intent) VALUES ('hi', 'greeting')")
    monkeypatch.setenv("NIVESH_SOURCE_DB", postgres.url)
    with caplog.at_level(logging.INFO):
        loaded = load_state_data(state)
    sourced = [model for model in MODELS if model.source]  # a model `make new-model` adds declares none at first
    assert [model.name for model in loaded] == [model.name for model in sourced if model.name != "credit_risk_scorer"]
    said = "\n".join(caplog.messages)
    assert 'credit_risk_scorer: its data does not fit its table (null value in column "default"' in said
    assert f"{SCHEMA}.intent_queries has 1 rows: refreshed from them as they are (intents.jsonl not loaded)" in said
    assert f"{SCHEMA}.anomaly_transactions: " in said and postgres.password not in said
    counts = {
        name: source.execute(f"SELECT count(*) FROM {SCHEMA}.{table}").fetchone()[0] for name, table in TABLES.items()
    }
    assert counts["credit_risk_scorer"] == 0 and counts["intent_classifier"] == 1 and counts["anomaly_detector"] > 100
    assert refresh_dag_ids() == [model.refresh_dag_id for model in sourced]


class RefreshingAirflow(JsonHandler):
    """Airflow's REST API as `make run` sees it while the refresh DAGs run (stood in for: a Ctrl-C at this moment
    in a real Airflow cannot be timed): every triggered run stays running; each PATCH is kept."""

    patched: ClassVar[list[tuple[str, dict]]] = []

    def do_POST(self):
        if self.path == "/auth/token":
            return self._answer(201, {"access_token": "t"})
        self._answer(200, {"dag_run_id": f"manual__{self.path.split('/')[4]}"})

    def do_GET(self):
        if self.path.endswith("/taskInstances"):
            return self._answer(200, {"task_instances": [{"task_id": "extract_snapshot", "state": "running"}]})
        self._answer(200, {"state": "running"})

    def do_PATCH(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        RefreshingAirflow.patched.append((self.path, body))
        self._answer(200, body)


def test_ctrl_c_while_the_refresh_dags_run_marks_them_failed():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefreshingAirflow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as make run sets it (interrupts.py)
    threading.Timer(1.0, _thread.interrupt_main).start()
    try:
        with pytest.raises(Interrupted) as stopped:
            refresh(AirflowApi(f"http://127.0.0.1:{server.server_port}"), [model_named("anomaly_detector")])
    finally:
        signal.signal(signal.SIGINT, previous)
        server.shutdown()
    run = "manual__anomaly_detector_data_refresh"
    assert str(stopped.value) == f"interrupted; marked failed: anomaly_detector_data_refresh run {run}"
    assert RefreshingAirflow.patched == [
        (f"/api/v2/dags/anomaly_detector_data_refresh/dagRuns/{run}", {"state": "failed"})
    ]
