"""Deadline alerts (Airflow 3's replacement for SLAs): a run still going long after it was queued alerts through
the same channels as a failure, while it keeps running."""

import sys
from datetime import timedelta

from airflow.sdk import DeadlineAlert, DeadlineReference, SyncCallback

from nivesh_pipelines.notify import deliver


def deadline_alert(limit_minutes: int) -> DeadlineAlert | None:
    """None under `airflow dags test`: it runs no scheduler, so no deadline is ever checked there, and Airflow
    3.3.2's `dags test` fails a run of a DAG with deadlines as it succeeds (DagRun.update_state looks the alerts up
    by id, and gets the in-memory DAG's serialized dicts)."""
    if sys.argv[1:3] == ["dags", "test"]:
        return None
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=limit_minutes),
        # Sync: the notifiers make blocking calls (Slack, SMTP, a file), which have no place in the triggerer.
        callback=SyncCallback(alert_missed_deadline, kwargs={"limit_minutes": limit_minutes}),
        name=f"run longer than {limit_minutes} min",
    )


def alert_missed_deadline(context: dict, limit_minutes: int) -> None:
    """Called by Airflow with the run as its API shows it (`context["dag_run"]`) once the deadline has passed."""
    run = context["dag_run"]
    message = (
        f"DAG {run['dag_id']}, run {run['dag_run_id']}: still {run.get('state', 'running')} {limit_minutes} min "
        f"after it was queued ({run.get('queued_at')}); look for a task stuck in the Airflow UI (a pod pending on "
        "resources, a hung step)."
    )
    deliver(f"[nivesh] {run['dag_id']} missed its {limit_minutes} min deadline", message, context)
