"""The catalog: every model, the drift and Airflow images, the master pipeline, and lookups by name."""

from collections import Counter

from nivesh_contract.declaration import IMAGE_REPOSITORY, IMAGE_VERSION, MasterPipeline, ModelDeclaration, StepImage
from nivesh_contract.models import MODELS

DRIFT_IMAGE = StepImage("drift", size_target_mb=900)
AIRFLOW_IMAGE_REF = f"{IMAGE_REPOSITORY}/airflow:{IMAGE_VERSION}"  # the cluster's Airflow, with the DAGs baked in
# Every image a pipeline step runs: each model's own, and drift's.
STEP_IMAGES = (*(model.image for model in MODELS), DRIFT_IMAGE)

MASTER = MasterPipeline(dag_id="master_training_pipeline", schedule="0 1 * * 1", max_data_age_days=30.0)
ROLLBACK_DAG_ID = "rollback_model"  # an operation, triggered by a person: production back to an earlier version


class UnknownModelError(KeyError):
    """A name that no declaration has."""

    def __str__(self) -> str:
        return f"{self.args[0]}: not a declared model (known: {', '.join(model.name for model in MODELS)})"


def model_named(name: str) -> ModelDeclaration:
    for model in MODELS:
        if model.name == name:
            return model
    raise UnknownModelError(name)


def _check_distinct() -> None:
    """Two declarations sharing a name, DAG or image would silently overwrite each other downstream."""
    for what, values in (
        ("model name", [model.name for model in MODELS]),
        ("DAG id", [model.dag_id for model in MODELS]),
        ("image", [image.name for image in STEP_IMAGES]),
        ("image directory", [image.directory for image in STEP_IMAGES]),
    ):
        repeated = [value for value, count in Counter(values).items() if count > 1]
        if repeated:
            raise ValueError(f"declared twice ({what}): {', '.join(repeated)}")


_check_distinct()
