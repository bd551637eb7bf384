"""Data-triggered runs: the path an asset event names reaches every step that reads data, and the weekly schedules
never start a run for a past slot when a scheduler first sees a DAG (the cluster, `make ui`)."""

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor, VariableAccessor
from airflow.serialization.serialized_objects import DagSerialization

import dag_files
from nivesh_contract.catalog import MASTER, MODELS, model_named

DATA_FLAGS = ("--data", "--current")  # the steps' own data, and check_drift's
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def dagbag():
    return dag_files.dagbag()


@pytest.fixture(autouse=True)
def data_root(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_NIVESH_DATA_ROOT", "/srv/data")


def event(asset: str, path: str | None, minutes_ago: int = 0) -> AssetEventDagRunReferenceResult:
    """One event of a run's `triggering_asset_events`, as the task runner builds them from the run's consumed events."""
    return AssetEventDagRunReferenceResult(
        asset={"name": asset, "uri": f"x-nivesh://training-data/{asset}", "extra": {}},
        extra={"from_rest_api": True} | ({"path": path} if path else {}),
        source_task_id=None,
        source_dag_id=None,
        source_run_id=None,
        source_map_index=None,
        source_aliases=[],
        timestamp=NOW - timedelta(minutes=minutes_ago),
    )


def rendered_data_paths(dag, params: dict | None = None, events: tuple = ()) -> dict[str, str]:
    """Each task's rendered data argument (the value after --data or --current), as the operator renders it."""
    context = {
        "params": {"data_path": ""} | (params or {}),
        "var": {"value": VariableAccessor(deserialize_json=False)},
        "triggering_asset_events": TriggeringAssetEventsAccessor.build(events),
    }
    paths = {}
    for task in dag.tasks:
        arguments = list(getattr(task, "arguments", None) or [])
        for flag, value in itertools.pairwise(arguments):
            if flag in DATA_FLAGS:
                paths[task.task_id] = task.render_template(value, context)
    return paths


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.dag_id)
def test_a_run_started_by_a_data_event_trains_on_the_path_it_names(dagbag, model):
    dag = dagbag.dags[model.dag_id]
    asset = f"{model.name}_training_data"
    events = (
        event(asset, "/srv/data/older.csv", minutes_ago=5),
        event(asset, "/srv/data/new.csv", minutes_ago=1),
        event(asset, None),  # an event without a path: the others still count
        event("some_other_asset", "/srv/data/not-this.csv"),
    )
    paths = rendered_data_paths(dag, events=events)
    assert {"validate_data", "check_drift", "train_model"} <= set(paths)
    assert set(paths.values()) == {"/srv/data/new.csv"}, paths


def test_the_run_s_data_path_param_wins_over_the_event(dagbag):
    dag = dagbag.dags["anomaly_detector_training"]
    events = (event("anomaly_detector_training_data", "/srv/data/new.csv"),)
    paths = rendered_data_paths(dag, params={"data_path": "/srv/data/chosen.csv"}, events=events)
    assert set(paths.values()) == {"/srv/data/chosen.csv"}


@pytest.mark.parametrize("params", [{}, {"data_path": None}], ids=["empty", "emptied in the trigger form"])
def test_without_param_or_event_the_declared_file_under_the_data_root(dagbag, params):
    model = model_named("credit_risk_scorer")
    paths = rendered_data_paths(dagbag.dags[model.dag_id], params=params)
    assert "validate_features" in paths
    assert set(paths.values()) == {f"/srv/data/{model.data_file}"}
    no_path = (event("credit_risk_scorer_training_data", None),)
    assert set(rendered_data_paths(dagbag.dags[model.dag_id], events=no_path).values()) == {
        f"/srv/data/{model.data_file}"
    }


@pytest.mark.parametrize("dag_id", [model.dag_id for model in MODELS] + [MASTER.dag_id])
def test_the_first_scheduled_run_is_the_next_slot_even_just_after_a_missed_one(dagbag, dag_id, monkeypatch):
    """What the scheduler computes for a DAG with no run yet, as stored (serialized and back): one hour after its
    weekly slot the next run is next week's. With a start_date, or CronTriggerTimetable's default run_immediately
    (False: a past slot less than 16.8 hours old still runs), `make ui` would start runs the moment it starts."""
    import airflow.timetables.trigger

    dag = dagbag.dags[dag_id]
    assert dag.start_date is None
    stored = DagSerialization.from_dict(json.loads(json.dumps(DagSerialization.to_dict(dag))))
    cron = stored.timetable.timetable if hasattr(stored.timetable, "timetable") else stored.timetable
    last_slot = cron._align_to_prev(datetime.now(UTC))
    now = last_slot + timedelta(hours=1)
    monkeypatch.setattr(airflow.timetables.trigger, "utcnow", lambda: now)

    first = stored.next_dagrun_info(last_automated_run_info=None)

    assert first.run_after == last_slot + timedelta(days=7)
