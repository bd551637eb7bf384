"""`nivesh-drift`: is new data different enough from what production was trained on to retrain?"""

import logging
from typing import Annotated

import typer

from nivesh_common.cli import run_app, step, step_app

log = logging.getLogger("nivesh.drift")

app = step_app("Drift detection (Evidently): new data against the production version's reference snapshot.")


@app.command()
@step
def check(
    model: Annotated[str, typer.Option("--model", help="Registered model name, as in the catalog.")],
    current: Annotated[str, typer.Option("--current", help="New data: local path or fsspec URL, CSV or Parquet.")],
    drift_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of drifted columns that is drift.")] = 0.5,
) -> dict:
    """Compare new data with the reference snapshot of MODEL's production version; say whether to retrain."""
    from nivesh_common.data import read_table
    from nivesh_common.errors import BadInputError
    from nivesh_common.settings import load_tracking_settings
    from nivesh_common.tracking import connect
    from nivesh_drift.profiles import PROFILES
    from nivesh_drift.retraining import drift_decision

    if model not in PROFILES:
        raise BadInputError(f"--model {model}: not in the catalog (known: {', '.join(sorted(PROFILES))})")
    settings = load_tracking_settings()
    table = read_table(current)
    return drift_decision(connect(settings), settings, PROFILES[model], table, current, drift_share)


@app.command()
@step
def report(
    models: Annotated[list[str], typer.Option("--models", help="MODEL=PATH of its new data; once per model.")],
    drift_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of drifted columns that is drift.")] = 0.5,
) -> dict:
    """One drift run over several models (the master pipeline's): a summary table and a report per model."""
    import mlflow

    from nivesh_common.data import read_table
    from nivesh_common.errors import BadInputError
    from nivesh_common.settings import load_tracking_settings
    from nivesh_common.tracking import connect, use_experiment
    from nivesh_drift.profiles import PROFILES
    from nivesh_drift.retraining import DRIFT_EXPERIMENT, drift_decision, summary_table

    pairs = _model_paths(models, "--models")
    settings = load_tracking_settings()
    client = connect(settings)
    use_experiment(DRIFT_EXPERIMENT, settings)
    with mlflow.start_run(run_name="drift-report", tags={"nivesh.step": "run_drift_detection"}) as run:
        rows = []
        for name, path in pairs:
            try:
                rows.append(drift_decision(client, settings, PROFILES[name], read_table(path), path, drift_share))
            except BadInputError as exc:  # one model's bad data must not hide the others
                rows.append({"model": name, "retrain": None, "reason": f"bad input: {exc}"})
        summary = summary_table(rows)
        mlflow.log_text(summary, "summary.md")
    return {"models": rows, "summary": summary, "report_run_id": run.info.run_id}


@app.command()
@step
def freshness(
    data: Annotated[list[str], typer.Option("--data", help="MODEL=PATH of its training data; once per model.")],
    max_data_age_days: Annotated[float, typer.Option(min=0.0, help="Data older than this many days is stale.")] = 30.0,
) -> dict:
    """Check that every model's training data was updated within MAX_DATA_AGE_DAYS (exit 3 naming each stale one)."""
    from nivesh_drift.freshness import check_freshness

    return check_freshness(dict(_model_paths(data, "--data")), max_data_age_days)


def _model_paths(items: list[str], option: str) -> list[tuple[str, str]]:
    """`MODEL=PATH` pairs, each model in the catalog."""
    from nivesh_common.errors import BadInputError
    from nivesh_drift.profiles import PROFILES

    pairs = []
    for item in items:
        name, separator, path = item.partition("=")
        if not separator or not path:
            raise BadInputError(f"{option} {item}: expected MODEL=PATH")
        if name not in PROFILES:
            raise BadInputError(f"{option} {name}: not in the catalog (known: {', '.join(sorted(PROFILES))})")
        pairs.append((name, path))
    return pairs


def main() -> None:
    run_app(app, "nivesh-drift")
