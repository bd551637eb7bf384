"""Quality gates: a model's declared thresholds on metrics, recorded on the run, enforced with exit 3."""

import mlflow

from nivesh_common.errors import GateFailedError
from nivesh_contract.declaration import Threshold
from nivesh_contract.names import GATE_FAILED, GATE_PASSED, gate_tag
from nivesh_contract.results import GateCheck, GateReport


def check(threshold: Threshold, value: float, limit: float) -> GateCheck:
    return {
        "metric": threshold.metric,
        "value": round(value, 6),
        "comparison": threshold.direction.value,
        "threshold": limit,
        "passed": threshold.passes(value, limit),
    }


def evaluate_gate(gate: str, metrics: dict[str, float], limits: dict[Threshold, float]) -> GateReport:
    """`limits`: each threshold of the gate and the limit this run applies (its default, or a flag's value)."""
    checks = [check(threshold, float(metrics[threshold.metric]), limit) for threshold, limit in limits.items()]
    failed = [each for each in checks if not each["passed"]]
    return {"gate": gate, "passed": not failed, "checks": checks, "failed": failed}


def record_gate(run_id: str, report: GateReport) -> None:
    """Tag the run with the gate's outcome (promote reads it) and keep the full report as an artifact."""
    client = mlflow.MlflowClient()
    client.set_tag(run_id, gate_tag(report["gate"]), GATE_PASSED if report["passed"] else GATE_FAILED)
    client.log_dict(run_id, report, f"gates/{report['gate']}.json")


def enforce_gate(report: GateReport, measured: dict | None = None) -> None:
    """GateFailedError (exit 3) where the gate did not pass; its result carries `measured` too (metrics, details)."""
    if not report["passed"]:
        reasons = "; ".join(
            f"{each['metric']} {each['value']:.4f} not {each['comparison']} {each['threshold']}"
            for each in report["failed"]
        )
        raise GateFailedError(f"gate {report['gate']}: {reasons}", {**(measured or {}), "gate": report})


def gates_not_passed(run_tags: dict[str, str], required: tuple[str, ...]) -> list[str]:
    return [gate for gate in required if run_tags.get(gate_tag(gate)) != GATE_PASSED]
