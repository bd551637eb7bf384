"""`nivesh-drift`: is new data different enough from what production was trained on to retrain?"""

import logging
from typing import Annotated

import typer

from nivesh_common.cli import run_app, step, step_app
from nivesh_common.options import setting_option
from nivesh_contract.catalog import DRIFT_IMAGE, MASTER
from nivesh_contract.declaration import DRIFT_SHARE_HELP
from nivesh_contract.results import DriftDecision, DriftReport

log = logging.getLogger("nivesh.drift")

app = step_app("Drift detection (Evidently): new data against the production version's reference snapshot.")

MAX_DATA_AGE, DRIFT_SHARE = MASTER.settings
ModelName = Annotated[str, typer.Option("--model", help="Registered model name, as declared.")]


@app.command()
@step
def check(
    model: ModelName,
    current: Annotated[str, typer.Option("--current", help="New data: local path or fsspec URL, CSV or Parquet.")],
    drift_share: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help=f"{DRIFT_SHARE_HELP} Default: the model's declared share.")
    ] = None,
    date_order: Annotated[
        str, typer.Option(help="day-first or month-first, for dates such as 03/04/2026; empty: such dates are refused.")
    ] = "",
) -> DriftDecision:
    """Compare new data with the reference snapshot of MODEL's production version; say whether to retrain."""
    from nivesh_common.data import read_table
    from nivesh_common.settings import load_tracking_settings
    from nivesh_common.tracking import connect
    from nivesh_drift.retraining import drift_decision

    declared = _declared(model, "--model")
    settings = load_tracking_settings()
    table = read_table(current)
    share = declared.drift_share if drift_share is None else drift_share
    return drift_decision(connect(settings), settings, model, (table, current), share, date_order)


@app.command()
@step
def report(
    models: Annotated[list[str], typer.Option("--models", help="MODEL=PATH of its new data; once per model.")],
    drift_share: Annotated[float, setting_option(DRIFT_SHARE)] = DRIFT_SHARE.default,
) -> DriftReport:
    """One drift run over several models (the master pipeline's): a summary table and a report per model."""
    import mlflow

    from nivesh_common.cli import not_the_steps_fault
    from nivesh_common.data import read_table
    from nivesh_common.errors import BadInputError, GateFailedError
    from nivesh_common.logs import redacted
    from nivesh_common.settings import load_tracking_settings
    from nivesh_common.tracking import connect, run_labels, use_experiment
    from nivesh_contract.names import DRIFT_EXPERIMENT, STEP_TAG
    from nivesh_drift.retraining import drift_decision, summary_table

    pairs = _model_paths(models, "--models")
    settings = load_tracking_settings()
    client = connect(settings)
    use_experiment(DRIFT_EXPERIMENT, settings)
    run_name, airflow_tags = run_labels("drift-report", "report")
    with mlflow.start_run(run_name=run_name, tags={STEP_TAG: "run_drift_detection", **airflow_tags}) as run:
        rows = []
        for name, path in pairs:
            try:
                rows.append(drift_decision(client, settings, name, (read_table(path), path), drift_share))
            except BadInputError as exc:  # one model's bad data must not hide the others
                rows.append({"model": name, "retrain": None, "reason": f"bad input: {exc}"})
            except GateFailedError as exc:
                rows.append({"model": name, "retrain": None, "reason": f"data quality: {exc}"})
            except Exception as exc:  # a crash on one model's data is that model's row; a lost server is everyone's
                if not_the_steps_fault(exc):
                    raise
                log.exception("drift check of %s failed", name)
                rows.append({"model": name, "retrain": None, "reason": f"check failed: {type(exc).__name__}: {exc}"})
        summary = redacted(summary_table(rows))  # a row's reason may quote its data URL
        mlflow.log_text(summary, "summary.md")
    return {"models": rows, "summary": summary, "report_run_id": run.info.run_id}


@app.command()
@step
def freshness(
    data: Annotated[list[str], typer.Option("--data", help="MODEL=PATH of its training data; once per model.")],
    max_data_age_days: Annotated[float, setting_option(MAX_DATA_AGE)] = MAX_DATA_AGE.default,
) -> dict:
    """Check that every model's training data was updated within MAX_DATA_AGE_DAYS (exit 3 naming each stale one)."""
    from nivesh_drift.freshness import check_freshness

    return check_freshness(dict(_model_paths(data, "--data")), max_data_age_days)


def _declared(name: str, option: str):
    from nivesh_common.errors import BadInputError
    from nivesh_contract.catalog import UnknownModelError, model_named

    try:
        return model_named(name)
    except UnknownModelError as exc:
        raise BadInputError(f"{option} {exc}") from None


def _model_paths(items: list[str], option: str) -> list[tuple[str, str]]:
    """`MODEL=PATH` pairs, each a declared model."""
    from nivesh_common.errors import BadInputError

    pairs = []
    for item in items:
        name, separator, path = item.partition("=")
        if not separator or not path:
            raise BadInputError(f"{option} {item}: expected MODEL=PATH")
        pairs.append((_declared(name, option).name, path))
    return pairs


def main() -> None:
    run_app(app, DRIFT_IMAGE.console_script)
