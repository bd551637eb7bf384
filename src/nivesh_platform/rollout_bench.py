"""`make bench-rollout`: what the staged rollout's split adds to a request on loopback (target: at most 2 ms at p95).

Production and staging servers (the model's own `serve` command) of a tiny model and nginx in front, as `make serve`
starts them; the same requests sent straight to the production server and through the router (canary, shadow),
one at a time over a kept-alive connection. Prints figures; asserts nothing.
"""

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from tabulate import tabulate

from nivesh_contract.catalog import model_named
from nivesh_contract.names import MODEL_TAG, PRODUCTION, STAGING
from nivesh_contract.rollout import Rollout
from nivesh_platform.rollout_router import Backends
from nivesh_platform.rollout_serving import start_alias_server, start_router
from nivesh_platform.services import free_port

MODEL = "anomaly_detector"  # served under its name; the versions are the tiny model below, not a trained one
TINY_MODEL = """
import mlflow, pandas as pd

class Scaled(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return pd.DataFrame({"anomaly_score": model_input["amount"].astype(float) / 1000})

mlflow.models.set_model(Scaled())
"""


def registry(folder: Path) -> str:
    """A store whose production and staging are one tiny version: the split is measured, not the model."""
    import mlflow
    from mlflow import MlflowClient

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    code = folder / "tiny_model.py"
    code.write_text(TINY_MODEL)
    experiment = mlflow.create_experiment("bench", (folder / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment, tags={MODEL_TAG: MODEL}):
        info = mlflow.pyfunc.log_model(name="model", python_model=str(code), registered_model_name=MODEL)
    client = MlflowClient(uri, uri)
    for alias in (PRODUCTION, STAGING):
        client.set_registered_model_alias(MODEL, alias, info.registered_model_version)
    return uri


def latencies(url: str, requests: int) -> list[float]:
    with httpx.Client(timeout=30) as client:
        samples = []
        for number in range(requests):
            body = {"dataframe_records": [{"amount": 100.0 + number}]}
            started = time.perf_counter()
            client.post(f"{url}/invocations", json=body, headers={"X-User-Id": f"user-{number}"}).raise_for_status()
            samples.append((time.perf_counter() - started) * 1000)
        return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    requests = parser.parse_args().requests
    with tempfile.TemporaryDirectory(prefix="nivesh-rollout-bench-") as scratch:
        folder = Path(scratch)
        uri = registry(folder)
        model = model_named(MODEL)
        processes, ports = [], {}
        try:
            for alias in (PRODUCTION, STAGING):
                ports[alias] = free_port()
                processes.append(start_alias_server(model, alias, uri, ports[alias], folder / "logs", folder))
            backends = Backends(*(f"127.0.0.1:{ports[alias]}" for alias in (PRODUCTION, STAGING)))
            urls = {"straight to production": f"http://127.0.0.1:{ports[PRODUCTION]}"}
            for strategy in ("canary", "shadow"):
                rollout = Rollout(strategy=strategy, share_percent=50, prediction="anomaly_score")
                declared = dataclasses.replace(model, rollout=rollout)
                port = free_port()
                processes.append(start_router(declared, port, backends, folder))
                urls[f"through nginx ({strategy}{', 50%' if strategy == 'canary' else ''})"] = (
                    f"http://127.0.0.1:{port}"
                )
            latencies(urls["straight to production"], 200)  # warm-up: the model's first calls
            figures = {name: latencies(url, requests) for name, url in urls.items()}
        finally:
            for process in reversed(processes):
                process.stop()
    straight = p95(figures["straight to production"])
    rows = [
        [
            name,
            len(samples),
            f"{statistics.median(samples):.2f}",
            f"{p95(samples):.2f}",
            f"{p95(samples) - straight:+.2f}",
        ]
        for name, samples in figures.items()
    ]
    print(f"\nStaged rollout: the split's cost per request on loopback, {requests} requests one at a time")
    print(tabulate(rows, headers=["path", "requests", "median (ms)", "p95 (ms)", "added at p95 (ms)"]))


if __name__ == "__main__":
    main()
