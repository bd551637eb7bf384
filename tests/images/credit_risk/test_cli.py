"""Every `nivesh-credit-risk` subcommand, run for real on small data against a real MLflow store."""

import json
import re
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from nivesh_credit_risk.evaluation import load_model, score
from nivesh_credit_risk.scoring import load_scoring
from registry_state import aliases, client_for, load_from_store, version_count
from steps import run_step

MODEL = "credit_risk_scorer"
# Small test data leaves ~30 applicants in the youngest group: its selection rate is noisy.
LENIENT_FAIRNESS = ("--min-disparate-impact", "0.5")


def credit(*args, env, fresh=False):
    return run_step("nivesh-credit-risk", *args, env=env, fresh=fresh)


@pytest.fixture(scope="module")
def store(tmp_path_factory, trained_registry):
    """A copy of the session's registry, where credit_risk_scorer v1 (tuned within the default budget) holds
    production."""
    return trained_registry.copy(tmp_path_factory.mktemp("credit-store"), MODEL)


@pytest.fixture(scope="module")
def production(trained_registry):
    """What train, the gates, register and promote returned for that v1."""
    return trained_registry.promoted(MODEL)


@pytest.fixture(scope="module")
def trained(production) -> dict:
    return production.trained.result


def test_sample_data_is_reproducible_and_never_overwrites(tmp_path, step_env):
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert credit("sample-data", "--out", first, "--rows", 300, "--seed", 3, env=step_env).exit_code == 0
    assert credit("sample-data", "--out", second, "--rows", 300, "--seed", 3, env=step_env).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    again = credit("sample-data", "--out", first, "--rows", 10, env=step_env)
    assert again.exit_code == 2 and "refusing to overwrite" in again.result["error"]


def test_sample_data_defaults_depend_on_risk_features(credit_data):
    import pandas as pd

    table = pd.read_csv(credit_data)
    high_dti = table["debt_to_income"] > table["debt_to_income"].quantile(0.8)
    assert table.loc[high_dti, "default"].mean() > table.loc[~high_dti, "default"].mean() + 0.2


def test_validate_reports_rows_and_detected_features(credit_data, step_env):
    run = credit("validate", "--data", credit_data, env=step_env)
    assert run.exit_code == 0
    assert run.result["rows"] == 1500
    assert "employment_type" in run.result["features"]["categorical"]
    assert run.result["features"]["dropped"] == {"applicant_id": "unique in every row (an identifier)"}
    xcom = Path(step_env["NIVESH_XCOM_DIR"]) / "return.json"
    assert json.loads(xcom.read_text()) == run.result


def test_validate_features_checks_engineered_ranges(credit_data, tmp_path, step_env):
    assert credit("validate-features", "--data", credit_data, env=step_env).exit_code == 0
    import pandas as pd

    table = pd.read_csv(credit_data)
    table.loc[6, "debt_to_income"] = float("inf")
    broken = tmp_path / "broken.csv"
    table.to_csv(broken, index=False)
    run = credit("validate-features", "--data", broken, env=step_env)
    assert run.exit_code == 2
    assert "column debt_to_income: row 7 is inf" in run.result["error"]


def test_train_logs_model_lineage_and_plots(trained, store):
    client = client_for(store)
    run = client.get_run(trained["run_id"])
    artifacts = {artifact.path for artifact in client.list_artifacts(trained["run_id"], "plots")}
    assert artifacts == {
        "plots/roc_curve.png",
        "plots/confusion_matrix.png",
        "plots/reliability.png",
        "plots/feature_importance.png",
        "plots/tuning_history.png",
    }
    assert run.data.tags["nivesh.data.sha256"] == trained["data_sha256"]
    assert run.data.tags["nivesh.data.rows"] == "1500"
    assert run.data.params["protected_attribute"] == "age"
    assert "age" not in trained["features"]["numeric"]
    assert trained["model_uri"].startswith("models:/")


