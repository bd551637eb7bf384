"""The spending forecast as an MLflow pyfunc: a DataFrame of days (`ds`) in, `ds`, `yhat`, `yhat_lower`,
`yhat_upper` (total daily spend and its 80% interval) out.

Logged as MLflow "models from code": this file is stored with the model and run when it is loaded; the
Prophet model is Prophet's own JSON, so loading it unpickles nothing.
"""

import mlflow
import pandas as pd

DAY = "ds"
FORECAST = [DAY, "yhat", "yhat_lower", "yhat_upper"]


def forecast(model, days: pd.Series) -> pd.DataFrame:
    """The forecast columns for `days` (what the served model returns, and what the gates judge)."""
    return model.predict(pd.DataFrame({DAY: pd.to_datetime(days)}))[FORECAST]


class SpendingForecast(mlflow.pyfunc.PythonModel):
    """Wraps the Prophet model saved as the artifact `prophet` (JSON)."""

    def load_context(self, context) -> None:
        from prophet.serialize import model_from_json

        with open(context.artifacts["prophet"]) as saved:
            self.model = model_from_json(saved.read())

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return forecast(self.model, model_input[DAY])


mlflow.models.set_model(SpendingForecast())
