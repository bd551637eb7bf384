"""The anomaly detector as an MLflow pyfunc: transactions as the data contract has them (`user_id`,
`timestamp`, `amount`, `merchant`; one or many, any users) in; `anomaly_score` (higher is more unusual) and
`is_anomaly` (the forest's own cut-off, at its training contamination) out.

Logged as MLflow "models from code": this file is stored with the model and run when it is loaded. The
forest is skops (loaded with the trust list fixed in code) and the per-user profiles JSON, so loading
unpickles nothing. Features come from `nivesh_anomaly.features`, as in training: the model needs that
package (its step image).
"""

import json

import mlflow
import numpy as np
import pandas as pd

SCORE = "anomaly_score"
FLAG = "is_anomaly"


def detect(forest, features: pd.DataFrame) -> pd.DataFrame:
    """Scores and flags of the forest on feature rows (what the served model returns; what the gates judge)."""
    from nivesh_anomaly.features import FEATURES

    matrix = features[FEATURES]
    return pd.DataFrame({SCORE: -forest.score_samples(matrix), FLAG: forest.predict(matrix) == -1})


class AnomalyModel(mlflow.pyfunc.PythonModel):
    """Wraps the Isolation Forest (artifact `forest`) and the users' profiles (artifact `profiles`)."""

    def load_context(self, context) -> None:
        import skops.io

        from nivesh_anomaly.evaluation import TRUSTED_TYPES

        self.forest = skops.io.load(context.artifacts["forest"], trusted=list(TRUSTED_TYPES))
        with open(context.artifacts["profiles"]) as saved:
            self.profiles = json.load(saved)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from nivesh_anomaly.features import transaction_features
        from nivesh_common.timestamps import parse_timestamps

        transactions = model_input.assign(
            timestamp=parse_timestamps(model_input["timestamp"], "input", "timestamp"),
            amount=pd.to_numeric(model_input["amount"]).astype(float),
        ).reset_index(drop=True)
        return detect(self.forest, transaction_features(transactions, self.profiles)).set_index(
            np.arange(len(transactions))
        )


mlflow.models.set_model(AnomalyModel())
