"""The JSON result every step writes (XCom `return.json`, and the last stdout line), typed per command.

Steps build these; the Airflow side reads them. `missing_fields` is how a step checks what it built.
"""

from enum import StrEnum
from typing import NotRequired, TypedDict, is_typeddict


class Status(StrEnum):
    OK = "ok"
    BAD_INPUT = "bad_input"
    GATE_FAILED = "gate_failed"
    ERROR = "error"


class StepResult(TypedDict):
    """Every result has these; a failed step's adds `error` (and a failed gate's its report)."""

    status: Status
    elapsed_s: float
    error: NotRequired[str]


class GateCheck(TypedDict):
    metric: str
    value: float
    comparison: str  # ">=" or "<="
    threshold: float
    passed: bool


class GateReport(TypedDict):
    gate: str
    passed: bool
    checks: list[GateCheck]
    failed: list[GateCheck]


class Trained(TypedDict):
    """`train`."""

    run_id: str
    model_uri: str
    rows: int
    data_sha256: str


class Judged(TypedDict):
    """A gate command: `evaluate`, and credit risk's `fairness`."""

    run_id: str
    metrics: dict[str, float]
    gate: GateReport


class Registered(TypedDict):
    """`register`."""

    model: str
    version: int
    run_id: str
    alias: str
    newly_registered: bool


class Promoted(TypedDict):
    """`promote`: `promoted` false means production was kept, and `reason` says why."""

    model: str
    candidate_version: int
    metric: str
    promoted: bool
    production_version: int | None  # None: a dry run for a model with no production version yet
    reason: str
    champion_version: NotRequired[int]
    previous_version: NotRequired[int | None]
    # On each evaluation set (the candidate's test split, production's): both versions' scores.
    scores: NotRequired[dict[str, dict[str, float]]]
    # `promote --dry-run`: nothing moved; `would_promote` says whether the move would happen.
    dry_run: NotRequired[bool]
    would_promote: NotRequired[bool]
    # A staged rollout (declared shadow or canary, production present): the candidate became `staging`, and
    # production moves only once it has been judged on live requests (`nivesh-platform rollout evaluate`).
    staging_version: NotRequired[int]


class RolledBack(TypedDict):
    """`rollback`."""

    model: str
    production_version: int
    rolled_back_version: int


class RolloutEvaluated(TypedDict):
    """`rollout-evaluate`: `decision` waiting (not due), rolled_back, awaiting_approval or promoted; each side's
    figures on the live requests it answered."""

    model: str
    strategy: str
    decision: str
    reason: str
    staging: dict[str, float]  # version, requests, error_rate, latency_p95_ms
    production: dict[str, float]
    prediction_shift: float


class SmokeTested(TypedDict):
    """`smoke-test`: `tested` false means production is not `version` (nothing new to test), and `reason` says so;
    tested, it says how many rows the loaded model predicted and how long loading and predicting took."""

    model: str
    version: int
    tested: bool
    production_version: int | None
    reason: NotRequired[str]
    rows: NotRequired[int]
    seconds: NotRequired[float]
    staging_version: NotRequired[int]  # tested as `staging`: a staged rollout's new version


class SmokeTestFailed(TypedDict):
    """What a failed `smoke-test` adds to its result (exit 3): the version taken out of production and the
    production version after the rollback (None: the failed version was the first, and production was removed)."""

    smoke_test: str  # "failed"
    model: str
    version: int
    rolled_back_version: int | None  # None: production had moved meanwhile, and was left alone
    production_version: int | None
    alias: NotRequired[str]  # "staging": the failed version was a staged rollout's, taken out of staging


class DriftDecision(TypedDict):
    """`nivesh-drift check`, and one row of `report`: with no production version, only the first three."""

    model: str
    retrain: bool | None  # None: the model's data could not be judged (report only)
    reason: str
    production_version: NotRequired[int]
    drift_share: NotRequired[float]
    dataset_drift: NotRequired[bool]
    drifted_columns: NotRequired[list[dict]]
    data_changed: NotRequired[bool]
    report_uri: NotRequired[str]
    drift_run_id: NotRequired[str]


class DriftReport(TypedDict):
    """`nivesh-drift report`: the master pipeline's drift step."""

    models: list[DriftDecision]
    summary: str
    report_run_id: str


class Notification(TypedDict):
    """A model DAG's `send_notification`: the outcome line the master pipeline's summary reads."""

    outcome: str
    channels: list[str]


def missing_fields(result: dict, shape: type) -> list[str]:
    """The required fields of `shape` (a TypedDict) that `result` lacks."""
    if not is_typeddict(shape):
        raise TypeError(f"{shape!r} is not a result shape")
    return sorted(field for field in shape.__required_keys__ if field not in result)
