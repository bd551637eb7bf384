"""The anomaly detector's refresh DAG run by Airflow (`airflow dags test`, launcher local) against a real PostgreSQL:
a new extract is validated and announced as an event of the model's data asset, an unchanged one publishes nothing,
a refused one is quarantined and alerted while the announced snapshot and the asset stay as they were."""

import json
import os
import sqlite3

import pandas as pd
import pytest

from nivesh_contract.catalog import model_named
from nivesh_pipelines import snapshots
from nivesh_pipelines.snapshots import newest_data_file
from nivesh_platform.embedded import migrate_metadata_db, run_dag
from nivesh_platform.source_db import SCHEMA, TABLES, load_table
from nivesh_platform.state import EmbeddedState

pytestmark = pytest.mark.slow

ANOMALY = model_named("anomaly_detector")


@pytest.fixture(scope="module")
def embedded(tmp_path_factory, postgres):
    state = EmbeddedState(tmp_path_factory.mktemp("refresh"))
    state.prepare()
    environment = state.environment(dict(os.environ)) | {"AIRFLOW_CONN_POSTGRES_DEFAULT": postgres.url}
    migrate_metadata_db(state, environment)
    return state, environment


def asset_events(state: EmbeddedState) -> list[dict]:
    with sqlite3.connect(state.airflow_home / "airflow.db") as db:
        rows = db.execute(
            "SELECT asset_event.extra FROM asset_event JOIN asset ON asset.id = asset_event.asset_id "
            "WHERE asset.name = ? ORDER BY asset_event.id",
            (f"{ANOMALY.name}_training_data",),
        ).fetchall()
    return [json.loads(extra) for (extra,) in rows]


def test_new_data_is_announced_unchanged_data_is_not_and_refused_data_is_quarantined(
    embedded, source, sample_data, postgres
):
    state, environment = embedded
    folder = state.data_dir / ANOMALY.data_folder
    load_table(source, ANOMALY.name, pd.read_csv(sample_data(ANOMALY.name)))

    first = run_dag(state, ANOMALY.refresh_dag_id, environment)
    log = first.log_file.read_text()
    assert first.succeeded, log[-5000:]
    (announced,) = snapshots.announced(folder)
    manifest = snapshots.read_manifest(announced)
    data_file = str(announced / "data.parquet")
    assert asset_events(state) == [{"path": data_file}]  # the training DAG runs on it (assets.published_data_path)
    assert newest_data_file(str(state.data_dir), ANOMALY.data_file) == data_file  # and so do runs naming no data
    assert manifest["rows"] == len(pd.read_csv(sample_data(ANOMALY.name))) and manifest["query_file"] == "anomaly.sql"
    assert postgres.password not in log

    unchanged = run_dag(state, ANOMALY.refresh_dag_id, environment)
    log = unchanged.log_file.read_text()
    assert unchanged.succeeded, log[-5000:]
    assert "unchanged: " in log and "the same as the newest snapshot; nothing published" in log
    assert snapshots.announced(folder) == [announced] and len(asset_events(state)) == 1

    # this week's extract has too few transactions to train on: anomaly's validate refuses it
    source.execute(f"TRUNCATE {SCHEMA}.{TABLES[ANOMALY.name]}")
    source.commit()
    load_table(source, ANOMALY.name, pd.read_csv(sample_data(ANOMALY.name)).head(40))
    refused = run_dag(state, ANOMALY.refresh_dag_id, environment)
    log = refused.log_file.read_text()
    assert not refused.succeeded
    (kept,) = (folder / snapshots.QUARANTINE).iterdir()
    assert snapshots.read_manifest(kept)["rows"] == 40 and list((folder / snapshots.INCOMING).iterdir()) == []
    assert snapshots.announced(folder) == [announced] and len(asset_events(state)) == 1
    notifications = state.notification_file.read_text()
    assert f"[nivesh] {ANOMALY.refresh_dag_id}: snapshot quarantined" in notifications
    assert "40 rows (anomaly.sql, window " in notifications and "need at least 100" in notifications
    assert f"Kept in {kept}; the training data is unchanged." in notifications
    assert notifications.count(ANOMALY.refresh_dag_id) == 1  # one alert: validate's own failure alert is off