def test_train_is_reproducible_on_a_busy_machine(trained, store, credit_data, busy_machine):
    """Same data and seed, the same tuned model, with two processes competing for the cores and XGBoost on one thread
    instead of all: the search runs all its trials however slow they are (issue 31: a search bounded in seconds once
    gave test ROC AUC 0.712 under load and 0.780 on a quiet machine), and `hist` sums the same whatever the threads.
    One thread also spares CI the minutes that XGBoost's OpenMP barriers can cost beside busy processes."""
    # A new interpreter (its own hash seed; OpenMP reads the variable as it loads) against the session's run.
    again = credit("train", "--data", credit_data, env=store | {"OMP_NUM_THREADS": "1"}, fresh=True)
    assert again.exit_code == 0, again.stderr[-2000:]
    assert again.result["validation_roc_auc"] == trained["validation_roc_auc"]
    assert again.result["decision_threshold"] == trained["decision_threshold"]
    runs = [client_for(store).get_run(result["run_id"]) for result in (trained, again.result)]
    # The session's run was also evaluated (test_* and fairness metrics): compare what training measured, not the
    # machine's share in it (system/* metrics, peak RSS, seconds).
    machine = ("system/", "train_peak_rss_mb")
    trained_only = [key for key in runs[1].data.metrics if "seconds" not in key and not key.startswith(machine)]
    measured = [{key: run.data.metrics[key] for key in trained_only} for run in runs]
    assert measured[0] == measured[1] and measured[0]["tuning_trials"] == 20
    reproduce = runs[0].data.tags["nivesh.reproduce"]  # what a rerun needs, quoted by the version's description
    assert reproduce.startswith("seed 42; ") and "CPU threads; " in reproduce
    assert runs[1].data.tags["nivesh.reproduce"].startswith("seed 42; 1 CPU threads; ")  # OpenMP's, where set
    assert re.search(r"\bxgboost[\w-]* \d+\.\d+", reproduce), reproduce
    trials = [
        load_from_store(store, f"runs:/{run.info.run_id}/tuning/trials.json", mlflow.artifacts.load_dict)
        for run in runs
    ]
    tried = [_without_seconds(table) for table in trials]
    assert tried[0] == tried[1], "the same hyperparameters tried, in the same order, with the same scores"


def _without_seconds(table: dict) -> list[list]:
    seconds = table["columns"].index("seconds")
    return [[value for index, value in enumerate(row) if index != seconds] for row in table["data"]]


def test_a_search_cut_short_by_its_safety_cap_fails_the_step(store, credit_data):
    before = version_count(store, MODEL)
    cut = credit("train", "--data", credit_data, "--tune-trials", 500, "--tune-seconds", 1, env=store)
    assert cut.exit_code == 1 and "Traceback" not in cut.stderr
    assert "tuning stopped at its 1 s safety cap after" in cut.result["error"]
    assert "of 500 trials" in cut.result["error"] and "the run ends failed" in cut.result["error"]
    assert version_count(store, MODEL) == before


def test_train_tunes_weighs_calibrates_and_chooses_the_threshold(trained, store):
    run = client_for(store).get_run(trained["run_id"])
    metrics, params = run.data.metrics, run.data.params
    assert metrics["tuning_trials"] == 20  # the default budget, all within its seconds on 1,500 rows
    assert metrics["tuning_best_validation_roc_auc"] >= metrics["tuning_default_validation_roc_auc"]
    trials = load_from_store(store, f"runs:/{trained['run_id']}/tuning/trials.json", mlflow.artifacts.load_dict)
    assert len(trials["data"]) == 20 and "max_depth" in trials["columns"]
    assert float(params["scale_pos_weight"]) > 1  # fewer defaults than repayments: defaults weigh more
    assert (params["calibration"], params["threshold_rule"], params["cost_ratio"]) == ("sigmoid", "cost", "5.0")
    # a missed default costs five refusals: the threshold sits well below 0.5 on calibrated probabilities
    assert 0.05 < trained["decision_threshold"] < 0.5
    # on the test split, before and after (on this 1,500-row sample the scores are nearly calibrated already)
    assert {"test_brier_score_before_calibration", "test_brier_score_after_calibration"} <= set(metrics)
    scoring = load_from_store(store, f"runs:/{trained['run_id']}/scoring.json", mlflow.artifacts.load_dict)
    assert scoring["threshold"] == pytest.approx(trained["decision_threshold"], abs=1e-6)
    assert scoring["calibration"]["method"] == "sigmoid"


