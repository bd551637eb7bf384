"""Snapshots extracted from a real PostgreSQL (Debian's) through the Postgres provider's hook: each model's query
against the contract's schema, chunked, hashed and judged by the model's own `validate`; and what a broken source
does: a missing column, a query past its timeout, a window with no rows, a refused connection, a hostile query."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from nivesh_contract.catalog import MODELS, model_named
from nivesh_pipelines import snapshots
from nivesh_platform.local_postgres import LocalPostgres
from nivesh_platform.services import free_port
from nivesh_platform.source_db import TABLES, load_table
from refresh.conftest import with_query
from steps import run_step

WINDOW_END = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
RECORDED = WINDOW_END - timedelta(days=1)


def extract(connect, model, folder: Path, end: datetime = WINDOW_END) -> dict:
    return snapshots.extract_snapshot(connect, model, snapshots.Window.ending(end, model.source.window_days), folder)


def snapshot_file(folder: Path, manifest: dict) -> Path:
    return folder / snapshots.INCOMING / manifest["snapshot"] / manifest["file"]


def read_snapshot(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_json(path, lines=True)


# A model `make new-model` adds declares no source at first.
@pytest.mark.parametrize("model", [model for model in MODELS if model.source], ids=lambda model: model.name)
def test_each_model_s_data_goes_through_its_table_and_query_and_its_validate_passes(
    model, source, hook_connection, sample_data, tmp_path, step_env
):
    rows = pd.read_json(sample_data(model.name), lines=True) if model.data_file.endswith(".jsonl") else None
    rows = rows if rows is not None else pd.read_csv(sample_data(model.name))
    load_table(source, model.name, rows, RECORDED)
    manifest = extract(hook_connection, model, tmp_path)
    path = snapshot_file(tmp_path, manifest)
    assert manifest["rows"] == len(rows) and manifest["sha256"] == snapshots.file_sha256(path)
    assert (
        manifest["snapshot"] == f"20261201T020000Z-{manifest['sha256'][:12]}"
        and path.parent.name == manifest["snapshot"]
    )
    assert manifest["window"]["end"] == WINDOW_END.isoformat()
    assert datetime.fromisoformat(manifest["window"]["start"]) == WINDOW_END - timedelta(days=model.source.window_days)
    assert [column["name"] for column in manifest["columns"]] == list(rows.columns)
    assert json.loads((path.parent / "manifest.json").read_text()) == manifest
    judged = run_step(model.image.console_script, "validate", "--data", path, env=step_env)
    assert judged.exit_code == 0, judged.stderr[-2000:]
    assert judged.result["rows"] == len(rows)


def test_an_unchanged_extract_has_the_same_bytes_and_chunks_are_row_groups(
    source, hook_connection, sample_data, tmp_path
):
    anomaly = model_named("anomaly_detector")
    rows = pd.read_csv(sample_data("anomaly_detector"))
    load_table(source, anomaly.name, rows, RECORDED)
    first = extract(hook_connection, anomaly, tmp_path / "a")
    # a week later, over a window that still holds every row: the same bytes (the id differs: its window)
    again = extract(hook_connection, anomaly, tmp_path / "b", end=WINDOW_END + timedelta(days=7))
    assert again["sha256"] == first["sha256"] and again["snapshot"] != first["snapshot"]
    chunked = with_query(anomaly.name, anomaly.source.query, chunk_rows=1000)
    small = extract(hook_connection, chunked, tmp_path / "c")
    assert pq.ParquetFile(snapshot_file(tmp_path / "c", small)).num_row_groups == -(-len(rows) // 1000)
    assert read_snapshot(snapshot_file(tmp_path / "c", small)).equals(
        read_snapshot(snapshot_file(tmp_path / "a", first))
    )
    # what the refresh DAG decides: the newest announced snapshot with the same bytes means nothing new
    snapshots.move(tmp_path / "a", first["snapshot"], snapshots.SNAPSHOTS)
    assert snapshots.is_unchanged(tmp_path / "a", again)
    load_table(source, anomaly.name, rows.head(1).assign(transaction_id="T-new"), RECORDED)
    assert not snapshots.is_unchanged(tmp_path / "a", extract(hook_connection, anomaly, tmp_path / "d"))


def test_mixed_time_zones_and_hostile_text_arrive_as_they_were_meant(source, hook_connection, tmp_path):
    """The app wrote recorded_at in several offsets: the window compares instants. Text with quotes, newlines,
    a NUL-free control character and non-Latin script is data, not syntax."""
    texts = ['He said "hi"; DROP TABLE x;--', "line one\nline two", "बिल भुगतान \t ₹500", "<script>alert(1)</script>"]
    intent = model_named("intent_classifier")
    rows = pd.DataFrame({"text": texts, "intent": ["greeting"] * 4})
    load_table(source, intent.name, rows, RECORDED)
    # recorded a second before and a second after the window's end, written with an Indian offset
    source.execute(
        f"INSERT INTO nivesh_training.{TABLES[intent.name]} (text, intent, recorded_at) VALUES "
        "('inside', 'greeting', '2026-12-01 07:29:59+05:30'), ('outside', 'greeting', '2026-12-01 07:30:00+05:30')"
    )
    source.commit()
    manifest = extract(hook_connection, intent, tmp_path)
    extracted = read_snapshot(snapshot_file(tmp_path, manifest))
    assert extracted["text"].tolist() == [*texts, "inside"]


def test_a_missing_column_names_the_query_and_the_column_and_leaves_nothing(source, hook_connection, tmp_path):
    anomaly = model_named("anomaly_detector")
    source.execute("ALTER TABLE nivesh_training.anomaly_transactions DROP COLUMN merchant")
    source.commit()
    with pytest.raises(snapshots.ExtractError) as refused:
        extract(hook_connection, anomaly, tmp_path)
    assert str(refused.value) == 'query anomaly.sql: column "merchant" does not exist'
    assert not refused.value.retryable
    assert list((tmp_path / snapshots.INCOMING).iterdir()) == []


def test_a_window_with_no_rows_is_refused(source, hook_connection, sample_data, tmp_path):
    credit = model_named("credit_risk_scorer")
    load_table(source, credit.name, pd.read_csv(sample_data(credit.name)).head(20), RECORDED)
    with pytest.raises(snapshots.ExtractError) as refused:
        extract(hook_connection, credit, tmp_path, end=RECORDED - timedelta(days=credit.source.window_days + 1))
    said = "query credit_risk.sql: no rows between 2022-11-30T02:00:00+00:00 and 2024-11-29T02:00:00+00:00"
    assert str(refused.value) == said and not refused.value.retryable
    assert list((tmp_path / snapshots.INCOMING).iterdir()) == []


def test_a_query_past_its_timeout_is_cancelled_and_may_be_retried(source, hook_connection, tmp_path):
    slow = with_query(
        "intent_classifier",
        "SELECT text, intent FROM nivesh_training.intent_queries, pg_sleep(5) "
        "WHERE recorded_at >= %(window_start)s AND recorded_at < %(window_end)s",
        timeout_s=1,
    )
    load_table(source, slow.name, pd.DataFrame({"text": ["hi"], "intent": ["greeting"]}), RECORDED)
    with pytest.raises(snapshots.ExtractError) as refused:
        extract(hook_connection, slow, tmp_path)
    assert str(refused.value) == "query intent.sql: ran past its timeout of 1 s" and refused.value.retryable


def test_a_query_cannot_write_and_a_type_no_snapshot_holds_is_named(source, hook_connection, tmp_path):
    writing = with_query(
        "intent_classifier",
        "SELECT text, intent FROM nivesh_training.intent_queries WHERE recorded_at >= %(window_start)s "
        "AND recorded_at < %(window_end)s AND nextval('nivesh_training.intent_queries_query_id_seq') > 0",
    )
    load_table(source, writing.name, pd.DataFrame({"text": ["hi"], "intent": ["greeting"]}), RECORDED)
    with pytest.raises(snapshots.ExtractError) as refused:
        extract(hook_connection, writing, tmp_path)
    assert str(refused.value) == "query intent.sql: cannot execute nextval() in a read-only transaction"
    (last,) = source.execute("SELECT last_value FROM nivesh_training.intent_queries_query_id_seq").fetchone()
    assert last == 1
    interval = with_query(
        "intent_classifier",
        "SELECT text, now() - recorded_at AS age FROM nivesh_training.intent_queries "
        "WHERE recorded_at >= %(window_start)s AND recorded_at < %(window_end)s",
    )
    with pytest.raises(snapshots.ExtractError, match="column 'age': PostgreSQL type oid 1186 has no snapshot type"):
        extract(hook_connection, interval, tmp_path)


def test_a_refused_connection_is_one_line_without_the_password(postgres: LocalPostgres, monkeypatch, tmp_path):
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    nobody_listens = f"postgresql://nivesh:{postgres.password}@127.0.0.1:{free_port()}/app"
    monkeypatch.setenv("AIRFLOW_CONN_POSTGRES_DEFAULT", nobody_listens)
    with pytest.raises(snapshots.ExtractError) as refused:
        extract(PostgresHook(postgres_conn_id="postgres_default").get_conn, model_named("anomaly_detector"), tmp_path)
    (line,) = str(refused.value).splitlines()
    assert line.startswith("query anomaly.sql: the source did not answer: ") and "Connection refused" in line
    assert postgres.password not in line and refused.value.retryable
    assert list((tmp_path / snapshots.INCOMING).iterdir()) == []


def test_retention_keeps_the_newest_and_what_production_was_trained_on(tmp_path):
    anomaly = model_named("anomaly_detector")
    kept = []
    for day in range(5):
        snapshot = tmp_path / snapshots.SNAPSHOTS / f"2026110{day}T020000Z-{day:012d}"
        snapshot.mkdir(parents=True)
        (snapshot / "data.parquet").write_bytes(b"PAR1")
        manifest = {"file": "data.parquet", "sha256": str(day), "extracted_at": f"2026-11-0{day + 1}T02:00:00+00:00"}
        (snapshot / "manifest.json").write_text(json.dumps(manifest))
        kept.append(snapshot)
    assert snapshots.newest_data_file(str(tmp_path.parent), f"{tmp_path.name}/whatever.csv") == str(
        kept[-1] / "data.parquet"
    )
    # production was trained on the second, in a pod that mounts the data root elsewhere
    production = {f"/data/anomaly/snapshots/{kept[1].name}/data.parquet"}
    assert snapshots.prune(tmp_path, 2, production) == [kept[0].name, kept[2].name]
    assert sorted(path.name for path in (tmp_path / snapshots.SNAPSHOTS).iterdir()) == [
        kept[1].name,
        kept[3].name,
        kept[4].name,
    ]
    assert anomaly.source.keep_snapshots == 8  # the default a model's declaration may change


def test_the_versions_in_service_are_those_holding_production_and_previous(tmp_path, monkeypatch):
    from mlflow import MlflowClient

    from nivesh_pipelines.refresh import data_sources_in_service
    from steps import empty_store

    store = tmp_path / "mlflow.db"
    store.write_bytes(empty_store().read_bytes())
    uri = f"sqlite:///{store}"
    monkeypatch.setenv("AIRFLOW_VAR_NIVESH_MLFLOW_TRACKING_URI", uri)
    assert data_sources_in_service("anomaly_detector") == set()  # never registered
    client = MlflowClient(uri)
    client.create_registered_model("anomaly_detector")
    experiment = client.create_experiment("nivesh/anomaly_detector")
    for week in range(3):
        run = client.create_run(
            experiment, tags={"nivesh.data.source": f"/data/anomaly/snapshots/week{week}/data.parquet"}
        )
        client.create_model_version("anomaly_detector", f"runs:/{run.info.run_id}/model", run.info.run_id)
    client.set_registered_model_alias("anomaly_detector", "previous", "2")
    client.set_registered_model_alias("anomaly_detector", "production", "3")
    assert data_sources_in_service("anomaly_detector") == {
        "/data/anomaly/snapshots/week1/data.parquet",
        "/data/anomaly/snapshots/week2/data.parquet",
    }


def test_a_broken_manifest_is_named_rather_than_skipped(tmp_path):
    """Runs that name no data take the newest snapshot: one whose manifest was cut short stops them with its file
    named, rather than training on an older one unnoticed."""
    snapshot = tmp_path / "anomaly" / snapshots.SNAPSHOTS / "20261201T020000Z-0123456789ab"
    snapshot.mkdir(parents=True)
    (snapshot / "manifest.json").write_text('{"file": "data.parquet", "extracted_at": "2026-12-01T02:')
    with pytest.raises(ValueError) as broken:
        snapshots.newest_data_file(str(tmp_path), "anomaly/transactions.csv")
    assert str(broken.value).startswith(f"{snapshot / 'manifest.json'}: unreadable snapshot manifest (JSONDecodeError")
