"""A tiny stand-in for a served model in the staged-rollout tests, logged as MLflow "models from code" (nothing
pickled): anomaly's outputs, `anomaly_score` = amount x `factor`; with `fail_every` N > 0, a request whose first
row's `request_number` is a multiple of N fails, as a broken staging version would."""

import mlflow
import pandas as pd


class ScaledAmount(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        config = context.model_config
        fail_every = int(config.get("fail_every", 0))
        if fail_every and int(model_input["request_number"].iloc[0]) % fail_every == 0:
            raise ValueError("this version fails on this request")
        score = model_input["amount"].astype(float) * float(config["factor"])
        return pd.DataFrame({"anomaly_score": score, "is_anomaly": score > 1000})


mlflow.models.set_model(ScaledAmount())
