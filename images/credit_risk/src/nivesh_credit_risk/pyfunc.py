"""The credit risk scorer as an MLflow pyfunc: application rows as the data contract has them (categorical
columns as text, any column order, columns that are no feature ignored) in; `default_probability` and
`decision` (`refuse` at or above the decision threshold, else `approve`) out.

Logged as MLflow "models from code": this file is stored with the model and run when it is loaded. The
booster is XGBoost's own UBJSON and the feature spec JSON, so loading unpickles nothing. The features are
built by `nivesh_credit_risk.features`, as in training: the model needs that package (its step image).
"""

import json

import mlflow
import numpy as np
import pandas as pd

PROBABILITY = "default_probability"
DECISION = "decision"


def decide(probabilities: np.ndarray, threshold: float) -> pd.DataFrame:
    return pd.DataFrame(
        {PROBABILITY: probabilities, DECISION: np.where(probabilities >= threshold, "refuse", "approve")}
    )


class CreditRiskModel(mlflow.pyfunc.PythonModel):
    """Wraps the classifier (artifact `classifier`) and how it scores (artifact `scoring`: features, threshold)."""

    def load_context(self, context) -> None:
        from xgboost import XGBClassifier

        from nivesh_credit_risk.features import FeatureSpec

        self.classifier = XGBClassifier()
        self.classifier.load_model(context.artifacts["classifier"])
        with open(context.artifacts["scoring"]) as saved:
            scoring = json.load(saved)
        self.spec, self.threshold = FeatureSpec.from_dict(scoring["features"]), float(scoring["threshold"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from nivesh_credit_risk.features import feature_matrix

        matrix = feature_matrix(model_input, self.spec, "input")
        return decide(self.classifier.predict_proba(matrix)[:, 1], self.threshold)


mlflow.models.set_model(CreditRiskModel())
