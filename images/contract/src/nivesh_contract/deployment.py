"""Where a step reads its settings and writes its result, in a pod and on a laptop alike."""

XCOM_DIR = "/airflow/xcom"  # where KubernetesPodOperator's sidecar reads the result
RESULT_FILE = "return.json"

# Environment variables a step reads (inside the command, never at import).
TRACKING_URI_VARIABLE = "MLFLOW_TRACKING_URI"
XCOM_DIR_VARIABLE = "NIVESH_XCOM_DIR"
# Only for a tracking store without a server (SQLite): where new experiments keep artifacts.
ARTIFACT_ROOT_VARIABLE = "NIVESH_MLFLOW_ARTIFACT_ROOT"
# Where steps may read data: local paths under the data root (when set), URLs of the listed schemes only.
DATA_ROOT_VARIABLE = "NIVESH_DATA_ROOT"
DATA_SCHEMES_VARIABLE = "NIVESH_DATA_SCHEMES"  # comma-separated, e.g. "s3,gs"; local files are always allowed
