"""`make serve` (nivesh-platform serve) of a model declared canary with a staging version: the split on the port
the app calls, both versions' answers logged, restarted when the rollout promotes staging, Ctrl-C stops all of it."""

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient

from live_registry import MODEL, live_store, log_version
from nivesh_common.rollout_evaluation import read_answers
from nivesh_contract.catalog import model_named
from nivesh_contract.names import PRODUCTION, STAGING
from nivesh_platform.services import free_port

pytestmark = pytest.mark.slow  # real servers and nginx: seconds each

PLATFORM = str(Path(sys.executable).parent / "nivesh-platform")


def test_make_serve_splits_as_declared_logs_both_and_stops_on_ctrl_c(tmp_path):
    assert model_named(MODEL).rollout.strategy == "canary"  # as declared in anomaly.toml
    state = tmp_path / "state"
    (state / "mlflow").mkdir(parents=True)
    uri = live_store(state / "mlflow")
    client = MlflowClient(uri, uri)
    for alias, factor in ((PRODUCTION, 1.0), (STAGING, 1.05)):
        client.set_registered_model_alias(MODEL, alias, log_version(uri, state / "mlflow", factor=factor))
    port = free_port()
    command = [PLATFORM, "serve", MODEL, "--state-dir", str(state), "--port", str(port)]
    serving = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        text = said_until_ready(serving)
        assert re.search(rf"{MODEL}@staging \(v2\) at http://127\.0\.0\.1:\d+", text), text
        assert f"the app calls http://127.0.0.1:{port}: canary: 10% of users answered by staging" in text
        assert "-H 'Content-Type: application/json'" in text and f"127.0.0.1:{port}/invocations" in text
        with httpx.Client(timeout=30) as http:
            served = [
                http.post(
                    f"http://127.0.0.1:{port}/invocations",
                    json={"dataframe_records": [{"amount": 10.0 + n, "request_number": n}]},
                    headers={"X-User-Id": f"user-{n}"},
                ).headers["X-Nivesh-Alias"]
                for n in range(400)
            ]
        assert 15 <= served.count(STAGING) <= 70, served.count(STAGING)  # 10% of 400, within sampling noise
        logged = read_answers(state / "predictions", MODEL)
        assert sorted({(a["alias"], a["version"]) for a in logged}) == [(PRODUCTION, "1"), (STAGING, "2")]
        assert len(logged) == 400

        # the rollout's evaluation promotes staging (as rollout-evaluate moves the aliases)
        client.set_registered_model_alias(MODEL, "previous", "1")
        client.set_registered_model_alias(MODEL, PRODUCTION, "2")
        client.delete_registered_model_alias(MODEL, STAGING)
        text = said_until_ready(serving)
        assert f"{MODEL}: production v1 -> v2, staging v2 -> none: restarting what serves it" in text
        assert f"{MODEL}@production (v2) at http://127.0.0.1:{port}" in text and "the app calls" not in text
        with httpx.Client(timeout=30) as http:
            body = {"dataframe_records": [{"amount": 10.0, "request_number": 1}]}
            answered = http.post(f"http://127.0.0.1:{port}/invocations", json=body, headers={"X-User-Id": "u"})
        assert (answered.headers["X-Nivesh-Alias"], answered.headers["X-Nivesh-Model-Version"]) == (PRODUCTION, "2")
    finally:
        serving.send_signal(signal.SIGINT)
        out, _ = serving.communicate(timeout=60)
    assert serving.returncode == 0 and "stopped serving" in out
    time.sleep(0.5)
    with socket.socket() as probe:  # nothing left listening: the router and both servers stopped
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def said_until_ready(serving: subprocess.Popen) -> str:
    """What `make serve` printed up to its `Ctrl-C stops it.` line."""
    said = []
    while not said or said[-1] != "Ctrl-C stops it.\n":
        line = serving.stdout.readline()
        assert line, f"make serve ended: {serving.stderr.read()[-2000:]}"
        said.append(line)
    return "".join(said)
