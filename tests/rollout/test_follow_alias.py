"""`serve ALIAS --follow-every S`, as the cluster's servers run: no alias yet, it waits (not ready, not failed);
once the alias names a version, it serves it; when the alias moves (a promotion, a rollback), it stops, so that
the pod's restart serves what the alias names then."""

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient

from live_registry import MODEL, live_store, log_version
from nivesh_contract.names import PRODUCTION, STAGING
from nivesh_platform.services import free_port

pytestmark = pytest.mark.slow  # real servers and nginx: seconds each

SCRIPT = str(Path(sys.executable).parent / "nivesh-anomaly")


def pinged(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_following_server_waits_for_its_alias_serves_it_and_stops_when_it_moves(tmp_path):
    uri = live_store(tmp_path)
    first, second = (log_version(uri, tmp_path, factor=factor) for factor in (1.0, 2.0))
    client = MlflowClient(uri, uri)
    client.set_registered_model_alias(MODEL, PRODUCTION, first)
    port = free_port()
    command = [SCRIPT, "serve", STAGING, "--port", str(port), "--log-dir", str(tmp_path / "logs")]
    environment = {"MLFLOW_TRACKING_URI": uri, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    server = subprocess.Popen([*command, "--follow-every", "0.5"], env=environment, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4)
        assert server.poll() is None and not pinged(port)  # waiting for anomaly_detector@staging
        client.set_registered_model_alias(MODEL, STAGING, second)
        deadline = time.monotonic() + 60
        while not pinged(port):
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.5)
        answer = httpx.post(
            f"http://127.0.0.1:{port}/invocations",
            json={"dataframe_records": [{"amount": 10.0, "request_number": 1}]},
        )
        assert answer.headers["X-Nivesh-Model-Version"] == second
        client.delete_registered_model_alias(MODEL, STAGING)  # rolled back
        assert server.wait(timeout=30) == 0
    finally:
        server.kill()
        _, stderr = server.communicate()
    assert f"{MODEL}@{STAGING} moved from v{second} to none" in stderr
