import importlib.metadata

import mlflow
import pandas as pd

from nivesh_common.tracking import pinned_requirements


def test_pinned_requirements_work_where_mlflow_is_installed_as_mlflow_skinny(monkeypatch):
    installed_version = importlib.metadata.version

    def skinny_only(name: str) -> str:  # the step images: no `mlflow` distribution, only `mlflow-skinny`
        if name == "mlflow":
            raise importlib.metadata.PackageNotFoundError(name)
        return installed_version(name)

    monkeypatch.setattr(importlib.metadata, "version", skinny_only)
    assert pinned_requirements("pandas") == [f"mlflow=={mlflow.__version__}", f"pandas=={pd.__version__}"]
