"""How a trained scorer turns an application into a decision: its features, the calibration of its
probability and the decision threshold. Logged with the run (`scoring.json`) and inside the served model."""

from dataclasses import dataclass

import mlflow

from nivesh_credit_risk.calibration import Calibration, CalibrationMethod
from nivesh_credit_risk.features import FEATURE_SPEC, FeatureSpec

SCORING = "scoring.json"
UNCALIBRATED_THRESHOLD = 0.5  # what versions trained before the threshold was chosen were judged at


@dataclass(frozen=True)
class Scoring:
    features: FeatureSpec
    threshold: float
    calibration: Calibration

    def to_dict(self) -> dict:
        return {
            "features": self.features.to_dict(),
            "threshold": self.threshold,
            "calibration": self.calibration.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Scoring":
        calibration = data.get("calibration") or {"method": str(CalibrationMethod.none)}
        return cls(
            FeatureSpec.from_dict(data["features"]), float(data["threshold"]), Calibration.from_dict(calibration)
        )


def load_scoring(run_id: str) -> Scoring:
    """The scoring a run logged; for a run from before it did, its features at the fixed 0.5 threshold."""
    artifacts = {artifact.path for artifact in mlflow.MlflowClient().list_artifacts(run_id)}
    if SCORING in artifacts:
        return Scoring.from_dict(mlflow.artifacts.load_dict(f"runs:/{run_id}/{SCORING}"))
    features = FeatureSpec.from_dict(mlflow.artifacts.load_dict(f"runs:/{run_id}/{FEATURE_SPEC}"))
    return Scoring(features, UNCALIBRATED_THRESHOLD, Calibration(str(CalibrationMethod.none)))
