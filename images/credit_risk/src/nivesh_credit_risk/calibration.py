"""Calibrated default probabilities: a map from the classifier's scores to probabilities, fitted on the
validation split. Stored as numbers (JSON), so the served model applies it without unpickling anything.

`sigmoid` (Platt scaling on the score's log-odds, two numbers) suits small validation splits; `isotonic`
(a monotone step function) needs more data; `none` keeps the classifier's scores.
"""

from dataclasses import asdict, dataclass, field
from enum import StrEnum

import numpy as np

EPSILON = 1e-6


class CalibrationMethod(StrEnum):
    sigmoid = "sigmoid"
    isotonic = "isotonic"
    none = "none"


def _log_odds(scores: np.ndarray) -> np.ndarray:
    clipped = np.clip(scores, EPSILON, 1 - EPSILON)
    return np.log(clipped / (1 - clipped))


@dataclass(frozen=True)
class Calibration:
    method: str
    slope: float = 1.0  # sigmoid: p = 1 / (1 + exp(-(slope * log-odds + intercept)))
    intercept: float = 0.0
    scores: list[float] = field(default_factory=list)  # isotonic: the step function's knots
    probabilities: list[float] = field(default_factory=list)

    def apply(self, scores: np.ndarray) -> np.ndarray:
        scores = np.asarray(scores, dtype=float)
        if self.method == CalibrationMethod.sigmoid:
            return 1 / (1 + np.exp(-(self.slope * _log_odds(scores) + self.intercept)))
        if self.method == CalibrationMethod.isotonic:
            return np.interp(scores, self.scores, self.probabilities)
        return scores

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Calibration":
        return cls(**data)


def fit_calibration(scores: np.ndarray, labels: np.ndarray, method: CalibrationMethod) -> Calibration:
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    if method == CalibrationMethod.sigmoid:
        platt = LogisticRegression(C=1e6).fit(_log_odds(scores).reshape(-1, 1), labels)
        return Calibration(str(method), slope=float(platt.coef_[0, 0]), intercept=float(platt.intercept_[0]))
    if method == CalibrationMethod.isotonic:
        isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, labels)
        return Calibration(
            str(method), scores=isotonic.X_thresholds_.tolist(), probabilities=isotonic.y_thresholds_.tolist()
        )
    return Calibration(str(method))