def test_without_a_search_or_calibration_and_with_the_recall_rule(store, credit_data):
    flags = ("--tune-trials", 0, "--calibration", "none", "--threshold-rule", "recall")
    run = credit("train", "--data", credit_data, *flags, env=store)
    assert run.exit_code == 0, run.stderr
    logged = client_for(store).get_run(run.result["run_id"])
    assert "tuning_trials" not in logged.data.metrics and logged.data.params["max_depth"] == "5"
    assert logged.data.metrics["validation_recall_at_threshold"] >= 0.65  # the recall gate's


@pytest.mark.parametrize(
    ("flag", "value", "named"),
    [
        ("--calibration", "platt", "'platt' is not one of"),
        ("--tune-trials", "-1", "'--tune-trials': Input should be greater than or equal to 0"),
        ("--cost-ratio", "inf", "'--cost-ratio': Input should be less than or equal to 1000"),
    ],
)
def test_decision_flags_outside_their_choices_or_range_are_refused(store, credit_data, flag, value, named):
    run = credit("train", "--data", credit_data, flag, value, env=store)
    assert run.exit_code == 2 and named in run.stderr


def test_fairness_logs_groups_and_disparate_impact(trained, store):
    run = credit("fairness", "--run-id", trained["run_id"], *LENIENT_FAIRNESS, env=store)
    assert run.exit_code == 0, run.stderr
    assert set(run.result["by_group"]) == {"18-25", "26-35", "36-50", "51-plus"}
    assert set(run.result["by_group"]["18-25"]) == {
        "accuracy",
        "selection_rate",
        "true_positive_rate",
        "false_positive_rate",
    }
    rates = [group["selection_rate"] for group in run.result["by_group"].values()]
    assert run.result["disparate_impact_ratio"] == pytest.approx(min(rates) / max(rates), abs=1e-6)


def test_fairness_gate_failure_exits_3(trained, store):
    run = credit("fairness", "--run-id", trained["run_id"], "--min-disparate-impact", "1.0", env=store)
    assert run.exit_code == 3
    assert run.result["gate"]["failed"][0]["metric"] == "disparate_impact_ratio"
    # Restore the passing gate for the registry tests below.
    assert credit("fairness", "--run-id", trained["run_id"], *LENIENT_FAIRNESS, env=store).exit_code == 0


def test_evaluate_gate_failure_names_metric_value_threshold_and_blocks_register(trained, store):
    run = credit("evaluate", "--run-id", trained["run_id"], "--min-accuracy", "0.999", env=store)
    assert run.exit_code == 3
    failed = run.result["gate"]["failed"]
    assert [check["metric"] for check in failed] == ["test_accuracy"]
    assert failed[0]["threshold"] == 0.999 and failed[0]["value"] < 0.999
    assert "test_accuracy" in run.error_lines[-1]
    refused = credit("register", "--run-id", trained["run_id"], env=store)
    assert refused.exit_code == 3
    assert version_count(store, MODEL) == 1, "only the v1 registered while its gates passed"


