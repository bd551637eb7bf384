"""How a promoted version reaches users: at once (`direct`), or first as `staging` beside production, judged on
live requests before it replaces production (`shadow`: a copy of every request; `canary`: a share of users)."""

import math
from dataclasses import dataclass
from enum import StrEnum


class Strategy(StrEnum):
    DIRECT = "direct"
    SHADOW = "shadow"
    CANARY = "canary"


class Decision(StrEnum):
    """What a rollout's evaluation decided (RolloutEvaluated.decision)."""

    NOTHING_STAGED = "nothing_staged"  # no staging version: between rollouts
    WAITING = "waiting"  # not due yet
    ROLLED_BACK = "rolled_back"
    AWAITING_APPROVAL = "awaiting_approval"  # passed; the model needs a person's approval
    PROMOTED = "promoted"


# When each staged model's rollout DAG judges its staging version (cron, UTC): hourly, off the hour's rush.
EVALUATION_SCHEDULE = "17 * * * *"


@dataclass(frozen=True, kw_only=True)
class Rollout:
    strategy: Strategy = Strategy.DIRECT
    share_percent: float = 10.0  # canary: the share of users (hashed user id: sticky) that staging answers
    evaluate_after_requests: int = 2000  # staging is judged once it has answered (or shadowed) this many requests
    evaluate_after_days: float = 7.0  # ... or this long after it was staged, whichever comes first
    prediction: str = ""  # the output field compared: numbers by the KS statistic, labels by total variation
    max_latency_p95_ratio: float = 1.5  # staging's p95 latency at most this times production's
    max_error_rate_increase: float = 0.01  # staging's error rate at most production's plus this
    max_prediction_shift: float = 0.2
    # Where outcomes arrive (the app reports them by request id): the output field they judge, e.g. is_anomaly
    # against a confirmed fraud; staging's share of matches may trail production's by at most the drop.
    outcome: str = ""
    max_outcome_accuracy_drop: float = 0.02

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "strategy", Strategy(self.strategy))
        except ValueError:
            raise ValueError(f"rollout.strategy {self.strategy!r}: one of {', '.join(Strategy)}") from None
        share = self.share_percent
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 100:
            raise ValueError(f"rollout.share_percent {share!r}: a percentage between 0 and 100 (exclusive)")
        if isinstance(self.evaluate_after_requests, bool) or not isinstance(self.evaluate_after_requests, int):
            raise ValueError(f"rollout.evaluate_after_requests {self.evaluate_after_requests!r}: a whole number")
        if self.evaluate_after_requests < 1:
            raise ValueError("rollout.evaluate_after_requests must be at least 1")
        limits = (
            "max_latency_p95_ratio",
            "max_error_rate_increase",
            "max_prediction_shift",
            "max_outcome_accuracy_drop",
        )
        for name in ("evaluate_after_days", *limits):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ValueError(f"rollout.{name} {value!r}: a finite number >= 0")
        if self.staged and not self.prediction:
            raise ValueError(f"rollout.prediction: the output field to compare, needed by strategy {self.strategy}")

    @property
    def staged(self) -> bool:
        return self.strategy is not Strategy.DIRECT


# The rows of a rollout's comparison: (row name, key in each side's figures), the outcomes' where reported.
COMPARED = (
    ("requests", "requests"),
    ("error rate", "error_rate"),
    ("p95 latency (ms)", "latency_p95_ms"),
    ("outcomes reported", "outcomes"),
    ("outcome accuracy", "outcome_accuracy"),
)


def comparison(judged: dict) -> str:
    """Markdown: the decision and each version's figures on the live requests (a RolloutEvaluated result), as the
    version's description and the notification show it."""
    production, staging = judged["production"], judged["staging"]
    rows = "\n".join(
        f"| {name} | {_cell(production[key])} | {_cell(staging[key])} |" for name, key in COMPARED if key in production
    )
    return (
        f"**Live comparison ({judged['strategy']})**: {judged['reason']}.\n\n| | production v{production['version']} | "
        f"staging v{staging['version']} |\n|---|---|---|\n{rows}\n\nprediction shift: {judged['prediction_shift']}"
    )


def _cell(value) -> str:
    return "-" if value is None else str(value)  # None: too few outcomes to judge
