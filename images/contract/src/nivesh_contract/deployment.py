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
# Where steps and pipelines push their figures for Prometheus: the Pushgateway's URL, from this Airflow Variable;
# empty or unset: nothing is pushed.
PUSHGATEWAY_VARIABLE = "NIVESH_PUSHGATEWAY_URL"
PUSHGATEWAY_AIRFLOW_VARIABLE = "nivesh_pushgateway_url"
# Where the scoring servers of a staged rollout log their answers and the rollout's evaluation reads them: the
# Airflow Variable (the embedded default: the state dir's predictions/), else the pods' mount of the claim.
PREDICTIONS_DIR_AIRFLOW_VARIABLE = "nivesh_predictions_dir"
PREDICTIONS_MOUNT = "/predictions"
DATA_SCHEMES_VARIABLE = "NIVESH_DATA_SCHEMES"  # comma-separated, e.g. "s3,gs"; local files are always allowed
# The Airflow task a step runs for (set in every pod; absent when a step runs by hand): its MLflow runs are
# named after it and tagged with it, so a run leads back to the Airflow run that made it.
AIRFLOW_CONTEXT_VARIABLES = {
    "dag_id": "NIVESH_AIRFLOW_DAG_ID",
    "run_id": "NIVESH_AIRFLOW_RUN_ID",
    "task_id": "NIVESH_AIRFLOW_TASK_ID",
    "try_number": "NIVESH_AIRFLOW_TRY_NUMBER",
}
# Lineage (nivesh_common.lineage). The step's image ref: set in every pod. The image's content-addressed id
# (sha256): set only by launcher docker, which asks its engine; on Kubernetes the kubelet resolves the image only
# when the pod starts, after its environment is fixed. The launcher, set by the launchers outside the cluster
# (local: no image ran; docker). The git revision the image was built from: baked in by `make images`.
IMAGE_VARIABLE = "NIVESH_IMAGE"
IMAGE_DIGEST_VARIABLE = "NIVESH_IMAGE_DIGEST"
LAUNCHER_VARIABLE = "NIVESH_LAUNCHER"
SOURCE_REVISION_VARIABLE = "NIVESH_SOURCE_REVISION"
# Where a person opens Airflow (Airflow Variable nivesh_airflow_base_url, '' unknown): a registered version's
# description links the Airflow run that trained it.
AIRFLOW_BASE_URL_VARIABLE = "NIVESH_AIRFLOW_BASE_URL"
# The XCom key under which the master's trigger tasks (Airflow's TriggerDagRunOperator) leave the model run they
# started: the summary and `make run`'s progress read it.
TRIGGERED_RUN_ID = "trigger_run_id"
