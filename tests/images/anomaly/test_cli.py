"""Every `nivesh-anomaly` subcommand, run for real on small data, and its bad input."""

import mlflow
import pandas as pd
import pytest

from nivesh_anomaly.evaluation import anomaly_scores, load_model
from nivesh_anomaly.schema import parse_transactions, time_split
from nivesh_common.tracking import load_table
from nivesh_contract.names import TEST_SPLIT
from registry_state import aliases, load_from_store, run_count, version_count
from steps import run_step

MODEL = "anomaly_detector"


def anomaly(*args, env):
    return run_step("nivesh-anomaly", *args, env=env)


@pytest.fixture
def store(tmp_path, trained_registry):
    """A copy of the session's registry, where that run's model is v1 and holds production."""
    return trained_registry.copy(tmp_path / "store", MODEL)


def test_sample_data_labels_every_kind_of_anomaly(transactions_data):
    table = pd.read_csv(transactions_data)
    kinds = set(table.loc[table["is_anomaly"] == 1, "anomaly_type"])
    assert kinds == {"amount_spike", "odd_hour", "new_merchant", "burst"}
    assert 0.005 < table["is_anomaly"].mean() < 0.1


def test_validate_summarises_the_history(transactions_data, step_env):
    run = anomaly("validate", "--data", transactions_data, env=step_env)
    assert run.exit_code == 0
    assert run.result["users"] == 60 and run.result["labelled_anomalies"] > 0


def test_train_evaluate_register_promote_then_stage_a_winner_for_live_requests(
    transactions_data, production, store, tmp_path
):
    step_env = store
    first = production.trained
    _served_model_reproduces_training(step_env, first.result, transactions_data)
    metrics = production.gates["evaluate"].result["metrics"]
    assert metrics["test_precision_at_k"] >= 0.6 and metrics["test_recall"] >= 0.6
    assert metrics["test_k"] == pd.read_csv(transactions_data).pipe(_test_period_anomalies)
    params = mlflow.MlflowClient(step_env["MLFLOW_TRACKING_URI"]).get_run(first.result["run_id"]).data.params
    assert params["contamination_source"] == "labelled share of the training period"
    assert float(params["contamination"]) == pytest.approx(_training_period_label_share(transactions_data))

    assert production.registered.result["version"] == 1 and production.promoted.result["promoted"]
    assert anomaly("register", "--run-id", first.result["run_id"], env=step_env).result["version"] == 1

    second = anomaly("train", "--data", transactions_data, "--seed", 7, env=step_env).result["run_id"]
    assert anomaly("evaluate", "--run-id", second, env=step_env).exit_code == 0
    assert anomaly("register", "--run-id", second, env=step_env).result["version"] == 2
    staged = anomaly("promote", "--version", 2, "--tolerance", 1, env=step_env).result
    assert (staged["promoted"], staged["staging_version"]) == (False, 2)  # anomaly.toml declares a canary rollout
    assert aliases(step_env, MODEL) == {"production": 1, "staging": 2}
    judged = anomaly("rollout-evaluate", "--log-dir", tmp_path / "predictions", env=step_env).result
    assert judged["decision"] == "waiting" and "0 of 2000 requests" in judged["reason"]
    assert version_count(step_env, MODEL) == 2


def _training_period_label_share(transactions_data) -> float:
    table = pd.read_csv(transactions_data)
    timestamps = pd.to_datetime(table["timestamp"])
    return float(table.loc[timestamps < timestamps.quantile(0.8), "is_anomaly"].mean())


@pytest.mark.parametrize(
    ("labels", "configured", "chosen"),
    [([0, 1, 0, 0], None, 0.25), ([0, 1, 0, 0], 0.01, 0.01), ([0, 0, 0], None, "auto"), ([1, 1, 0], None, 0.5)],
    ids=["labelled share", "the flag wins", "no labels: auto", "clipped to what the forest takes"],
)
def test_contamination_follows_the_labelled_share(labels, configured, chosen):
    from nivesh_anomaly.training import chosen_contamination

    assert chosen_contamination(pd.Series(labels), configured)[0] == chosen


def _served_model_reproduces_training(env, trained: dict, transactions_data) -> None:
    """The test period's raw rows through the served model give the scores of the features training logged;
    one new transaction of an unseen user is scored too (the cold-start rule)."""
    raw = pd.read_csv(transactions_data)
    test = time_split(parse_transactions(raw, "data"), 0.2, "data")[1]
    served = load_from_store(env, trained["model_uri"], mlflow.pyfunc.load_model)
    contract = ["user_id", "timestamp", "amount", "merchant"]  # what `validate` reads, minus the label
    answer = served.predict(raw.loc[test, contract])
    assert list(answer.columns) == ["anomaly_score", "is_anomaly"] and len(answer) == test.sum()

    def training_time_scores(model_uri: str):
        logged = load_table(trained["run_id"], TEST_SPLIT)
        return anomaly_scores(load_model(model_uri), logged)

    expected = load_from_store(env, trained["model_uri"], training_time_scores)
    assert answer["anomaly_score"].to_numpy() == pytest.approx(expected, abs=1e-9)
    newcomer = pd.DataFrame(
        [{"user_id": "U-new", "timestamp": "2026-12-01T03:10:00+05:30", "amount": 9999.0, "merchant": "Nowhere"}]
    )
    assert len(served.predict(newcomer)) == 1


def _test_period_anomalies(table: pd.DataFrame) -> int:
    timestamps = pd.to_datetime(table["timestamp"])
    return int(table.loc[timestamps >= timestamps.quantile(0.8), "is_anomaly"].sum())


def test_gate_failure_exits_3_and_registers_nothing(production, store):
    failed = anomaly("evaluate", "--run-id", production.run_id, "--min-recall", "0.99", env=store)
    assert failed.exit_code == 3
    assert failed.result["gate"]["failed"][0]["metric"] == "test_recall"
    assert anomaly("register", "--run-id", production.run_id, env=store).exit_code == 3
    assert version_count(store, MODEL) == 1, "only the v1 registered while its gate passed"


def _changed(transactions_data, tmp_path, row, column, value):
    table = pd.read_csv(transactions_data)
    table[column] = table[column].astype(object)
    table.loc[row, column] = value
    path = tmp_path / "changed.csv"
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("timestamp", "yesterday-ish", "column timestamp: row 5 is 'yesterday-ish', not a date-time"),
        ("amount", -12.5, "column amount: row 5 is -12.5, expected a positive finite number"),
        ("amount", "lots", "column amount: row 5 is lots"),
        ("is_anomaly", 7, "column is_anomaly: row 5 is 7, expected 0 or 1"),
    ],
)
def test_bad_rows_are_named(column, value, message, transactions_data, tmp_path, step_env):
    path = _changed(transactions_data, tmp_path, 4, column, value)
    run = anomaly("train", "--data", path, env=step_env)
    assert run.exit_code == 2 and message in run.result["error"]
    assert run_count(step_env) == 0


def test_missing_column_is_named(transactions_data, tmp_path, step_env):
    path = tmp_path / "no-merchant.parquet"
    pd.read_csv(transactions_data).drop(columns="merchant").to_parquet(path)
    run = anomaly("validate", "--data", path, env=step_env)
    assert run.exit_code == 2 and "missing column(s) merchant" in run.result["error"]
