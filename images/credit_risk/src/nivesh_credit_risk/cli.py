"""`nivesh-credit-risk`: the credit risk scorer's steps (see the README's data contract)."""

import logging
from typing import Annotated

import typer

from nivesh_common.cli import run_app, step, step_app
from nivesh_common.options import DataPath, OutPath, RunId, Seed
from nivesh_common.registry import PromotionPolicy
from nivesh_common.registry_commands import add_registry_commands
from nivesh_credit_risk import MODEL_NAME
from nivesh_credit_risk.gates import (
    DEFAULT_MIN_DISPARATE_IMPACT,
    DEFAULT_THRESHOLDS,
    MIN_GROUP_SIZE,
    PROMOTION_METRIC,
    PROMOTION_TOLERANCE,
)
from nivesh_credit_risk.schema import DEFAULT_POSITIVE_LABEL, DEFAULT_PROTECTED_ATTRIBUTE, DEFAULT_TARGET

log = logging.getLogger("nivesh.credit_risk")

app = step_app("Credit risk scorer (XGBoost): data, training, gates and registry steps.")

Target = Annotated[str, typer.Option("--target", help="Column holding the label.")]
PositiveLabel = Annotated[str, typer.Option("--positive-label", help="Target value meaning 'defaulted'.")]
Share = Annotated[float, typer.Option(min=0.0, max=1.0)]
Protected = Annotated[
    str, typer.Option("--protected-attribute", help="Column for fairness groups; not used as a feature. '' for none.")
]


@app.command("sample-data")
@step
def sample_data(out: OutPath, rows: Annotated[int, typer.Option(min=1)] = 20_000, seed: Seed = 7) -> dict:
    """Write synthetic credit applications with a realistic default label."""
    from nivesh_common.data import write_table
    from nivesh_credit_risk.sample_data import credit_applications

    table = credit_applications(rows, seed)
    write_table(table, out)
    log.info("wrote %d applications to %s (default rate %.3f)", rows, out, table[DEFAULT_TARGET].mean())
    return {"path": out, "rows": rows, "default_rate": round(float(table[DEFAULT_TARGET].mean()), 4)}


@app.command()
@step
def validate(
    data: DataPath,
    target: Target = DEFAULT_TARGET,
    positive_label: PositiveLabel = DEFAULT_POSITIVE_LABEL,
    protected_attribute: Protected = DEFAULT_PROTECTED_ATTRIBUTE,
) -> dict:
    """Check the table against the data contract: readable, target binary with the positive label, no empty column."""
    from nivesh_common.data import read_table
    from nivesh_credit_risk.features import detect_features
    from nivesh_credit_risk.schema import TargetSpec, check_table

    table = read_table(data)
    labels = check_table(table, TargetSpec(target, positive_label), protected_attribute, data)
    spec = detect_features(table, [target, protected_attribute])
    log.info("%s: %d rows, %d features, positive rate %.3f", data, len(table), len(spec.columns), labels.mean())
    return {
        "path": data,
        "rows": len(table),
        "positive_rate": round(float(labels.mean()), 4),
        "features": spec.to_dict(),
    }


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
def train(
    data: DataPath,
    target: Target = DEFAULT_TARGET,
    positive_label: PositiveLabel = DEFAULT_POSITIVE_LABEL,
    protected_attribute: Protected = DEFAULT_PROTECTED_ATTRIBUTE,
    seed: Seed = 42,
    n_estimators: Annotated[int, typer.Option(min=1)] = 400,
    learning_rate: Annotated[float, typer.Option(min=0.0)] = 0.08,
    max_depth: Annotated[int, typer.Option(min=1)] = 5,
) -> dict:
    """Train on a reproducible split; log model, signature, data lineage, ROC curve and confusion matrix."""
    from nivesh_common.data import read_table
    from nivesh_common.tracking import training_run
    from nivesh_credit_risk.schema import TargetSpec, check_table
    from nivesh_credit_risk.training import TrainingConfig, train_scorer

    table = read_table(data)
    target_spec = TargetSpec(target, positive_label)
    labels = check_table(table, target_spec, protected_attribute or None, data)
    config = TrainingConfig(
        target_spec,
        protected_attribute or None,
        seed,
        n_estimators=n_estimators,
        learning_rate=learning_rate,
        max_depth=max_depth,
    )
    with training_run(MODEL_NAME) as run:
        trained = train_scorer(table, labels, config, data)
    return {"run_id": run.info.run_id, **trained}


