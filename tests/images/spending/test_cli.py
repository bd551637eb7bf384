"""Every `nivesh-spending` subcommand, run for real on small data, and its bad input."""

import mlflow
import pandas as pd
import pytest

from registry_state import aliases, client_for, load_from_store, run_count
from steps import run_step

MODEL = "spending_predictor"


def spending(*args, env):
    return run_step("nivesh-spending", *args, env=env)


def test_sample_data_has_weekly_and_salary_rhythms(spending_data):
    transactions = pd.read_csv(spending_data, parse_dates=["date"])
    daily = transactions.groupby("date")["amount"].sum()
    weekend = daily[daily.index.dayofweek >= 5].mean() / daily[daily.index.dayofweek < 5].mean()
    salary_days = daily[daily.index.day <= 5].mean() / daily[daily.index.day.isin(range(10, 25))].mean()
    assert weekend > 1.15 and salary_days > 1.1
    assert {"date", "amount", "category", "user_id"} <= set(transactions.columns)


def test_validate_summarises_the_history(spending_data, step_env):
    run = spending("validate", "--data", spending_data, env=step_env)
    assert run.exit_code == 0, run.stderr
    assert run.result["days"] == 400 and run.result["categories"] == 8


def test_train_logs_both_models_holdout_and_category_models(trained):
    env, run = trained
    client = client_for(env)
    logged = client.get_run(run.result["run_id"])
    assert logged.data.tags["nivesh.data.sha256"] == run.result["data_sha256"]
    assert logged.data.tags["nivesh.holdout_model_uri"] != logged.data.tags["nivesh.model_uri"]
    assert set(run.result["holdout_mape_by_category"]) == {
        "groceries", "food_delivery", "transport", "shopping", "bills", "entertainment", "health", "travel"
    }  # fmt: skip
    categories = {a.path for a in client.list_artifacts(run.result["run_id"], "category_models")}
    assert "category_models/groceries.json" in categories and len(categories) == 8
    assert "holdout: the last 30 days" in run.stderr


def test_evaluate_gates_register_promote_and_forecast(trained, production):
    env, run = trained
    run_id = run.result["run_id"]
    evaluated = production.gates["evaluate"]
    metrics = evaluated.result["metrics"]
    assert metrics["test_mape"] <= 0.25 and metrics["test_mape"] < metrics["seasonal_naive_mape"]
    skill = 1 - metrics["test_mape"] / metrics["seasonal_naive_mape"]
    assert metrics["skill_vs_seasonal_naive"] == pytest.approx(skill, abs=1e-5)
    assert "plots/forecast.png" in {a.path for a in client_for(env).list_artifacts(run_id, "plots")}
    assert production.registered.result["version"] == 1 and production.promoted.result["promoted"]
    assert aliases(env, MODEL) == {"production": 1}

    model = load_from_store(env, f"models:/{MODEL}@production", mlflow.pyfunc.load_model)
    forecast = model.predict(pd.DataFrame({"ds": pd.date_range("2026-11-01", periods=7)}))
    assert len(forecast) == 7 and (forecast["yhat"] > 0).all()
    assert list(forecast.columns) == ["ds", "yhat", "yhat_lower", "yhat_upper"]  # what the README promises
    assert (forecast["yhat_lower"] <= forecast["yhat"]).all() and (forecast["yhat"] <= forecast["yhat_upper"]).all()


def test_an_equal_candidate_is_promoted_and_a_failed_gate_moves_nothing(trained):
    env, run = trained
    # the same data again: its MAPE equals the champion's (scored on the same holdout), so it is promoted
    again = spending("train", "--data", _data_of(env, run), env=env)
    assert again.exit_code == 0, again.stderr[-2000:]
    assert spending("evaluate", "--run-id", again.result["run_id"], env=env).exit_code == 0
    version = spending("register", "--run-id", again.result["run_id"], env=env).result["version"]
    kept = spending("promote", "--version", version, "--tolerance", "0", env=env)
    assert kept.result["promoted"] and kept.result["reason"] == "not worse than production"
    gated = spending("evaluate", "--run-id", again.result["run_id"], "--max-mape", "0.01", env=env)
    assert gated.exit_code == 3 and gated.result["gate"]["failed"][0]["metric"] == "test_mape"
    refused = spending("promote", "--version", version, env=env)
    assert refused.exit_code == 3  # its gate now says failed: production does not move again
    assert aliases(env, MODEL)["production"] == version

    rolled = spending("rollback", env=env)
    assert rolled.exit_code == 0
    assert (rolled.result["production_version"], rolled.result["rolled_back_version"]) == (1, 2)
    assert aliases(env, MODEL)["production"] == 1


def _data_of(env, run):
    return client_for(env).get_run(run.result["run_id"]).data.tags["nivesh.data.source"]


def _transactions(days: int, start: str = "2026-01-01") -> pd.DataFrame:
    dates = pd.date_range(start, periods=days).strftime("%Y-%m-%d")
    return pd.DataFrame({"date": dates, "amount": 100.0, "category": "groceries"})


def _csv(tmp_path, table: pd.DataFrame):
    path = tmp_path / "transactions.csv"
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda t: t.assign(date=t["date"].where(t.index != 4, "31/02/2026x")), "column date: row 5 is '31/02/2026x'"),
        (lambda t: t.assign(amount=t["amount"].where(t.index != 9, -12.5)), "column amount: row 10 is '-12.5'"),
        (
            lambda t: t.astype({"amount": object}).assign(amount=lambda x: x["amount"].where(x.index != 2, "12 rs")),
            "column amount: row 3 is '12 rs'",
        ),
        (lambda t: t.head(45), "45 days of history (2026-01-01 to 2026-02-14); need at least 60"),
        (lambda t: t.drop(index=range(20, 60)), "no transactions from 2026-01-20 to 2026-03-02 (41 days)"),
        (lambda t: t.drop(columns=["category"]), "missing column(s) category"),
    ],
    ids=["unparseable date", "negative amount", "non-numeric amount", "short history", "long gap", "no category"],
)
def test_bad_transactions_are_refused_with_one_line(tmp_path, step_env, change, named):
    data = _csv(tmp_path, change(_transactions(90)))
    for command in ("validate", "train"):
        run = spending(command, "--data", data, env=step_env)
        assert run.exit_code == 2, run.stderr[-2000:]
        assert named in run.result["error"] and str(data) in run.result["error"]
        assert len(run.error_lines) == 1
    assert run_count(step_env) == 0
