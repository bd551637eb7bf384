"""A model pipeline run's outcome for Prometheus, pushed by its `send_notification` task to the Pushgateway of the
Airflow Variable nivesh_pushgateway_url (empty: nothing), beside what each step pushes (nivesh_common.step_metrics).

One group per model (job nivesh_pipeline): each run replaces the last. Failed runs in a row (a step that failed,
not a gate that refused a model: that is the pipeline doing its job) are counted on from the value the group holds
before the push: the gateway is that count's only memory, so a gateway restarted without persistence starts again
at 0. A gateway that does not answer costs the task a few seconds and a warning, never the notification.
"""

import logging
import time
from datetime import datetime

from nivesh_pipelines.outcome import Outcome

log = logging.getLogger(__name__)

PIPELINE_JOB = "nivesh_pipeline"
IN_A_ROW = "nivesh_pipeline_failed_runs_in_a_row"
PUSH_TIMEOUT_S = 3.0


def push_pipeline_outcome(url: str, model: str, outcome: Outcome, started: datetime | None) -> None:
    url = url.strip()
    if not url:
        return
    try:
        in_a_row = _failed_runs_in_a_row(url, model) + 1 if outcome.kind == "failed" else 0
        _push(url, model, outcome, started, in_a_row)
    except Exception as exc:  # noqa: BLE001 - monitoring must never fail the notification
        log.warning("pipeline metrics not pushed to %s: %s", url.split("@")[-1], str(exc)[:300])


def _failed_runs_in_a_row(url: str, model: str) -> int:
    import requests

    answer = requests.get(f"{url.rstrip('/')}/api/v1/metrics", timeout=PUSH_TIMEOUT_S)
    answer.raise_for_status()
    for group in answer.json()["data"]:
        if group["labels"] == {"job": PIPELINE_JOB, "model": model} and IN_A_ROW in group:
            return int(float(group[IN_A_ROW]["metrics"][0]["value"]))
    return 0


def _push(url: str, model: str, outcome: Outcome, started: datetime | None, in_a_row: int) -> None:
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

    figures = CollectorRegistry()
    what = "1 for the last run's outcome and the step that decided it."
    kind = Gauge("nivesh_pipeline_outcome", what, ["outcome", "step"], registry=figures)
    kind.labels(outcome.kind, outcome.step).set(1)
    now = time.time()
    Gauge("nivesh_pipeline_last_run_timestamp_seconds", "When the last run ended.", registry=figures).set(now)
    if started is not None:
        seconds = Gauge("nivesh_pipeline_duration_seconds", "Wall seconds of the last run.", registry=figures)
        seconds.set(now - started.timestamp())
    Gauge(IN_A_ROW, "Runs that failed at a step since the last one that did not.", registry=figures).set(in_a_row)
    push_to_gateway(url, PIPELINE_JOB, figures, {"model": model}, timeout=PUSH_TIMEOUT_S)
