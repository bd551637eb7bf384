import math

import pytest

from nivesh_common.errors import GateFailedError
from nivesh_common.gates import Threshold, enforce_gate, evaluate_gate, gates_not_passed


def test_gate_passes_when_every_threshold_holds():
    report = evaluate_gate(
        "evaluate", {"acc": 0.9, "mape": 0.1}, [Threshold("acc", minimum=0.85), Threshold("mape", maximum=0.25)]
    )
    assert report["passed"] and report["failed"] == []
    enforce_gate(report)


def test_gate_names_each_failing_metric_value_and_threshold():
    report = evaluate_gate(
        "evaluate", {"acc": 0.8, "f1": 0.9}, [Threshold("acc", minimum=0.85), Threshold("f1", minimum=0.8)]
    )
    assert not report["passed"]
    assert report["failed"] == [{"metric": "acc", "value": 0.8, "comparison": ">=", "threshold": 0.85, "passed": False}]
    with pytest.raises(GateFailedError, match=r"acc 0\.8000 not >= 0\.85") as raised:
        enforce_gate(report)
    assert raised.value.report["gate"] is report


def test_nan_metric_never_passes():
    report = evaluate_gate("fairness", {"ratio": math.nan}, [Threshold("ratio", minimum=0.0)])
    assert not report["passed"]


def test_threshold_on_the_boundary_passes():
    assert evaluate_gate("g", {"m": 0.75}, [Threshold("m", minimum=0.75)])["passed"]


def test_gates_not_passed_reads_run_tags():
    tags = {"nivesh.gate.evaluate": "passed", "nivesh.gate.fairness": "failed"}
    assert gates_not_passed(tags, ("evaluate", "fairness", "drift")) == ["fairness", "drift"]
