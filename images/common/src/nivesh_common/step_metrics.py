"""A step's figures for Prometheus, pushed to the Pushgateway named by NIVESH_PUSHGATEWAY_URL (unset: nothing).

Pushed, not scraped: a step is a batch job that ends before any scrape would find it. A step's push replaces its
group (job, model, step), so a rerun updates the figures instead of adding series. Production has a group of its own
(model), written only when the alias moves, metric by metric: a rollback changes the version, not when the model was
last promoted. A gateway that does not answer costs the step at most PUSH_TIMEOUT_S and one warning, never its result.
"""

import functools
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, pushadd_to_gateway

from nivesh_common.logs import redacted
from nivesh_contract.catalog import MODELS
from nivesh_contract.deployment import PUSHGATEWAY_VARIABLE

log = logging.getLogger(__name__)

PUSH_TIMEOUT_S = 3.0
STEP_JOB = "nivesh_step"
PRODUCTION_JOB = "nivesh_production"


def push_step_metrics(result: dict) -> None:
    """Push what this step did; `result` is its contract result."""
    url = os.environ.get(PUSHGATEWAY_VARIABLE, "").strip()
    script, step = Path(sys.argv[0]).name, (sys.argv[1:] or [""])[0]  # `IMAGE SUBCOMMAND ...`, always
    model = result.get("model") or _model_of(script)
    if not url or not model:
        return
    try:
        push_to_gateway(url, STEP_JOB, _step_figures(result), {"model": model, "step": step}, timeout=PUSH_TIMEOUT_S)
        if (moved := _production_figures(step, result)) is not None:
            pushadd_to_gateway(url, PRODUCTION_JOB, moved, {"model": model}, timeout=PUSH_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - monitoring must never fail a step
        log.warning("metrics not pushed to %s: %s", redacted(url), redacted(str(exc))[:300])


def _model_of(script: str) -> str:
    """The model whose image has this console script; empty for the drift image (its results name the model)."""
    return next((model.name for model in MODELS if model.image.console_script == script), "")


def _step_figures(result: dict) -> CollectorRegistry:
    figures = CollectorRegistry()
    gauge = functools.partial(Gauge, registry=figures)
    gauge("nivesh_step_duration_seconds", "Wall seconds of the step's last run.").set(result["elapsed_s"])
    gauge("nivesh_step_last_run_timestamp_seconds", "When the step's last run ended (Unix time).").set(time.time())
    status = gauge("nivesh_step_status", "1 for the last run's status: ok, bad_input, gate_failed, error.", ["status"])
    status.labels(str(result["status"])).set(1)
    for name, help_text, value in _result_figures(result):
        gauge(name, help_text).set(value)
    if isinstance(result.get("metrics"), dict):
        scores = gauge("nivesh_evaluation_metric", "The candidate's scores at its last evaluation.", ["metric"])
        for metric, value in result["metrics"].items():
            if isinstance(value, int | float):
                scores.labels(metric).set(value)
    return figures


def _result_figures(result: dict) -> Iterator[tuple[str, str, float]]:
    if isinstance(result.get("rows"), int):
        yield "nivesh_data_rows", "Rows of data the step's last run read (validate, train).", result["rows"]
    if isinstance(result.get("drift_share"), int | float):
        share = "Share of drifted columns, new data against production's reference, before training."
        yield "nivesh_drift_share", share, result["drift_share"]
    if isinstance(result.get("dataset_drift"), bool):
        detected = "1 where that share is over the model's declared threshold (its pipeline retrains)."
        yield "nivesh_drift_detected", detected, float(result["dataset_drift"])
    if isinstance(result.get("version"), int) and "newly_registered" in result:
        yield "nivesh_registered_version", "The version the last register made or found.", result["version"]


def _production_figures(step: str, result: dict) -> CollectorRegistry | None:
    """The production group's new figures where the step moved the alias, else None."""
    promoted = step == "promote" and result.get("promoted") and not result.get("dry_run")
    promoted = promoted and result.get("reason") != "already production"
    staging_promoted = step == "rollout-evaluate" and result.get("decision") == "promoted"
    rolled_back = (step == "rollback" and "rolled_back_version" in result) or result.get("smoke_test") == "failed"
    if not (promoted or staging_promoted or rolled_back):
        return None
    figures = CollectorRegistry()
    gauge = functools.partial(Gauge, registry=figures)
    version = result["staging"]["version"] if staging_promoted else result.get("production_version") or 0
    promoted = promoted or staging_promoted
    gauge("nivesh_production_version", "The production version; 0: none.").set(version)
    if promoted:
        gauge("nivesh_last_promotion_timestamp_seconds", "When a new version last reached production.").set(time.time())
    return figures
