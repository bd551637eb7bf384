"""MLflow's scoring server for the version an alias names, logging every answer for the rollout's evaluation.

Each answer to POST /invocations becomes one JSON line (time, request id, user id, model, alias, version, HTTP
status, latency, predictions) in `<log dir>/<model>/<alias>-<host>.jsonl`: one file per server, so the servers of
a rollout (production, staging; on the cluster, their pods) never write the same file. The response says which
version answered (headers X-Nivesh-Alias, X-Nivesh-Model-Version). The app is MLflow's own
(`mlflow.pyfunc.scoring_server.init`): same routes, inputs and errors as `mlflow models serve`, plus GET /metrics
for Prometheus (answers by status, latency; on the cluster its `up` says whether staging still answers).
"""

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from nivesh_common.errors import BadInputError
from nivesh_contract.names import MODEL_TAG

if TYPE_CHECKING:
    from mlflow import MlflowClient

REQUEST_ID_HEADER = "x-request-id"  # set by the router (nginx's $request_id), else by the caller
USER_ID_HEADER = "x-user-id"  # the app's user: the canary split is sticky per user
ALIAS_HEADER = "X-Nivesh-Alias"
VERSION_HEADER = "X-Nivesh-Model-Version"
log = logging.getLogger(__name__)


class NoSuchAliasError(BadInputError):
    """The alias names no version (yet)."""


def log_path(log_dir: Path, model: str, alias: str) -> Path:
    return log_dir / model / f"{alias}-{socket.gethostname()}.jsonl"


def json_lines(folder: Path) -> Iterator[tuple[Path, int, object]]:
    """(file, line number, parsed value or None where the line is not JSON) of every non-empty line of every
    `*.jsonl` file in `folder`, files in name order."""
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    yield path, number, json.loads(line)
                except ValueError:
                    yield path, number, None


class PredictionLog:
    """Appends one JSON line per answer; a line is written whole (one write under a lock, line-buffered)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    def write(self, record: dict) -> None:
        line = json.dumps(record, separators=(",", ":"), default=str) + "\n"
        with self._lock:
            self._file.write(line)


def logged_app(model_uri: str, model: str, alias: str, version: str, log: PredictionLog):
    """MLflow's scoring app for `model_uri`, answering with its alias and version and logging each answer."""
    from fastapi import Request
    from fastapi.responses import Response
    from mlflow.pyfunc import load_model
    from mlflow.pyfunc.scoring_server import init

    app = init(load_model(model_uri))
    served = {ALIAS_HEADER: alias, VERSION_HEADER: version}
    metrics = ServingMetrics(model, alias, version)
    app.add_api_route("/metrics", metrics.response, methods=["GET"], include_in_schema=False)

    @app.middleware("http")
    async def log_answers(request: Request, call_next):
        if request.url.path != "/invocations":
            return await call_next(request)
        started = time.perf_counter()
        response = await call_next(request)
        body = b"".join([chunk async for chunk in response.body_iterator])
        latency_ms = (time.perf_counter() - started) * 1000
        metrics.count(response.status_code, latency_ms / 1000)
        log.write(
            {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "request_id": request.headers.get(REQUEST_ID_HEADER, ""),
                "user_id": request.headers.get(USER_ID_HEADER, ""),
                "model": model,
                "alias": alias,
                "version": version,
                "status": response.status_code,
                "latency_ms": round(latency_ms, 3),
                "predictions": _predictions(body) if response.status_code == 200 else None,
            }
        )
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"} | served
        return Response(content=body, status_code=response.status_code, headers=headers)

    return app


class ServingMetrics:
    """One server's figures, in a registry of its own (not the process-wide one: a test starts several apps)."""

    def __init__(self, model: str, alias: str, version: str) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        labels = {"model": model, "alias": alias, "version": version}
        self._answers = Counter(
            "nivesh_serving_requests",
            "Answers to /invocations, by HTTP status.",
            [*labels, "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "nivesh_serving_request_duration_seconds",
            "Seconds to answer /invocations.",
            list(labels),
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        ).labels(**labels)
        self._labels = labels

    def count(self, status: int, seconds: float) -> None:
        self._answers.labels(**self._labels, status=str(status)).inc()
        self._latency.observe(seconds)

    def response(self):
        from fastapi.responses import Response
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def _predictions(body: bytes):
    try:
        return json.loads(body).get("predictions")
    except (ValueError, AttributeError):
        return None


def serve_alias(
    client: "MlflowClient", model: str, alias: str, host: str, port: int, log_dir: Path, follow_every_s: float = 0
) -> None:
    """Serve the version `alias` names now (resolved once: the log says which version answered) until stopped.
    A version trained by another model's run (its `nivesh.model` tag) is refused: exit 2.

    `follow_every_s` > 0 (in a pod): wait for the alias to exist, then check it that often and stop when it names
    another version or none, so that the pod's restart serves what it names now (a promotion, a rollback).
    """
    import uvicorn

    version = _wait_for_alias(client, model, alias, follow_every_s) if follow_every_s else None
    version = version or served_version(client, model, alias)
    log = PredictionLog(log_path(log_dir, model, alias))
    app = logged_app(f"models:/{model}/{version}", model, alias, str(version), log)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    if follow_every_s:
        follow = (client, model, alias, version, follow_every_s, server)
        threading.Thread(target=_stop_when_the_alias_moves, args=follow, daemon=True).start()
    server.run()


def _wait_for_alias(client: "MlflowClient", model: str, alias: str, every_s: float) -> str:
    said = False
    while True:
        try:
            return served_version(client, model, alias)
        except NoSuchAliasError:
            if not said:
                log.info("%s@%s names no version yet: waiting for it (checked every %g s)", model, alias, every_s)
                said = True
            time.sleep(every_s)


def _stop_when_the_alias_moves(client, model: str, alias: str, version: str, every_s: float, server) -> None:
    from mlflow.exceptions import MlflowException

    while not server.should_exit:
        time.sleep(every_s)
        try:
            now = str(client.get_model_version_by_alias(model, alias).version)
        except MlflowException as error:
            if error.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                continue  # MLflow not answering: keep serving what was loaded
            now = "none"
        if now != version:
            log.warning(
                "%s@%s moved from v%s to %s: stopping, to serve what it names on restart", model, alias, version, now
            )
            server.should_exit = True


def served_version(client: "MlflowClient", model: str, alias: str) -> str:
    """The version `alias` names, if a run of this model trained it."""
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(model, alias)
    except MlflowException:
        raise NoSuchAliasError(f"{model}@{alias}: no such alias of registered model {model}") from None
    trained_by = client.get_run(version.run_id).data.tags.get(MODEL_TAG)
    if trained_by != model:
        raise BadInputError(
            f"{model}@{alias} is version {version.version}, trained by a run of {trained_by or 'no declared model'} "
            f"(tag {MODEL_TAG}), not of {model}: not served"
        )
    return str(version.version)
