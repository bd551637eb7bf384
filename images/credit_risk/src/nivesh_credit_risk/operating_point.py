"""The decision threshold, chosen on the validation split by a stated rule instead of assumed at 0.5.

`cost`: the threshold with the lowest expected cost, a missed default costing `cost_ratio` times a wrongly
refused applicant (5:1, the classic credit setting). `recall`: the best precision among thresholds that
catch at least `min_recall` of the defaults (the recall gate). Both read calibrated probabilities.
"""

from dataclasses import asdict, dataclass
from enum import StrEnum

import numpy as np

from nivesh_common.errors import BadInputError


class ThresholdRule(StrEnum):
    cost = "cost"
    recall = "recall"


@dataclass(frozen=True)
class OperatingPoint:
    threshold: float
    rule: str
    cost_ratio: float
    min_recall: float
    validation_precision: float
    validation_recall: float

    def to_dict(self) -> dict:
        return asdict(self)


def _candidates(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each distinct probability as a threshold (refuse at or above it): thresholds, true and false positives."""
    order = np.argsort(-probabilities, kind="stable")
    ranked, defaulted = probabilities[order], labels[order]
    last_of_each_value = np.r_[ranked[1:] != ranked[:-1], True]
    true_positives = np.cumsum(defaulted)[last_of_each_value]
    false_positives = np.cumsum(1 - defaulted)[last_of_each_value]
    return ranked[last_of_each_value], true_positives, false_positives


def choose_threshold(
    probabilities: np.ndarray, labels: np.ndarray, rule: ThresholdRule, cost_ratio: float, min_recall: float
) -> OperatingPoint:
    labels = np.asarray(labels, dtype=int)
    thresholds, true_positives, false_positives = _candidates(np.asarray(probabilities, dtype=float), labels)
    defaults = labels.sum()
    recall = true_positives / defaults
    precision = true_positives / (true_positives + false_positives)
    if rule == ThresholdRule.cost:
        missed = defaults - true_positives
        best = int(np.argmin(cost_ratio * missed + false_positives))
    else:
        meeting = np.flatnonzero(recall >= min_recall)
        if not meeting.size:
            raise BadInputError(f"--threshold-rule recall: no threshold reaches recall {min_recall} on validation")
        best = int(meeting[np.argmax(precision[meeting])])
    return OperatingPoint(
        float(thresholds[best]), str(rule), cost_ratio, min_recall, float(precision[best]), float(recall[best])
    )
