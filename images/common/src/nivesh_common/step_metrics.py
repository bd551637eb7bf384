"""A step's figures for Prometheus, pushed to the Pushgateway named by NIVESH_PUSHGATEWAY_URL (unset: nothing).

Pushed, not scraped: a step is a batch job that ends before any scrape would find it. A step's push replaces its group
(job, model, step), so a rerun updates the figures instead of adding series. What is served has a group of its own
(model), written only when an alias moves, metric by metric: a rollback changes the production version, not when the
model was last promoted; a staged rollout's staging version comes and goes. A gateway that does not answer costs the
step at most PUSH_TIMEOUT_S and one warning, never its result.
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
from nivesh_contract.names import STAGING
from nivesh_contract.rollout import Decision

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
        if (moved := _served_figures(step, result)) is not None:
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


def _served_figures(step: str, result: dict) -> CollectorRegistry | None:
    """The served group's new figures where the step moved production or staging, else None."""
    figures = CollectorRegistry()
    gauge = functools.partial(Gauge, registry=figures)
    if (staging := _staging_moved_to(step, result)) is not None:
        gauge("nivesh_staging_version", "The version a staged rollout serves as staging; 0: none.").set(staging)
    if (production := _production_moved_to(step, result)) is not None:
        gauge("nivesh_production_version", "The production version; 0: none.").set(production)
        if production and _promoted(step, result):
            when = "When a new version last reached production."
            gauge("nivesh_last_promotion_timestamp_seconds", when).set(time.time())
    return figures if staging is not None or production is not None else None


def _promoted(step: str, result: dict) -> bool:
    promoted = step == "promote" and result.get("promoted") and not result.get("dry_run")
    promoted = promoted and result.get("reason") != "already production"
    return bool(promoted) or (step == "rollout-evaluate" and result.get("decision") == Decision.PROMOTED)


def _production_moved_to(step: str, result: dict) -> int | None:
    if step == "rollout-evaluate":
        return result["staging"]["version"] if result.get("decision") == Decision.PROMOTED else None
    failed = result.get("smoke_test") == "failed" and result.get("alias") != STAGING
    if _promoted(step, result) or (step == "rollback" and "rolled_back_version" in result) or failed:
        return result.get("production_version") or 0
    return None


def _staging_moved_to(step: str, result: dict) -> int | None:
    if step == "promote" and "staging_version" in result and not result.get("dry_run"):
        return result["staging_version"]
    if step == "rollout-evaluate" and result.get("decision") in (Decision.PROMOTED, Decision.ROLLED_BACK):
        return 0
    if result.get("smoke_test") == "failed" and result.get("alias") == STAGING:
        return 0
    return None
