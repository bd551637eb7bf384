"""Names in MLflow that steps write and others read (aliases, tags, artifacts, experiments), and the Airflow pool
the training steps share."""

# Registered model aliases (MLflow 3: aliases, not stages).
CANDIDATE, PRODUCTION, PREVIOUS = "candidate", "production", "previous"
# A promoted version judged on live requests beside production before replacing it (declared rollout: shadow, canary).
STAGING = "staging"

# Tags of a training run.
MODEL_TAG = "nivesh.model"
STEP_TAG = "nivesh.step"
MODEL_URI_TAG = "nivesh.model_uri"
DATA_SHA256_TAG = "nivesh.data.sha256"
DATA_ROWS_TAG = "nivesh.data.rows"
DATA_SOURCE_TAG = "nivesh.data.source"
REPRODUCE_TAG = "nivesh.reproduce"  # seed, CPU threads, numeric libraries' versions (nivesh_common.reproducibility)
AIRFLOW_TAG_PREFIX = "nivesh.airflow."  # nivesh.airflow.<dag_id|run_id|task_id|try_number>
# Where a run's code came from (nivesh_common.lineage): the step's image, its content digest where the launcher knows
# it (docker), the launcher where it ran outside the cluster (local, docker), the source revision the image was built
# from (or the checkout's), and the step's package as "<distribution> <version>".
IMAGE_TAG = "nivesh.image"
IMAGE_DIGEST_TAG = "nivesh.image_digest"
LAUNCHER_TAG = "nivesh.launcher"
SOURCE_REVISION_TAG = "nivesh.source_revision"
PACKAGE_TAG = "nivesh.package"
GATE_TAG_PREFIX = "nivesh.gate."  # nivesh.gate.<gate> = passed | failed
GATE_PASSED, GATE_FAILED = "passed", "failed"
# Tag of a drift run: the production version its reference data came from.
PRODUCTION_VERSION_TAG = "nivesh.production_version"
# Tag of a model version: the day its run trained it (UTC), as the seed asks. A version also carries its
# training run's nivesh.airflow.dag_id and nivesh.airflow.run_id (the Airflow run that made it).
TRAINED_DATE_TAG = "trained_date"
# Tag of a model version that `rollback` took production away from.
ROLLED_BACK_TAG = "nivesh.rolled_back"
# Tag of a model version in a staged rollout: staged, then promoted or rolled_back (with the live comparison).
ROLLOUT_TAG = "nivesh.rollout"
STAGED_AT_TAG = "nivesh.rollout.staged_at"  # when it became staging (ISO 8601, UTC)
# Tag of a model version that `smoke-test` loaded as production and checked: passed | failed.
SMOKE_TEST_TAG = "nivesh.smoke_test"

# Artifacts of a training run.
REFERENCE_SNAPSHOT = "reference/data.parquet"  # what drift checks compare new data with
TEST_SPLIT = "evaluation/test.parquet"  # the held-out data the gates and the champion are scored on

# Beside each refresh snapshot's data file: what it holds and when it was extracted (nivesh_pipelines.snapshots).
SNAPSHOT_MANIFEST = "manifest.json"

DRIFT_EXPERIMENT = "drift"
# MLflow 3's experiment kind (its UI opens a "custom model development" experiment on its runs, not the GenAI
# traces view).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_TRAINING_KIND = "custom_model_development"


def gate_tag(gate: str) -> str:
    return f"{GATE_TAG_PREFIX}{gate}"


def experiment_name(model_or_purpose: str) -> str:
    """`nivesh/credit_risk_scorer`, `nivesh/drift`."""
    return f"nivesh/{model_or_purpose}"


def data_asset_name(model_name: str) -> str:
    """`credit_risk_scorer_training_data`: the Airflow asset of a model's training data (its DAG runs when the asset
    gets an event; the master's freshness check names it)."""
    return f"{model_name}_training_data"


# The key of a data asset event's `extra` that names the new data (`{"path": "/data/anomaly/transactions.csv"}`): the
# run the event starts trains on it.
DATA_EVENT_PATH_KEY = "path"

# The Airflow pool of the train steps: its slots are how many training pods run at once (one per CPU core of the
# machine or the cluster's nodes: `make run`, `make ui` and `make deploy` size it); the other steps are light.
TRAINING_POOL = "nivesh_training"
