"""A production model behind MLflow's own scoring server (`mlflow models serve`), as the app would call it.

`make serve MODEL=...` runs it on the embedded default; the tests and `make bench` start it the same way.
The server runs in this environment (`--env-manager local`): the step packages the served models import
are installed here, as they are in each model's image.
"""

import json
import os
import sys
import time
from pathlib import Path

import httpx

from nivesh_contract.names import PRODUCTION
from nivesh_platform.services import Process, ServiceError

READY_TIMEOUT_S = 180
SERVING_EXAMPLE = "serving_input_example.json"  # MLflow writes it beside a model logged with an input example


def production_uri(model: str) -> str:
    return f"models:/{model}@{PRODUCTION}"


def start_scoring_server(tracking_uri: str, model: str, port: int, log_file: Path) -> tuple[str, Process]:
    """`mlflow models serve` of the model's production version on 127.0.0.1:`port`, once it answers /ping."""
    venv_bin = Path(sys.executable).parent
    command = [str(venv_bin / "mlflow"), "models", "serve", "-m", production_uri(model), "--env-manager", "local"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    # the server execs `uvicorn` by name: this environment's, whatever PATH the caller had
    environment = dict(os.environ) | {
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_REGISTRY_URI": tracking_uri,  # the registry is the tracking store's, whatever the caller had set
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    server = Process.start(f"scoring server of {model}", command, environment, log_file)
    url = f"http://127.0.0.1:{port}"
    wait_until_it_answers(server, f"{url}/ping")
    return url, server


def wait_until_it_answers(process: Process, url: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Until GET `url` answers 200; a process that exits or stays silent for `timeout_s` is a ServiceError."""
    deadline = time.monotonic() + timeout_s
    while not answers(url):
        process.check_alive()
        if time.monotonic() > deadline:
            process.stop()
            raise ServiceError(f"{process.name} not ready after {timeout_s:.0f}s; see {process.log_file}")
        time.sleep(0.5)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def invocations(url: str, payload: dict) -> list:
    """POST /invocations with one of MLflow's JSON inputs (`dataframe_records`, `dataframe_split`, `inputs`)."""
    response = httpx.post(f"{url}/invocations", json=payload, timeout=120)
    if response.is_error:
        raise ServiceError(f"POST {url}/invocations: HTTP {response.status_code}: {response.text[:500]}")
    return response.json()["predictions"]


def serving_example(tracking_uri: str, model: str) -> dict:
    """The request body MLflow stored with the production version (its input example, in the server's format)."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    local = mlflow.artifacts.download_artifacts(f"{production_uri(model)}/{SERVING_EXAMPLE}")
    return json.loads(Path(local).read_text())


def curl_example(url: str, body: dict) -> str:
    return f"curl -s {url}/invocations -H 'Content-Type: application/json' -d '{json.dumps(body)}'"
