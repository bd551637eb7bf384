"""Gate commands (`evaluate`, credit risk's `fairness`): the same frame for every model.

A model supplies only its measurement. The command finds the run, logs the metrics on it, checks
them against the model's declared thresholds for that gate (each a flag with its declared default and
range), records the outcome as a run tag and a JSON artifact, and exits 3 when the gate failed.
"""

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import typer

from nivesh_common.cli import step
from nivesh_common.options import RunId, setting_parameter
from nivesh_common.settings import load_tracking_settings
from nivesh_contract.declaration import EVALUATE_GATE, Gate, ModelDeclaration, Threshold
from nivesh_contract.results import Judged


@dataclass(frozen=True)
class TrainedRun:
    """The training run a gate judges: what a measurement reads of it, without MLflow's own classes."""

    run_id: str
    params: dict[str, str]
    tags: dict[str, str]
    model_uri: str  # the model `train` logged


@dataclass(frozen=True)
class Measurement:
    """Metrics (logged on the run, reported, and what the thresholds read) and more of the result JSON."""

    metrics: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)


# measure(run: TrainedRun, **its own options): runs inside the reopened training run, so it may log artifacts there.
Measure = Callable[..., Measurement]


def gate_command(app: typer.Typer, model: ModelDeclaration, gate: Gate = EVALUATE_GATE) -> Callable[[Measure], Measure]:
    """Decorator: `@gate_command(app, MODEL)` over `def evaluate(run, ...) -> Measurement` adds the command."""

    def add(measure: Measure) -> Measure:
        thresholds = model.thresholds_of(gate.name)
        own = [
            parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for name, parameter in inspect.signature(measure).parameters.items()
            if name != "run"
        ]

        def command(run_id: str, **options: Any) -> Judged:
            limits = {threshold: options.pop(threshold.name) for threshold in thresholds}
            return judge(model.name, gate.name, run_id, functools.partial(measure, **options), limits)

        run_id = inspect.Parameter("run_id", inspect.Parameter.KEYWORD_ONLY, annotation=RunId)
        parameters = [run_id, *own, *map(setting_parameter, thresholds)]
        command.__signature__ = inspect.Signature(parameters, return_annotation=Judged)
        command.__name__, command.__doc__ = measure.__name__, measure.__doc__
        app.command(gate.subcommand)(step(command))
        return measure

    return add


def judge(
    model: str, gate: str, run_id: str, measure: Callable[[TrainedRun], Measurement], limits: dict[Threshold, float]
) -> Judged:
    import mlflow

    from nivesh_common.gates import enforce_gate, evaluate_gate, record_gate
    from nivesh_common.tracking import connect, get_run, model_uri_of, require_run_of

    run = get_run(connect(load_tracking_settings()), run_id)
    require_run_of(run, model, "nothing judged or recorded")
    trained = TrainedRun(run_id, run.data.params, run.data.tags, model_uri_of(run))
    mlflow.start_run(run_id=run_id)
    try:
        measured = measure(trained)
        mlflow.log_metrics(measured.metrics)
    finally:
        # FINISHED whatever happened: bad input to a gate says nothing about how the training run went.
        mlflow.end_run()
    report = evaluate_gate(gate, measured.metrics, limits)
    record_gate(run_id, report)
    metrics = {name: round(value, 6) for name, value in measured.metrics.items()}
    judged = {"run_id": run_id, "metrics": metrics, **measured.details, "gate": report}
    enforce_gate(report, judged)  # a failed gate's result says what was measured as well
    return judged
