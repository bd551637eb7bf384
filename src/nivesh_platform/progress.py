"""What `make run` shows while the master pipeline runs: the tasks of it and of the model runs it triggered, in the
order they ended (model DAG, step, state, seconds; a DAG's skipped tasks folded into one line), what is still running
and for how long when nothing ended for a while, then which model took longest."""

import logging
import time
from datetime import UTC, datetime

from nivesh_contract.catalog import MASTER, MODELS
from nivesh_contract.deployment import TRIGGERED_RUN_ID
from nivesh_platform.machine_load import LoadWatch
from nivesh_platform.services import AirflowApi, NotAnswering, ServiceError

log = logging.getLogger(__name__)

FINISHED = ("success", "failed", "skipped", "upstream_failed")
POLL_S = 5
QUIET_S = 30  # without a task ending for this long, say what runs


def follow_master(api: AirflowApi, run_id: str, timeout_s: float, load: LoadWatch) -> str:
    """Wait for the master run, logging its tasks and its model runs' as they end; its final state. The machine's
    load is sampled at every poll."""
    deadline, reported, model_runs = time.monotonic() + timeout_s, set(), {}
    last_said = time.monotonic()
    while time.monotonic() < deadline:
        load.sample()
        model_runs |= _triggered_runs(api, run_id, skip=model_runs)
        ended, running = [], []
        for dag_id, dag_run_id in [(MASTER.dag_id, run_id), *model_runs.items()]:
            for task in api.task_instances(dag_id, dag_run_id):
                key = (dag_id, task["task_id"], task["state"])
                if task["state"] in FINISHED and key not in reported:
                    reported.add(key)
                    ended.append((dag_id, task))
                elif task["state"] == "running":
                    running.append((dag_id, task))
        for line in ended_lines(ended):
            log.info(line)
        now = time.monotonic()
        if ended:
            last_said = now
        elif running and now - last_said >= QUIET_S:
            log.info(running_line(running, datetime.now(UTC)))
            last_said = now
        state = api.run_state(MASTER.dag_id, run_id)
        if state in ("success", "failed"):
            _log_slowest(api, model_runs)
            return state
        time.sleep(POLL_S)
    raise ServiceError(f"{MASTER.dag_id} run {run_id} not finished after {timeout_s:.0f}s")


def ended_lines(ended: list[tuple[str, dict]]) -> list[str]:
    """One line per task that ended, in the order they ended; each DAG's skipped tasks in one line, where the first
    of them ended."""
    lines: list[str | tuple[str, list[str]]] = []
    folded: dict[str, list[str]] = {}  # per DAG, its skipped tasks: one line, shared with `lines`
    for dag_id, task in sorted(ended, key=lambda ended_task: ended_task[1].get("end_date") or ""):
        if task["state"] != "skipped":
            lines.append(f"{dag_id}.{task['task_id']}: {task['state']} ({task.get('duration') or 0.0:.1f} s)")
        elif dag_id in folded:
            folded[dag_id].append(task["task_id"])
        else:
            folded[dag_id] = [task["task_id"]]
            lines.append((dag_id, folded[dag_id]))
    return [line if isinstance(line, str) else f"{line[0]}: skipped {', '.join(line[1])}" for line in lines]


def running_line(running: list[tuple[str, dict]], now: datetime) -> str:
    """What is running and for how long: `running: anomaly_detector_training.train_model (2 min 05 s), ...`."""

    def since(task: dict) -> str:
        seconds = int((now - datetime.fromisoformat(task["start_date"])).total_seconds()) if task["start_date"] else 0
        return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"

    return "running: " + ", ".join(f"{dag_id}.{task['task_id']} ({since(task)})" for dag_id, task in running)


def _triggered_runs(api: AirflowApi, run_id: str, skip: dict[str, str]) -> dict[str, str]:
    """Model DAG runs the master has triggered so far (the trigger tasks' XCom), except those known."""
    found = {}
    for model in MODELS:
        if model.dag_id in skip:
            continue
        try:
            found[model.dag_id] = api.xcom(MASTER.dag_id, run_id, model.trigger_task_id, TRIGGERED_RUN_ID)
        except NotAnswering:
            raise
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


STOPPING_S = 30
STILL_WORKING = {"queued", "running"}


def stop_runs(api: AirflowApi, run_id: str) -> list[str]:
    """Mark the master run and the model runs it triggered failed where still unfinished; what was marked. A trigger
    task already running may start its model's run just after (seen on a busy machine): once the master's tasks
    have stopped (at most STOPPING_S), the runs they triggered are looked up and marked once more."""
    stopped = mark_unfinished_failed(api, [(MASTER.dag_id, run_id), *_triggered_runs(api, run_id, skip={}).items()])
    deadline = time.monotonic() + STOPPING_S
    while time.monotonic() < deadline and STILL_WORKING & set(api.task_states(MASTER.dag_id, run_id).values()):
        time.sleep(1)
    return stopped + mark_unfinished_failed(api, list(_triggered_runs(api, run_id, skip={}).items()))


def mark_unfinished_failed(api: AirflowApi, runs: list[tuple[str, str]]) -> list[str]:
    """Each (DAG id, run id) still queued or running marked failed; what was marked."""
    stopped = []
    for dag_id, dag_run_id in runs:
        if api.run_state(dag_id, dag_run_id) in STILL_WORKING:
            api.call("PATCH", f"/dags/{dag_id}/dagRuns/{dag_run_id}", json={"state": "failed"})
            stopped.append(f"{dag_id} run {dag_run_id}")
    return stopped


def mark_unfinished_runs_failed(api: AirflowApi, dag_ids: list[str]) -> list[str]:
    """Every queued or running run of `dag_ids` marked failed, in their order; what was marked. Once nothing runs
    tasks, one look finds them all (also a run whose trigger task was stopped before it said which run it started)."""
    return mark_unfinished_failed(api, [(dag_id, run_id) for dag_id in dag_ids for run_id in _unfinished(api, dag_id)])


def _unfinished(api: AirflowApi, dag_id: str) -> list[str]:
    """The ids of the DAG's queued or running runs."""
    params = {"state": sorted(STILL_WORKING), "limit": 100}
    return [run["dag_run_id"] for run in api.call("GET", f"/dags/{dag_id}/dagRuns", params=params).json()["dag_runs"]]


def stop_left_runs(api: AirflowApi) -> list[str]:
    """Master runs that an earlier `make run` left unfinished (it crashed, or the machine stopped) marked failed, with
    the model runs they triggered: otherwise the scheduler finishes them first, without a word."""
    return [stopped for run_id in _unfinished(api, MASTER.dag_id) for stopped in stop_runs(api, run_id)]
