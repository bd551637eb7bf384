"""What `make run` shows while the master pipeline runs: every task of it and of the model runs it triggered,
as each finishes (model DAG, step, state, seconds), then which model took longest."""

import logging
import time
from datetime import datetime

from nivesh_contract.catalog import MASTER, MODELS
from nivesh_contract.deployment import TRIGGERED_RUN_ID
from nivesh_platform.services import AirflowApi, ServiceError

log = logging.getLogger(__name__)

FINISHED = ("success", "failed", "skipped", "upstream_failed")
POLL_S = 5


def follow_master(api: AirflowApi, run_id: str, timeout_s: float) -> str:
    """Wait for the master run, logging each finished task of it and of its model runs; its final state."""
    deadline, reported, model_runs = time.monotonic() + timeout_s, set(), {}
    while time.monotonic() < deadline:
        model_runs |= _triggered_runs(api, run_id, skip=model_runs)
        for dag_id, dag_run_id in [(MASTER.dag_id, run_id), *model_runs.items()]:
            for task in api.task_instances(dag_id, dag_run_id):
                key = (dag_id, task["task_id"], task["state"])
                if task["state"] in FINISHED and key not in reported:
                    reported.add(key)
                    seconds = task.get("duration") or 0.0
                    log.info("%s.%s: %s (%.1f s)", dag_id, task["task_id"], task["state"], seconds)
        state = api.run_state(MASTER.dag_id, run_id)
        if state in ("success", "failed"):
            _log_slowest(api, model_runs)
            return state
        time.sleep(POLL_S)
    raise ServiceError(f"{MASTER.dag_id} run {run_id} not finished after {timeout_s:.0f}s")


def _triggered_runs(api: AirflowApi, run_id: str, skip: dict[str, str]) -> dict[str, str]:
    """Model DAG runs the master has triggered so far (the trigger tasks' XCom), except those known."""
    found = {}
    for model in MODELS:
        if model.dag_id in skip:
            continue
        try:
            found[model.dag_id] = api.xcom(MASTER.dag_id, run_id, model.trigger_task_id, TRIGGERED_RUN_ID)
        except ServiceError:  # not triggered yet
            continue
    return found


def _log_slowest(api: AirflowApi, model_runs: dict[str, str]) -> None:
    durations = {}
    for dag_id, dag_run_id in model_runs.items():
        run = api.dag_run(dag_id, dag_run_id)
        if run.get("start_date") and run.get("end_date"):
            started, ended = (datetime.fromisoformat(run[key]) for key in ("start_date", "end_date"))
            durations[dag_id] = (ended - started).total_seconds()
    if durations:
        slowest = max(durations, key=durations.get)
        others = _others(durations, slowest)
        log.info("slowest model DAG: %s (%.0f s); the others: %s", slowest, durations[slowest], others)


def _others(durations: dict[str, float], slowest: str) -> str:
    return ", ".join(f"{dag_id} {seconds:.0f} s" for dag_id, seconds in durations.items() if dag_id != slowest)


class Interrupted(Exception):
    """Ctrl-C while following: the runs marked failed, so that none is left running for the next start."""

    def __init__(self, stopped: list[str]) -> None:
        super().__init__(f"interrupted; marked failed: {', '.join(stopped) or 'nothing was running'}")
        self.stopped = stopped


def stop_runs(api: AirflowApi, run_id: str) -> list[str]:
    """Mark the master run and the model runs it triggered failed where still unfinished; what was marked."""
    stopped = []
    for dag_id, dag_run_id in [(MASTER.dag_id, run_id), *_triggered_runs(api, run_id, skip={}).items()]:
        if api.run_state(dag_id, dag_run_id) in ("queued", "running"):
            api.call("PATCH", f"/dags/{dag_id}/dagRuns/{dag_run_id}", json={"state": "failed"})
            stopped.append(f"{dag_id} run {dag_run_id}")
    return stopped
