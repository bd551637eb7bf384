"""Models loaded without pickle: our served models (MLflow "models from code": a code file, and artifacts in
their libraries' own formats), and scikit-learn models from MLflow's skops format, with the trust list fixed here.

MLflow's own loader reads the trusted types from the model's MLmodel file, which whoever writes to the
registry controls; with pickle deserialization off (the steps' default) it refuses skops models altogether.
"""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import mlflow

from nivesh_common.errors import BadInputError

SKOPS_FILE = "model.skops"  # where mlflow.sklearn.log_model(serialization_format="skops") writes it


def load_sklearn_model(model_uri: str, trusted: Sequence[str]) -> Any:
    """The scikit-learn model at `model_uri`, trusting skops' defaults and `trusted`, nothing from the model."""
    import skops.io

    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri))
    if not (local / SKOPS_FILE).is_file():
        raise BadInputError(f"{model_uri}: not a scikit-learn model in skops format ({SKOPS_FILE} missing)")
    return skops.io.load(local / SKOPS_FILE, trusted=list(trusted))


def load_python_model(model_uri: str) -> Any:
    """The served model's own PythonModel, its artifacts loaded (models from code: the file runs, nothing is
    unpickled)."""
    return mlflow.pyfunc.load_model(model_uri).unwrap_python_model()


def load_estimator(model_uri: str, attribute: str, legacy: Callable[[str], Any]) -> Any:
    """The estimator the gates and the champion score: `attribute` of the served model's PythonModel.

    A version logged before the models were served on their data contracts carries its library's own MLflow
    flavour instead (xgboost, spacy, prophet, sklearn with skops; none pickled): `legacy` loads it, so a
    production version from before still competes as champion.
    """
    from mlflow.models import Model

    if set(Model.load(model_uri).flavors) - {"python_function"}:
        return legacy(model_uri)
    return getattr(load_python_model(model_uri), attribute)
