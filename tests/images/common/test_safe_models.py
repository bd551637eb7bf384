"""The estimator inside a served model, and a production version logged before models were served."""

import mlflow
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest

from nivesh_common.safe_models import load_estimator, load_sklearn_model

TRUSTED = ("sklearn.tree._tree.Tree",)
SERVED = """
import mlflow

class Served(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        self.estimator = open(context.artifacts["weights"]).read()

    def predict(self, context, model_input, params=None):
        return model_input

mlflow.models.set_model(Served())
"""


@pytest.fixture
def store(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("served")  # not the experiment another test left active in this process
    yield tmp_path
    mlflow.set_tracking_uri(None)


def test_the_served_model_s_estimator_and_a_legacy_flavour_both_load(store):
    code, weights = store / "served.py", store / "weights.txt"
    code.write_text(SERVED)
    weights.write_text("the estimator")
    legacy_forest = IsolationForest(n_estimators=3, random_state=0).fit(pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    with mlflow.start_run():
        served = mlflow.pyfunc.log_model(
            name="served", python_model=str(code), artifacts={"weights": str(weights)}, pip_requirements=["mlflow"]
        )
        legacy = mlflow.sklearn.log_model(
            legacy_forest,
            name="legacy",
            serialization_format="skops",
            skops_trusted_types=list(TRUSTED),
            pip_requirements=["scikit-learn"],
        )
    never = pytest.fail  # the served model must not reach the legacy loader
    assert load_estimator(served.model_uri, "estimator", never) == "the estimator"
    loaded = load_estimator(legacy.model_uri, "forest", lambda uri: load_sklearn_model(uri, TRUSTED))
    assert isinstance(loaded, IsolationForest) and loaded.n_estimators == 3
