"""Airflow's components and the MLflow UI as local processes on the embedded state dir.

What `make ui` starts and what `make run` runs the master pipeline on: api-server, scheduler,
dag-processor and triggerer (LocalExecutor) with launcher `local`, the SQLite stores of the state dir,
and the local-only login admin/admin, every listener on 127.0.0.1.
"""

import fcntl
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_exponential,
)

from nivesh_contract.names import TRAINING_POOL
from nivesh_platform.state import EmbeddedState

log = logging.getLogger(__name__)

LOGIN = ("admin", "admin")  # the embedded default only: never a cluster's login
STARTUP_TIMEOUT_S = 300
# MLflow 3.17's UI ignores an experiment's kind tag: it opens the view the URL's `workflowType` names, else the one the
# browser stored when a person clicked the sidebar's switch (localStorage `mlflow.workflowType_v1`), else GenAI.
# The experiments list's links drop the URL's choice, and on a page whose URL names "Model training" the switch is
# already on it, so a click there stores nothing: the printed link is the plain list, and the hint the one click.
MLFLOW_EXPERIMENTS = "#/experiments"
MLFLOW_VIEW_HINT = 'MLflow opens experiments in its GenAI view until you click "Model training" at its top left once'

STOP_TIMEOUT_S = 30
# Airflow 3.3.2 race: an answer within seconds of a human-in-the-loop task pausing resumes it while the executor
# still reports the pausing workload, whose late "success" fails the resumed try (it is retried and asks again).
# A person reads the request first; an automatic answer waits as long.
ANSWER_AFTER_S = 20
APPROVE = "Approve"  # the approval task's option that promotes (dags/nivesh_pipelines/outcome.py APPROVED)


class ServiceError(RuntimeError):
    """A local service did not start, or the state dir is already served."""


