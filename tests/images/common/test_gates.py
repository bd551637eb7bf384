import math

import pytest

from nivesh_common.errors import GateFailedError
from nivesh_common.gates import enforce_gate, evaluate_gate, gates_not_passed
from nivesh_contract.declaration import at_least, at_most

ACCURACY, MAPE, F1 = at_least("acc", 0.85), at_most("mape", 0.25), at_least("f1", 0.8)


def test_gate_passes_when_every_threshold_holds():
    report = evaluate_gate("evaluate", {"acc": 0.9, "mape": 0.1}, {ACCURACY: 0.85, MAPE: 0.25})
    assert report["passed"] and report["failed"] == []
    enforce_gate(report)


def test_gate_names_each_failing_metric_value_and_threshold():
    report = evaluate_gate("evaluate", {"acc": 0.8, "f1": 0.9}, {ACCURACY: 0.85, F1: 0.8})
    assert not report["passed"]
    assert report["failed"] == [{"metric": "acc", "value": 0.8, "comparison": ">=", "threshold": 0.85, "passed": False}]
    with pytest.raises(GateFailedError, match=r"acc 0\.8000 not >= 0\.85") as raised:
        enforce_gate(report)
    assert raised.value.report["gate"] is report


def test_the_limit_a_run_applies_is_the_one_checked():
    assert not evaluate_gate("evaluate", {"mape": 0.2}, {MAPE: 0.1})["passed"]
    assert evaluate_gate("evaluate", {"acc": 0.6}, {ACCURACY: 0.5})["passed"]


def test_nan_metric_never_passes():
    report = evaluate_gate("fairness", {"acc": math.nan}, {ACCURACY: 0.0})
    assert not report["passed"]


def test_threshold_on_the_boundary_passes():
    assert evaluate_gate("g", {"acc": 0.75}, {ACCURACY: 0.75})["passed"]
    assert evaluate_gate("g", {"mape": 0.25}, {MAPE: 0.25})["passed"]


def test_gates_not_passed_reads_run_tags():
    tags = {"nivesh.gate.evaluate": "passed", "nivesh.gate.fairness": "failed"}
    assert gates_not_passed(tags, ("evaluate", "fairness", "drift")) == ["fairness", "drift"]
