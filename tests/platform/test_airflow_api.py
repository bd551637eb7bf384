"""AirflowApi on a busy machine: an API server that freezes for a while (stood in for by a small HTTP server whose
answers come late; a real frozen Airflow cannot be made on demand) is waited for, and one that stays frozen gives
one line, never a traceback."""

import threading
import time
from http.server import ThreadingHTTPServer

import pytest

from json_stand_in import JsonHandler
from nivesh_platform.services import AirflowApi, NotAnswering


class FreezingAirflow(JsonHandler):
    """Answers /auth/token and GET /api/v2/dags/<id>; the first `late` GETs come `delay_s` late."""

    late = 0
    delay_s = 1.0
    unavailable = 0  # then this many GETs answer 503
    locked = 0  # then this many PATCHes or trigger POSTs answer 500 "Database error" (SQLite locked)
    posts = 0

    def do_PATCH(self):
        if FreezingAirflow.locked:
            FreezingAirflow.locked -= 1
            return self._answer(500, {"detail": {"reason": "Database error", "statement": "UPDATE dag ..."}})
        self._answer(200, {"dag_id": self.path.rsplit("/", 1)[-1], "is_paused": False})

    def do_POST(self):
        FreezingAirflow.posts += 1
        if self.path == "/auth/token":
            self._answer(201, {"access_token": "t"})
        elif FreezingAirflow.locked:
            FreezingAirflow.locked -= 1
            self._answer(500, {"detail": {"reason": "Database error", "statement": "INSERT INTO dag_run ..."}})
        else:
            time.sleep(self.delay_s)
            self._answer(200, {"dag_run_id": "r"})

    def do_GET(self):
        if FreezingAirflow.late:
            FreezingAirflow.late -= 1
            time.sleep(self.delay_s)
        if FreezingAirflow.unavailable:
            FreezingAirflow.unavailable -= 1
            return self._answer(503, {"detail": "busy"})
        self._answer(200, {"dag_id": self.path.rsplit("/", 1)[-1], "is_paused": False})


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # a late answer's client has hung up: expected here
        pass


@pytest.fixture
def airflow():
    FreezingAirflow.late, FreezingAirflow.unavailable, FreezingAirflow.locked, FreezingAirflow.posts = 0, 0, 0, 0
    server = QuietServer(("127.0.0.1", 0), FreezingAirflow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_reads_ride_out_a_freeze_and_an_unavailable_server(airflow):
    FreezingAirflow.late, FreezingAirflow.unavailable = 2, 2
    api = AirflowApi(airflow, timeout_s=0.3, patience_s=30)
    assert api.is_paused("master_training_pipeline") is False


def test_a_server_that_stays_frozen_is_one_line(airflow):
    FreezingAirflow.late = 100
    api = AirflowApi(airflow, timeout_s=0.2, patience_s=1)
    with pytest.raises(NotAnswering) as raised:
        api.is_paused("master_training_pipeline")
    message = str(raised.value)
    assert message.startswith(f"Airflow at {airflow} stopped answering: GET /api/v2/dags/master_training_pipeline")
    assert "ReadTimeout for " in message and "\n" not in message


def test_a_trigger_is_sent_once_even_when_its_answer_is_late(airflow):
    """A POST that timed out may have started the run: sending it again would start a second one."""
    api = AirflowApi(airflow, timeout_s=0.3, patience_s=30)
    with pytest.raises(NotAnswering):
        api.trigger("master_training_pipeline")
    assert FreezingAirflow.posts == 2  # the token, and the trigger once


def test_a_database_error_of_an_unpause_is_asked_again_and_a_lasting_one_is_one_line(airflow):
    """Seen in CI: `make trigger` against `make ui`'s busy SQLite got `PATCH /dags/...: HTTP 500 Database error`."""
    FreezingAirflow.locked = 2
    AirflowApi(airflow, timeout_s=5, patience_s=30).unpause("spending_predictor_training")
    assert FreezingAirflow.locked == 0
    FreezingAirflow.locked = 1000
    with pytest.raises(NotAnswering, match="PATCH /api/v2/dags/spending_predictor_training: HTTP 500 for"):
        AirflowApi(airflow, timeout_s=5, patience_s=1).unpause("spending_predictor_training")


def test_a_trigger_refused_by_a_database_error_is_sent_again(airflow):
    """Seen in CI: a trigger against `make ui`'s busy SQLite got `POST .../dagRuns: HTTP 500` (reason "Database
    error"); Airflow rolled that request back, so sending it again starts one run, not two."""
    FreezingAirflow.delay_s, FreezingAirflow.locked = 0, 2
    assert AirflowApi(airflow, timeout_s=5, patience_s=30).trigger("master_training_pipeline") == "r"
    assert (FreezingAirflow.locked, FreezingAirflow.posts) == (0, 4)  # the token, two refusals, the run