class NotAnswering(ServiceError):
    """Airflow's API server stopped answering (timed out or unavailable for PATIENCE_S)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Process:
    """A child process in its own process group, so that stopping it stops everything it started."""

    name: str
    popen: subprocess.Popen
    log_file: Path

    @classmethod
    def start(cls, name: str, command: list[str], environment: dict[str, str], log_file: Path) -> "Process":
        with open(log_file, "a") as output:
            popen = subprocess.Popen(
                command, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        return cls(name, popen, log_file)

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            tail = "".join(self.log_file.read_text().splitlines(keepends=True)[-15:])
            raise ServiceError(f"{self.name} exited with {self.popen.returncode}; end of {self.log_file}:\n{tail}")

    def stop(self) -> None:
        """Ctrl-C first (Airflow's components finish their work on it), then SIGTERM; then nothing may linger."""
        for sig, patience in ((signal.SIGINT, STOP_TIMEOUT_S), (signal.SIGTERM, 10)):
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(patience)
                break
            except subprocess.TimeoutExpired:
                continue
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()


# A busy machine's API server can freeze for half a minute (measured: 32 s after start-up at a load of 4-18 on 2
# cores). Reads ride that out: each waits ANSWER_TIMEOUT_S, a late or unavailable answer (or a database error) is asked
# again with backoff until PATIENCE_S have passed. A write is sent again only after a database error (Airflow answers
# it once the request's transaction was rolled back: nothing was written); a late write is not: a trigger sent twice
# would start two runs.
ANSWER_TIMEOUT_S = 60
PATIENCE_S = 300
RETRIED_METHODS = ("GET", "HEAD", "PATCH")  # PATCH here sets a value: sending it twice does no harm
UNAVAILABLE = (502, 503, 504)


class AirflowApi:
    """The few calls of Airflow's REST API (v2) the embedded default needs, with a JWT from /auth/token."""

    def __init__(
        self,
        url: str,
        login: tuple[str, str] = LOGIN,
        timeout_s: float = ANSWER_TIMEOUT_S,
        patience_s: float = PATIENCE_S,
    ) -> None:
        self.url = url
        self._login = login
        self._patience_s = patience_s
        self._client = httpx.Client(base_url=url, timeout=timeout_s)

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One request; a read that times out or finds the server unavailable is retried with backoff, then one
        ServiceError line. A refused connection is not retried: nothing is listening there."""
        if method in RETRIED_METHODS:
            retry = retry_if_exception_type(httpx.TimeoutException) | retry_if_result(_unavailable)
        else:
            retry = retry_if_result(_database_error)
        attempts = Retrying(
            retry=retry,
            wait=wait_exponential(multiplier=1, max=30),
            stop=stop_after_delay(self._patience_s),
            reraise=True,
        )
        started = time.monotonic()
        try:
            return attempts(self._client.request, method, path, **kwargs)
        except httpx.TimeoutException as error:
            late = type(error).__name__
        except RetryError as error:
            late = f"HTTP {error.last_attempt.result().status_code}"
        waited = time.monotonic() - started
        raise NotAnswering(f"Airflow at {self.url} stopped answering: {method} {path}: {late} for {waited:.0f} s")

    def _authorize(self) -> None:
        if "Authorization" not in self._client.headers:
            username, password = self._login
            response = self._send("POST", "/auth/token", json={"username": username, "password": password})
            response.raise_for_status()
            self._client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs) -> httpx.Response:
        self._authorize()
        response = self._send(method, f"/api/v2{path}", **kwargs)
        if response.is_error:
            raise ServiceError(f"{method} {path}: HTTP {response.status_code}: {response.text[:500]}")
        return response

    def healthy(self) -> bool:
        try:
            health = self._client.get("/api/v2/monitor/health").json()
        except (httpx.HTTPError, ValueError):
            return False
        components = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        return all((health.get(name) or {}).get("status") == "healthy" for name in components)

    def has_dag(self, dag_id: str) -> bool:
        self._authorize()
        return self._send("GET", f"/api/v2/dags/{dag_id}").status_code == 200

    def unpause(self, dag_id: str) -> None:
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        run = self.call("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}}).json()
        return run["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.dag_run(dag_id, run_id)["state"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()["task_instances"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {instance["task_id"]: instance["state"] for instance in self.task_instances(dag_id, run_id)}

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}").json()

    def wait_for_run(
        self, dag_id: str, run_id: str, timeout_s: float, poll_s: float = 5, each_poll: Callable[[], None] | None = None
    ) -> str:
        """The run's final state (success or failed); logs each task as it finishes, calls `each_poll` each time."""
        deadline, reported = time.monotonic() + timeout_s, {}
        while time.monotonic() < deadline:
            if each_poll:
                each_poll()
            for task_id, state in self.task_states(dag_id, run_id).items():
                if state in ("success", "failed", "skipped", "upstream_failed") and reported.get(task_id) != state:
                    log.info("%s.%s: %s", dag_id, task_id, state)
                    reported[task_id] = state
            state = self.run_state(dag_id, run_id)
            if state in ("success", "failed"):
                return state
            time.sleep(poll_s)
        raise ServiceError(f"{dag_id} run {run_id} not finished after {timeout_s:.0f}s")

    def answer_requests(self, since: datetime, option: str) -> list[dict]:
        """Answer `option` to every human-in-the-loop request (of any DAG run) made since `since` and still open
        ANSWER_AFTER_S later; the requests answered."""
        params = {"response_received": False, "created_at_gte": since.isoformat(), "limit": 100}
        requests = self.call("GET", "/dags/~/dagRuns/~/hitlDetails", params=params).json()["hitl_details"]
        read = [request for request in requests if _age_s(request["created_at"]) >= ANSWER_AFTER_S]
        for request in read:
            instance = request["task_instance"]
            path = f"/dags/{instance['dag_id']}/dagRuns/{instance['dag_run_id']}/taskInstances/{instance['task_id']}"
            self.call("PATCH", f"{path}/{instance['map_index']}/hitlDetails", json={"chosen_options": [option]})
        return read

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value"):
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        value = self.call("GET", path, params={"deserialize": True}).json()["value"]
        return json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value

    def asset_named(self, name: str) -> dict | None:
        """The asset called `name` (with the DAGs it schedules), or None where no parsed DAG declares it. The
        `name_pattern` filter matches substrings (and `_` as any character): the exact name is picked here."""
        assets = self.call("GET", "/assets", params={"name_pattern": name, "limit": 100}).json()["assets"]
        return next((asset for asset in assets if asset["name"] == name), None)

    def post_asset_event(self, asset_id: int, extra: dict) -> dict:
        """An event of the asset, as a producer would record it: the DAGs it schedules run."""
        return self.call("POST", "/assets/events", json={"asset_id": asset_id, "extra": extra}).json()

    def set_pool(self, name: str, slots: int, description: str) -> None:
        """Create the pool, or set its slots where it exists."""
        self._authorize()
        if self._send("GET", f"/api/v2/pools/{name}").status_code == 404:
            self.call("POST", "/pools", json={"name": name, "slots": slots, "description": description})
        else:
            self.call("PATCH", f"/pools/{name}", json={"slots": slots, "description": description})

    def is_paused(self, dag_id: str) -> bool:
        return bool(self.call("GET", f"/dags/{dag_id}").json()["is_paused"])


def _unavailable(response: httpx.Response) -> bool:
    """Unavailable, or a database error: a retried method asks again."""
    return response.status_code in UNAVAILABLE or _database_error(response)


def _database_error(response: httpx.Response) -> bool:
    """SQLite's "database is locked" under a busy `make ui`: Airflow rolls the request's session back
    (airflow.utils.session.create_session) and answers 500, reason "Database error"."""
    if response.status_code != 500:
        return False
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return False
    return isinstance(detail, dict) and detail.get("reason") == "Database error"


def _age_s(timestamp: str) -> float:
    return (datetime.now(UTC) - datetime.fromisoformat(timestamp)).total_seconds()


@contextmanager
def state_lock(state: EmbeddedState) -> Iterator[None]:
    """One set of Airflow components per state dir: two schedulers on one SQLite DB would fight. The holder
    writes its command and PID into the lock file, so that the next one can say who holds it."""
    with open(state.root / "services.lock", "a+") as lock_file:  # not "w": that would erase the holder's line
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            holder = lock_file.read().strip() or "another process"
            raise ServiceError(
                f"Airflow is already running on {state.root}: {holder}; wait for it or stop it"
            ) from None
        lock_file.truncate(0)
        lock_file.write(f"`{' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}` holds it, PID {os.getpid()}")
        lock_file.flush()
        yield


def prepare_database(environment: dict[str, str], log_file: Path, refresh_next_runs: bool) -> None:
    """The metadata DB migrated; with `refresh_next_runs`, every DAG's next scheduled run computed again from its DAG
    file before a scheduler with schedules on starts. The metadata DB keeps the one computed when the DAG was last
    parsed (by a `make run` last week, say): a scheduler that starts before the dag-processor has parsed the DAGs again
    would start a run for that slot at once."""
    commands = [["airflow", "db", "migrate"]] + ([["airflow", "dags", "reserialize"]] if refresh_next_runs else [])
    with open(log_file, "w") as output:
        for command in commands:
            completed = subprocess.run(command, env=environment, stdout=output, stderr=subprocess.STDOUT)
            if completed.returncode != 0:
                raise ServiceError(f"`{' '.join(command)}` exited with {completed.returncode}; see {log_file}")


# Each component in its own process, as `airflow standalone` runs them, but without the task-log servers:
# Airflow 3.3 binds those to every interface with no setting to change it, and the API server reads task logs
# from the state dir's files itself (the servers only serve them to other machines).
AIRFLOW_COMPONENTS = {
    "api-server": ["airflow", "api-server"],  # on AIRFLOW__API__HOST:AIRFLOW__API__PORT
    "scheduler": ["airflow", "scheduler", "--skip-serve-logs"],
    "dag-processor": ["airflow", "dag-processor"],
    "triggerer": ["airflow", "triggerer", "--skip-serve-logs"],
}


# A weekly run on a busy laptop must not fail because answers come late. A task's calls to the API server wait 5 s
# and retry 5 times by default: at a load average of 7-9 on 2 cores that failed a master run after one task. Two API
# server workers (Airflow's default is one): a request that holds one no longer stalls every task's heartbeat.
BUSY_MACHINE_SETTINGS = {
    "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
    "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "10",
    "AIRFLOW__API__WORKERS": str(min(2, os.cpu_count() or 1)),
}


@dataclass
class Components:
    """Airflow's processes, watched and stopped together."""

    processes: list[Process]
    name: str = "Airflow"

    @property
    def log_file(self) -> Path:
        return self.processes[0].log_file.parent

    def check_alive(self) -> None:
        for process in self.processes:
            process.check_alive()

    def stop(self) -> None:
        for process in reversed(self.processes):  # the api-server last: the others report to it
            process.stop()

    def stop_task_runners(self) -> None:
        """All but the API server (started first): after this no task runs and nothing starts a DAG run, while the
        API server still answers (runs can be marked)."""
        for process in reversed(self.processes[1:]):
            process.stop()


@dataclass(frozen=True)
class LocalAirflow:
    """Airflow's components on a state dir, and its REST API."""

    api: AirflowApi
    components: Components


@contextmanager
def local_airflow(
    state: EmbeddedState, dag_ids: list[str], port: int, schedules: bool = False
) -> Iterator[LocalAirflow]:
    """Airflow's components on the state dir, ready and with `dag_ids` parsed and unpaused; stopped on exit.

    `schedules`: the scheduler creates runs itself (`make ui`): each DAG's run when its time comes (never one for a
    past slot at start: the DAGs have no start_date, see nivesh_pipelines.assets.cron_from_next_slot) and a model
    DAG's run when its data asset gets an event. Otherwise (`make run`) runs start only when triggered."""
    url = f"http://127.0.0.1:{port}"
    environment = state.environment(dict(os.environ)) | {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__API__HOST": "127.0.0.1",  # admin/admin must not be reachable from the network
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        # One secret for every component: each would otherwise make its own (and reject the others' tokens).
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{LOGIN[0]}:admin",  # user admin, role admin
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(state.airflow_home / "passwords.json"),
        **BUSY_MACHINE_SETTINGS,
    }
    if schedules:
        # Airflow's default; the state dir's environment turns it off. Asset-triggered runs need it too.
        environment["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] = "True"
    (state.airflow_home / "passwords.json").write_text(json.dumps({LOGIN[0]: LOGIN[1]}))
    with state_lock(state), ExitStack() as stack:
        prepare_database(environment, state.logs_dir / "airflow-prepare.log", refresh_next_runs=schedules)
        started = [
            Process.start(f"airflow {name}", command, environment, state.logs_dir / f"airflow-{name}.log")
            for name, command in AIRFLOW_COMPONENTS.items()
        ]
        airflow = Components(started)
        stack.callback(airflow.stop)
        api = AirflowApi(url)
        log.info("starting Airflow on %s (logs: %s/airflow-*.log)", url, airflow.log_file)
        wait_ready(api.healthy, airflow, "Airflow components healthy")
        slots = os.cpu_count() or 1
        api.set_pool(TRAINING_POOL, slots, f"train steps at once: one per CPU core of this machine ({slots})")
        for dag_id in dag_ids:
            wait_ready(lambda dag_id=dag_id: api.has_dag(dag_id), airflow, f"DAG {dag_id} parsed")
            api.unpause(dag_id)
        yield LocalAirflow(api, airflow)


# One person's UI: one server process (MLflow's default is four workers) and no job runner (seven processes for
# GenAI evaluation jobs the platform does not run): 2 processes and 0.5 GB instead of 15 and 3.2 GB (MLflow 3.17).
MLFLOW_SERVER_LEAN = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


@contextmanager
def mlflow_ui(state: EmbeddedState, port: int) -> Iterator[str]:
    """The MLflow UI (tracking server) over the state dir's store; yields its URL."""
    url = f"http://127.0.0.1:{port}"
    command = ["mlflow", "ui", "--backend-store-uri", state.tracking_uri, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", "1"]
    environment = state.environment(dict(os.environ)) | MLFLOW_SERVER_LEAN
    process = Process.start("mlflow ui", command, environment, state.logs_dir / "mlflow-ui.log")
    try:
        wait_ready(lambda: answers_ok(f"{url}/health"), process, "MLflow UI answering")
        yield url
    finally:
        process.stop()


def answers_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def wait_ready(ready, process: Process, what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not ready():
        process.check_alive()
        if time.monotonic() > deadline:
            raise ServiceError(f"{process.name}: not ready after {STARTUP_TIMEOUT_S}s ({what}); see {process.log_file}")
        time.sleep(2)
