"""The credit risk scorer as an MLflow pyfunc: application rows as the data contract has them (categorical
columns as text, any column order, columns that are no feature ignored) in; out, for each application:
`default_probability` (calibrated), `decision` (`refuse` at or above the chosen threshold, else `approve`)
and `reasons` (up to three features that raised its risk most, largest first).

Logged as MLflow "models from code": this file is stored with the model and run when it is loaded. The
booster is XGBoost's own UBJSON and the scoring (features, calibration, threshold) JSON, so loading
unpickles nothing. Features, calibration and reasons come from `nivesh_credit_risk`, as in training: the
model needs that package (its step image).
"""

import json

import mlflow
import numpy as np
import pandas as pd

PROBABILITY = "default_probability"
DECISION = "decision"
REASONS = "reasons"


def score_applications(classifier, scoring, applications: pd.DataFrame, source: str = "input") -> pd.DataFrame:
    from nivesh_credit_risk.features import feature_matrix
    from nivesh_credit_risk.reasons import contributions, top_reasons

    matrix = feature_matrix(applications, scoring.features, source)
    probabilities = scoring.calibration.apply(classifier.predict_proba(matrix)[:, 1])
    return pd.DataFrame(
        {
            PROBABILITY: probabilities,
            DECISION: np.where(probabilities >= scoring.threshold, "refuse", "approve"),
            REASONS: top_reasons(contributions(classifier, matrix)),
        }
    )


class CreditRiskModel(mlflow.pyfunc.PythonModel):
    """Wraps the classifier (artifact `classifier`) and how it scores (artifact `scoring`)."""

    def load_context(self, context) -> None:
        from xgboost import XGBClassifier

        from nivesh_credit_risk.scoring import Scoring

        self.classifier = XGBClassifier()
        self.classifier.load_model(context.artifacts["classifier"])
        with open(context.artifacts["scoring"]) as saved:
            self.scoring = Scoring.from_dict(json.load(saved))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return score_applications(self.classifier, self.scoring, model_input)


mlflow.models.set_model(CreditRiskModel())
