"""Quality gates: thresholds on metrics, recorded on the run, enforced with exit 3."""

import math
from dataclasses import dataclass

import mlflow

from nivesh_common.errors import GateFailedError

GATE_TAG_PREFIX = "nivesh.gate."
PASSED = "passed"


@dataclass(frozen=True)
class Threshold:
    """`metric` must be at least `minimum` (or at most `maximum`)."""

    metric: str
    minimum: float | None = None
    maximum: float | None = None

    def check(self, value: float) -> dict:
        if self.minimum is not None:
            passed, comparison, threshold = value >= self.minimum, ">=", self.minimum
        else:
            passed, comparison, threshold = value <= self.maximum, "<=", self.maximum
        passed = passed and not math.isnan(value)
        return {
            "metric": self.metric,
            "value": round(value, 6),
            "comparison": comparison,
            "threshold": threshold,
            "passed": passed,
        }


def evaluate_gate(gate: str, metrics: dict[str, float], thresholds: list[Threshold]) -> dict:
    checks = [threshold.check(float(metrics[threshold.metric])) for threshold in thresholds]
    failed = [check for check in checks if not check["passed"]]
    return {"gate": gate, "passed": not failed, "checks": checks, "failed": failed}


def record_gate(run_id: str, report: dict) -> None:
    """Tag the run with the gate's outcome (promote reads it) and keep the full report as an artifact."""
    client = mlflow.MlflowClient()
    client.set_tag(run_id, f"{GATE_TAG_PREFIX}{report['gate']}", PASSED if report["passed"] else "failed")
    client.log_dict(run_id, report, f"gates/{report['gate']}.json")


def enforce_gate(report: dict) -> None:
    if not report["passed"]:
        reasons = "; ".join(
            f"{check['metric']} {check['value']:.4f} not {check['comparison']} {check['threshold']}"
            for check in report["failed"]
        )
        raise GateFailedError(f"gate {report['gate']}: {reasons}", {"gate": report})


def gates_not_passed(run_tags: dict[str, str], required: tuple[str, ...]) -> list[str]:
    return [gate for gate in required if run_tags.get(f"{GATE_TAG_PREFIX}{gate}") != PASSED]
