"""What `make run` prints while it follows the master run: tasks in the order they ended, skips folded, what runs."""

import json
import threading
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

from json_stand_in import JsonHandler
from nivesh_platform.progress import ended_lines, mark_unfinished_runs_failed, running_line
from nivesh_platform.services import AirflowApi


def task(task_id: str, state: str, end: str = "", start: str = "", duration: float = 1.0) -> dict:
    return {"task_id": task_id, "state": state, "end_date": end, "start_date": start, "duration": duration}


def test_tasks_are_told_in_the_order_they_ended_and_skips_fold_into_one_line_per_dag():
    ended = [
        ("credit_risk_training", task("approve_promotion", "skipped", "2026-12-05T10:00:09+00:00")),
        ("credit_risk_training", task("approval_required", "success", "2026-12-05T10:00:05+00:00", duration=0.4)),
        ("anomaly_detector_training", task("promote", "skipped", "2026-12-05T10:00:07+00:00")),
        ("credit_risk_training", task("register_model", "skipped", "2026-12-05T10:00:08+00:00")),
    ]
    assert ended_lines(ended) == [
        "credit_risk_training.approval_required: success (0.4 s)",
        "anomaly_detector_training: skipped promote",
        "credit_risk_training: skipped register_model, approve_promotion",
    ]


def test_what_runs_is_told_with_how_long_it_has_run():
    now = datetime(2026, 12, 5, 10, 2, 5, tzinfo=UTC)
    running = [
        ("financial_ner_training", task("train_model", "running", start="2026-12-05T10:00:00+00:00")),
        ("anomaly_detector_training", task("validate_data", "running", start="2026-12-05T10:01:58+00:00")),
    ]
    assert running_line(running, now) == (
        "running: financial_ner_training.train_model (2 min 05 s), anomaly_detector_training.validate_data (7 s)"
    )


class _InterruptedAirflow(JsonHandler):
    """Runs as a Ctrl-C finds them once the tasks are stopped: the master and the anomaly run it started unfinished
    (its trigger task stopped before it pushed the run's id), the credit run finished."""

    runs: ClassVar[dict[str, list[dict]]] = {
        "master_training_pipeline": [{"dag_run_id": "manual__master", "state": "running"}],
        "anomaly_detector_training": [{"dag_run_id": "manual__anomaly", "state": "queued"}],
        "credit_risk_training": [],
    }
    patched: ClassVar[list[tuple[str, dict]]] = []

    def do_POST(self):
        assert self.path == "/auth/token"
        self._answer(201, {"access_token": "t"})

    def do_GET(self):
        url = urlsplit(self.path)
        dag_id = url.path.split("/")[4]
        if url.path.endswith("/dagRuns"):
            assert parse_qs(url.query)["state"] == ["queued", "running"]
            return self._answer(200, {"dag_runs": self.runs[dag_id], "total_entries": len(self.runs[dag_id])})
        (run,) = [run for run in self.runs[dag_id] if url.path.endswith(run["dag_run_id"])]
        self._answer(200, run)

    def do_PATCH(self):
        _InterruptedAirflow.patched.append(
            (self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        )
        self._answer(200, {"state": "failed"})


def test_ctrl_c_marks_every_unfinished_run_failed_also_one_no_trigger_task_named():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _InterruptedAirflow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = AirflowApi(f"http://127.0.0.1:{server.server_port}")
        marked = mark_unfinished_runs_failed(api, list(_InterruptedAirflow.runs))
    finally:
        server.shutdown()
    assert marked == ["master_training_pipeline run manual__master", "anomaly_detector_training run manual__anomaly"]
    assert [path for path, body in _InterruptedAirflow.patched if body == {"state": "failed"}] == [
        "/api/v2/dags/master_training_pipeline/dagRuns/manual__master",
        "/api/v2/dags/anomaly_detector_training/dagRuns/manual__anomaly",
    ]
