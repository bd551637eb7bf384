"""`make run`'s use of NIVESH_SOURCE_DB before Airflow starts: which models it loads into the app's database, and the
one line it says where it cannot (no variable, no answer, a file that does not fit its table). The whole path, with
the refresh DAGs and the master training on their snapshots: tests/e2e/test_embedded_services.py."""

import logging

import pandas as pd
import pytest

from embedded_state import state_with_data
from nivesh_contract.catalog import MODELS
from nivesh_platform.services import free_port
from nivesh_platform.source_db import SCHEMA, TABLES
from nivesh_platform.source_refresh import load_state_data, refresh_dag_ids


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
    assert [model.name for model in loaded] == [model.name for model in MODELS if model.name != "credit_risk_scorer"]
    said = "\n".join(caplog.messages)
    assert 'credit_risk_scorer: its data does not fit its table (null value in column "default"' in said
    assert f"{SCHEMA}.intent_queries has 1 rows: refreshed from them as they are (intents.jsonl not loaded)" in said
    assert f"{SCHEMA}.anomaly_transactions: " in said and postgres.password not in said
    counts = {
        name: source.execute(f"SELECT count(*) FROM {SCHEMA}.{table}").fetchone()[0] for name, table in TABLES.items()
    }
    assert counts["credit_risk_scorer"] == 0 and counts["intent_classifier"] == 1 and counts["anomaly_detector"] > 100
    assert refresh_dag_ids() == [model.refresh_dag_id for model in MODELS]
