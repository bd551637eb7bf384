"""The step scaffolding: result JSON in the XCom dir and last on stdout, exit codes 0/1/2/3."""

import json

import pytest
from typer.testing import CliRunner

from nivesh_common.cli import step, step_app
from nivesh_common.errors import BadInputError, GateFailedError
from nivesh_contract.results import Registered

app = step_app("test app")


@app.command()
@step
def finish(outcome: str) -> dict:
    if outcome == "bad":
        raise BadInputError("data.csv: column amount: row 3 is -1")
    if outcome == "gate":
        raise GateFailedError("gate evaluate: accuracy 0.5 not >= 0.85", {"gate": {"passed": False}})
    if outcome == "crash":
        raise RuntimeError("disk on fire")
    return {"outcome": outcome}


@app.command()
@step
def register(version: int) -> Registered:
    """Annotated with its result shape: a result that lacks a field of it is a bug, not a success."""
    result = {"model": "toy", "version": version, "run_id": "r1", "alias": "candidate", "newly_registered": True}
    return result if version else {key: value for key, value in result.items() if key != "alias"}


@pytest.mark.parametrize(
    ("outcome", "exit_code", "status"),
    [("fine", 0, "ok"), ("bad", 2, "bad_input"), ("gate", 3, "gate_failed"), ("crash", 1, "error")],
)
def test_exit_code_and_result(outcome, exit_code, status, tmp_path, monkeypatch):
    monkeypatch.setenv("NIVESH_XCOM_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["finish", outcome])
    assert result.exit_code == exit_code
    written = json.loads((tmp_path / "return.json").read_text())
    assert json.loads(result.stdout.strip().splitlines()[-1]) == written
    assert written["status"] == status and "elapsed_s" in written


def test_gate_failure_result_carries_the_report(tmp_path, monkeypatch):
    monkeypatch.setenv("NIVESH_XCOM_DIR", str(tmp_path))
    CliRunner().invoke(app, ["finish", "gate"])
    assert json.loads((tmp_path / "return.json").read_text())["gate"] == {"passed": False}


def test_unwritable_xcom_dir_still_prints_the_result(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("NIVESH_XCOM_DIR", str(blocker / "xcom"))
    result = CliRunner().invoke(app, ["finish", "fine"])
    assert result.exit_code == 0 and json.loads(result.stdout.strip().splitlines()[-1])["outcome"] == "fine"


def test_a_missing_xcom_dir_is_quiet_but_an_unwritable_result_warns(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("NIVESH_XCOM_DIR", str(blocker / "xcom"))  # as `docker run` by hand: no XCom volume
    assert "WARNING" not in CliRunner().invoke(app, ["finish", "fine"]).stderr

    (tmp_path / "xcom" / "return.json").mkdir(parents=True)
    monkeypatch.setenv("NIVESH_XCOM_DIR", str(tmp_path / "xcom"))
    warned = CliRunner().invoke(app, ["finish", "fine"]).stderr
    assert f"WARNING nivesh_common.result: could not write {tmp_path / 'xcom'}/return.json: [Errno 21]" in warned


def test_a_result_that_lacks_a_field_of_its_shape_exits_1_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NIVESH_XCOM_DIR", str(tmp_path))
    assert CliRunner().invoke(app, ["register", "1"]).exit_code == 0
    lacking = CliRunner().invoke(app, ["register", "0"])
    assert lacking.exit_code == 1
    written = json.loads((tmp_path / "return.json").read_text())
    assert written["error"] == "TypeError: register's result lacks alias of Registered"
