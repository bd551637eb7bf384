"""A password in a data URL (`http://alice:PASSWORD@host/x.csv`) reaches the server it was meant for and nothing
that people read: not a step's result or XCom, not a log line, not the MLflow runs, datasets, versions or their
descriptions, not the drift report."""

import base64
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from steps import run_step, step_environment

PASSWORD = "hunter2pw"
CREDENTIALS = f"alice:{PASSWORD}"


class _BasicAuthFiles(SimpleHTTPRequestHandler):
    """Serves its directory to whoever sends alice's credentials; 401 to anyone else."""

    def do_GET(self):
        expected = "Basic " + base64.b64encode(CREDENTIALS.encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.send_error(401)
            return
        self.server.authorised_reads += 1
        super().do_GET()

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def served(transactions_data, tmp_path):
    """The anomaly sample behind basic auth: (its URL with alice's credentials, the server)."""
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "transactions.csv").write_bytes(Path(transactions_data).read_bytes())
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_BasicAuthFiles, directory=str(folder)))
    server.authorised_reads = 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://{CREDENTIALS}@127.0.0.1:{server.server_address[1]}", server
    server.shutdown()


def test_a_password_in_a_data_url_is_used_to_read_and_recorded_nowhere(served, tmp_path):
    base, server = served
    url = f"{base}/transactions.csv"
    env = step_environment(tmp_path / "store") | {"NIVESH_DATA_SCHEMES": "http"}
    printed = []

    def anomaly(*args):
        run = run_step("nivesh-anomaly", *args, env=env)
        printed.append(run.stdout + run.stderr)
        assert run.exit_code == 0, run.stderr[-2000:]
        return run.result

    assert anomaly("validate", "--data", url)["path"] == f"http://***@{url.split('@')[1]}"
    run_id = anomaly("train", "--data", url)["run_id"]
    anomaly("evaluate", "--run-id", run_id)
    version = anomaly("register", "--run-id", run_id)["version"]
    assert anomaly("promote", "--version", version)["promoted"]
    # one model's row quotes its missing file's URL; the report's summary is an MLflow artifact
    report = run_step("nivesh-drift", "report", "--models", f"anomaly_detector={base}/gone.csv", env=env)
    assert report.exit_code == 0 and "gone.csv" in report.result["summary"], report.stderr[-2000:]
    printed.append(report.stdout + report.stderr)

    assert server.authorised_reads >= 2, "validate and train read the file with alice's credentials"
    stored = tmp_path / "store"
    readable = {path: path.read_bytes() for path in stored.rglob("*") if path.is_file()}
    assert Path(env["NIVESH_XCOM_DIR"], "return.json") in readable and stored / "mlflow.db" in readable
    assert any(path.name == "summary.md" for path in readable)
    leaks = [str(path) for path, content in readable.items() if PASSWORD.encode() in content]
    leaks += [f"output of step {number}" for number, output in enumerate(printed, 1) if PASSWORD in output]
    assert not leaks