@app.command()
@step
def fairness(
    run_id: RunId,
    min_disparate_impact: Share = DEFAULT_MIN_DISPARATE_IMPACT,
    min_group_size: Annotated[int, typer.Option(min=1)] = MIN_GROUP_SIZE,
) -> dict:
    """Per-age-group metrics (fairlearn MetricFrame) and the disparate impact ratio gate."""
    import mlflow

    from nivesh_common.errors import BadInputError
    from nivesh_common.gates import enforce_gate, evaluate_gate, record_gate
    from nivesh_common.settings import load_tracking_settings
    from nivesh_common.tracking import connect, get_run, load_table, model_uri_of
    from nivesh_credit_risk.evaluation import LABEL, TEST_SPLIT, load_model, score
    from nivesh_credit_risk.fairness import (
        check_group_sizes,
        disparate_impact_threshold,
        fairness_metrics,
        protected_groups,
    )

    client = connect(load_tracking_settings())
    run = get_run(client, run_id)
    attribute = run.data.params.get("protected_attribute")
    if not attribute:
        raise BadInputError(f"--run-id {run_id}: trained without --protected-attribute; nothing to judge")
    test = load_table(run_id, TEST_SPLIT)
    groups = protected_groups(test[attribute])
    sizes = check_group_sizes(groups, min_group_size)
    predicted = (score(load_model(model_uri_of(run)), run_id, test) >= 0.5).astype(int)
    by_group, ratio = fairness_metrics(test[LABEL].to_numpy(), predicted, groups)
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metric("disparate_impact_ratio", ratio)
        for group, metrics in by_group.items():
            mlflow.log_metrics({f"fairness/{group}/{name}": value for name, value in metrics.items()})
        mlflow.log_dict({"attribute": attribute, "group_sizes": sizes, "by_group": by_group}, "fairness/report.json")
    report = evaluate_gate(
        "fairness", {"disparate_impact_ratio": ratio}, disparate_impact_threshold(min_disparate_impact)
    )
    record_gate(run_id, report)
    enforce_gate(report)
    return {
        "run_id": run_id,
        "attribute": attribute,
        "disparate_impact_ratio": round(ratio, 6),
        "group_sizes": sizes,
        "by_group": by_group,
        "gate": report,
    }


@app.command()
@step
def evaluate(
    run_id: RunId,
    min_accuracy: Share = DEFAULT_THRESHOLDS["accuracy"],
    min_precision: Share = DEFAULT_THRESHOLDS["precision"],
    min_recall: Share = DEFAULT_THRESHOLDS["recall"],
    min_roc_auc: Share = DEFAULT_THRESHOLDS["roc_auc"],
) -> dict:
    """Test-split accuracy, precision, recall, F1 and ROC AUC against the gate's thresholds."""
    import mlflow

    from nivesh_common.gates import enforce_gate, evaluate_gate, record_gate
    from nivesh_common.settings import load_tracking_settings
    from nivesh_common.tracking import connect, get_run, load_table, model_uri_of
    from nivesh_credit_risk.evaluation import LABEL, TEST_SPLIT, classification_metrics, load_model, score, thresholds

    client = connect(load_tracking_settings())
    run = get_run(client, run_id)
    test = load_table(run_id, TEST_SPLIT)
    metrics = classification_metrics(test[LABEL].to_numpy(), score(load_model(model_uri_of(run)), run_id, test))
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(metrics)
    minimums = {"accuracy": min_accuracy, "precision": min_precision, "recall": min_recall, "roc_auc": min_roc_auc}
    report = evaluate_gate("evaluate", metrics, thresholds(minimums))
    record_gate(run_id, report)
    enforce_gate(report)
    return {"run_id": run_id, "metrics": {name: round(value, 6) for name, value in metrics.items()}, "gate": report}


add_registry_commands(
    app,
    MODEL_NAME,
    PromotionPolicy(metric=PROMOTION_METRIC, tolerance=PROMOTION_TOLERANCE, required_gates=("fairness", "evaluate")),
    "nivesh_credit_risk.evaluation:score_champion",
)


def main() -> None:
    run_app(app, "nivesh-credit-risk")