def test_register_promote_rollback_lifecycle(production, trained, store, credit_data):
    assert credit("evaluate", "--run-id", trained["run_id"], env=store).exit_code == 0  # its gate passes again
    first = production.registered.result  # the session's registry: its first registration and promotion
    assert first["version"] == 1 and first["newly_registered"]
    repeat = credit("register", "--run-id", trained["run_id"], env=store)
    assert repeat.result["version"] == 1 and not repeat.result["newly_registered"]
    assert version_count(store, MODEL) == 1

    promoted = production.promoted.result
    assert promoted["promoted"] and promoted["reason"] == "no production version yet"
    assert credit("promote", "--version", 1, env=store).result["reason"] == "already production"

    second_run = credit("train", "--data", credit_data, "--seed", 5, "--tune-trials", 0, env=store).result["run_id"]
    assert credit("fairness", "--run-id", second_run, *LENIENT_FAIRNESS, env=store).exit_code == 0
    assert credit("evaluate", "--run-id", second_run, env=store).exit_code == 0
    assert credit("register", "--run-id", second_run, env=store).result["version"] == 2
    second = credit("promote", "--version", 2, "--tolerance", 1.0, env=store)
    assert second.result["promoted"] and second.result["champion_version"] == 1
    assert aliases(store, MODEL) == {"production": 2, "previous": 1}

    rolled = credit("rollback", env=store)
    assert (rolled.result["production_version"], rolled.result["rolled_back_version"]) == (1, 2)
    assert aliases(store, MODEL)["production"] == 1
    again = credit("rollback", env=store)
    assert again.exit_code == 2 and "production stays v1" in again.result["error"]
    assert aliases(store, MODEL)["production"] == 1
    for hostile in ("two", "0", "-1"):
        refused = credit("rollback", "--to", hostile, env=store)
        assert refused.exit_code == 2 and "a version number (1 or more) or 'previous'" in refused.result["error"]
    forward = credit("rollback", "--to", "2", env=store)  # an operator's choice: any version that passed its gates
    assert forward.result["production_version"] == 2 and aliases(store, MODEL)["production"] == 2


def test_promote_keeps_production_when_candidate_is_worse(store, credit_data):
    one_stump = ("--n-estimators", 1, "--max-depth", 1, "--tune-trials", 0)
    weak = credit("train", "--data", credit_data, *one_stump, env=store).result["run_id"]
    credit("fairness", "--run-id", weak, "--min-disparate-impact", 0, env=store)
    evaluation = ("--min-accuracy", 0, "--min-precision", 0, "--min-recall", 0, "--min-roc-auc", 0)
    assert credit("evaluate", "--run-id", weak, *evaluation, env=store).exit_code == 0
    version = credit("register", "--run-id", weak, env=store).result["version"]
    before = aliases(store, MODEL)["production"]
    kept = credit("promote", "--version", version, env=store)
    assert kept.exit_code == 0 and not kept.result["promoted"]
    assert "worse than production" in kept.result["reason"]
    assert aliases(store, MODEL)["production"] == before


def test_unknown_run_id_is_bad_input(store):
    run = credit("evaluate", "--run-id", "0123456789abcdef" * 2, env=store)
    assert run.exit_code == 2 and "no such MLflow run" in run.result["error"]


def test_help_lists_every_subcommand(step_env):
    run = credit("--help", env=step_env)
    for subcommand in (
        "sample-data",
        "validate",
        "validate-features",
        "train",
        "fairness",
        "evaluate",
        "register",
        "promote",
        "rollback",
        "smoke-test",
    ):
        assert subcommand in run.stdout


def test_the_served_model_scores_raw_applications_as_training_did(trained, store, credit_data):
    """What the app sends: rows of the data contract (text categories, whole numbers, an identifier column)."""
    applications = pd.read_csv(credit_data).drop(columns=["default"]).head(40)
    served = load_from_store(store, trained["model_uri"], mlflow.pyfunc.load_model)
    answer = served.predict(applications)
    assert list(answer.columns) == ["default_probability", "decision", "reasons"] and len(answer) == 40
    assert set(answer["decision"]) <= {"approve", "refuse"}
    refused = answer["default_probability"] >= trained["decision_threshold"]
    assert (refused == (answer["decision"] == "refuse")).all()
    assert refused.any() and not refused.all()
    features = set(trained["features"]["numeric"]) | set(trained["features"]["categorical"])
    assert all(0 < len(reasons) <= 3 and set(reasons) <= features for reasons in answer.loc[refused, "reasons"])

    def scored_as_in_training(model_uri: str):
        return score(load_model(model_uri), load_scoring(trained["run_id"]), applications, "test applications")

    in_training = load_from_store(store, trained["model_uri"], scored_as_in_training)
    assert answer["default_probability"].to_numpy() == pytest.approx(in_training, abs=1e-6)

    one = applications.head(1).assign(employment_type="a kind never seen in training")
    (probability,) = served.predict(one)["default_probability"]
    assert 0 <= probability <= 1
