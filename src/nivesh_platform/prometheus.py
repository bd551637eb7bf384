"""Debian's Prometheus and Pushgateway on loopback, for the embedded default (`make ui`) and the tests.

Steps and pipelines push their figures to the Pushgateway (nivesh_common.step_metrics); Prometheus scrapes it,
keeping the model and step labels as pushed (honor_labels), and evaluates the platform's alert rules: the same
file the cluster's Prometheus loads.
"""

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from nivesh_contract.deployment import PUSHGATEWAY_AIRFLOW_VARIABLE
from nivesh_platform.services import Process, answers_ok, wait_ready
from nivesh_platform.state import DAGS_FOLDER, EmbeddedState

RULES_FILE = DAGS_FOLDER.parent / "charts" / "monitoring" / "rules" / "nivesh-alerts.yml"
BINARIES = ("prometheus", "prometheus-pushgateway")
INSTALL_HINT = "sudo apt-get install prometheus prometheus-pushgateway"


def missing_binaries() -> list[str]:
    return [binary for binary in BINARIES if shutil.which(binary) is None]


@contextmanager
def pushgateway(port: int, data_dir: Path, log_dir: Path) -> Iterator[str]:
    """A Pushgateway that keeps what was pushed in `data_dir` across restarts (Debian's build would otherwise use
    one file for every gateway on the machine, /var/lib/prometheus/pushgateway.data); yields its URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    persistence = f"--persistence.file={data_dir / 'pushgateway.data'}"
    with _serving("prometheus-pushgateway", port, log_dir, persistence) as url:
        yield url


@contextmanager
def prometheus(port: int, pushgateway_url: str, data_dir: Path, log_dir: Path, interval_s: int = 15) -> Iterator[str]:
    """A Prometheus that scrapes the Pushgateway and evaluates the alert rules every `interval_s`; yields its URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "prometheus.yml"
    target = pushgateway_url.split("://", 1)[-1]
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": f"{interval_s}s", "evaluation_interval": f"{interval_s}s"},
                "rule_files": [str(RULES_FILE)],
                "scrape_configs": [
                    {"job_name": "pushgateway", "honor_labels": True, "static_configs": [{"targets": [target]}]}
                ],
            }
        )
    )
    storage = f"--storage.tsdb.path={data_dir / 'tsdb'}"
    with _serving("prometheus", port, log_dir, f"--config.file={config}", storage) as url:
        yield url


@contextmanager
def _serving(binary: str, port: int, log_dir: Path, *options: str) -> Iterator[str]:
    """`binary` listening on 127.0.0.1:`port`, until it says it is ready (both answer /-/ready); yields its URL."""
    url = f"http://127.0.0.1:{port}"
    command = [shutil.which(binary) or binary, f"--web.listen-address=127.0.0.1:{port}", *options]
    process = Process.start(binary, command, {}, log_dir / f"{binary}.log")
    try:
        wait_ready(lambda: answers_ok(f"{url}/-/ready"), process, f"{binary} ready")
        yield url
    finally:
        process.stop()


@dataclass(frozen=True)
class LocalMonitoring:
    said: str  # where Prometheus and the Pushgateway answer, or how to install them
    started: bool


@contextmanager
def local_monitoring(state: EmbeddedState, prometheus_port: int, pushgateway_port: int) -> Iterator[LocalMonitoring]:
    """For `make ui`: Prometheus and the Pushgateway where Debian's packages are installed, the pipelines pointed at
    the gateway (the Airflow Variable, set in this process's environment before Airflow starts); stopped on exit."""
    if missing := missing_binaries():
        yield LocalMonitoring(f"Prometheus: not started (no {', '.join(missing)}: {INSTALL_HINT}).", started=False)
        return
    ports = {"PROMETHEUS_PORT": prometheus_port, "PUSHGATEWAY_PORT": pushgateway_port}
    if taken := [f"{name}={port}" for name, port in ports.items() if not _free(port)]:
        said = f"Prometheus: not started ({', '.join(taken)} in use; set another port: make ui {taken[0]}...)."
        yield LocalMonitoring(said, started=False)
        return
    variable = f"AIRFLOW_VAR_{PUSHGATEWAY_AIRFLOW_VARIABLE.upper()}"
    kept = state.root / "monitoring"
    with (
        pushgateway(pushgateway_port, kept / "pushgateway", state.logs_dir) as gateway,
        prometheus(prometheus_port, gateway, kept / "prometheus", state.logs_dir) as server,
    ):
        os.environ[variable] = gateway
        try:
            yield LocalMonitoring(f"Prometheus: {server}/alerts (what the steps pushed to {gateway})", started=True)
        finally:
            os.environ.pop(variable, None)


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0
