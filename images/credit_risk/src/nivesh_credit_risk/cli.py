"""`nivesh-credit-risk`: the credit risk scorer's steps (see the README's data contract)."""

from typing import Annotated, Any

import typer

from nivesh_common.cli import step
from nivesh_common.gate_command import Measurement, TrainedRun, gate_command
from nivesh_common.model_cli import Sample, declared_options, model_app, sample_data_command
from nivesh_common.options import DataPath, Seed
from nivesh_contract.catalog import model_named
from nivesh_contract.results import Trained

MODEL = model_named("credit_risk_scorer")
app, main = model_app(MODEL, "Credit risk scorer (XGBoost)", "nivesh_credit_risk.evaluation:promotion_score")
MIN_GROUP_SIZE = 5


@sample_data_command(app)
def sample_data(rows: Annotated[int, typer.Option(min=1)] = 20_000, seed: Seed = 7) -> Sample:
    """Write synthetic credit applications with a realistic default label."""
    from nivesh_credit_risk.sample_data import credit_applications

    table = credit_applications(rows, seed)
    return Sample(table, {"default_rate": round(float(table[MODEL.option("target").default].mean()), 4)})


def _checked_table(data: str, target: str, positive_label: str, protected_attribute: str):
    """The table and its encoded target, checked against the data contract."""
    from nivesh_common.data import read_table
    from nivesh_credit_risk.schema import TargetSpec, check_table

    table = read_table(data)
    return table, check_table(table, TargetSpec(target, positive_label), protected_attribute or None, data)


@app.command()
@step
@declared_options(MODEL, "validate")
def validate(data: DataPath, **contract: str) -> dict:
    """Check the table against the data contract: readable, target binary with the positive label, no empty column."""
    from nivesh_credit_risk.features import detect_features

    table, labels = _checked_table(data, **contract)
    spec = detect_features(table, [contract["target"], contract["protected_attribute"]])
    positive_rate = round(float(labels.mean()), 4)
    return {"path": data, "rows": len(table), "positive_rate": positive_rate, "features": spec.to_dict()}


@app.command("validate-features")
@step
def validate_features(data: DataPath) -> dict:
    """Check engineered features (debt_to_income, loan_to_income, credit_utilization): present, finite, in range."""
    from nivesh_common.data import read_table
    from nivesh_credit_risk.schema import check_engineered_features

    ranges = check_engineered_features(read_table(data), data)
    return {"path": data, "features": ranges}


@app.command()
@step
@declared_options(MODEL, "train")
def train(
    data: DataPath,
    seed: Seed = 42,
    n_estimators: Annotated[int, typer.Option(min=1, help="Most trees (early stopping picks how many).")] = 400,
    learning_rate: Annotated[float, typer.Option(min=0.0, help="Untuned (and the search's first trial).")] = 0.08,
    max_depth: Annotated[int, typer.Option(min=1, help="Untuned (and the search's first trial).")] = 5,
    **options: Any,
) -> Trained:
    """Tune, train (class-weighted), calibrate and choose the decision threshold on a reproducible split; log the
    model with its reasons, the search, ROC, reliability, importance and confusion plots, and data lineage."""
    from nivesh_common.training import TrainingData, run_training
    from nivesh_credit_risk.calibration import CalibrationMethod
    from nivesh_credit_risk.operating_point import ThresholdRule
    from nivesh_credit_risk.schema import TargetSpec
    from nivesh_credit_risk.training import DecisionPolicy, TrainingConfig, train_scorer
    from nivesh_credit_risk.tuning import Hyperparameters, TuningBudget

    contract = {name: options.pop(name) for name in ("target", "positive_label", "protected_attribute")}
    table, labels = _checked_table(data, **contract)
    config = TrainingConfig(
        TargetSpec(contract["target"], contract["positive_label"]),
        contract["protected_attribute"] or None,
        seed,
        hyperparameters=Hyperparameters(n_estimators, learning_rate, max_depth),
        tuning=TuningBudget(options["tune_trials"], options["tune_seconds"]),
        policy=DecisionPolicy(
            CalibrationMethod(options["calibration"]),
            ThresholdRule(options["threshold_rule"]),
            options["cost_ratio"],
            target_recall=MODEL.threshold("test_recall").default,
        ),
    )
    training_data = TrainingData(table, data, config.target.column)
    return run_training(MODEL, training_data, lambda: train_scorer(table, labels, config, data))


@gate_command(app, MODEL, MODEL.gate("fairness"))
def fairness(run: TrainedRun, min_group_size: Annotated[int, typer.Option(min=1)] = MIN_GROUP_SIZE) -> Measurement:
    """Per-age-group metrics (fairlearn MetricFrame) and the disparate impact ratio gate."""
    from nivesh_credit_risk.fairness import measure_fairness

    return measure_fairness(run, min_group_size)


@gate_command(app, MODEL)
def evaluate(run: TrainedRun) -> Measurement:
    """Test-split accuracy, precision, recall and F1 at the run's decision threshold, and ROC AUC, PR AUC and
    Brier score, against the gate's thresholds."""
    from nivesh_credit_risk.evaluation import measure_classification

    return measure_classification(run)
