"""Builds a model's training DAG from its catalog entry: the seed's steps, each a training-step pod."""

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, TriggerRule, chain, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from nivesh_pipelines.catalog import DRIFT_CHECK, TRAINING_DECISION, ModelSpec
from nivesh_pipelines.notify import FinalFailureNotifier, deliver
from nivesh_pipelines.operator import FAILED_STEP_RESULT, TrainingStepOperator
from nivesh_pipelines.outcome import describe_outcome

DEFAULT_ARGS = {
    "owner": "ml-team",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(hours=2),
    # The seed's "email alert on final failure": Slack and/or email, else the log (see notify.py).
    "on_failure_callback": FinalFailureNotifier(),
}


def _params(spec: ModelSpec) -> dict[str, Param]:
    params = {
        "data_path": Param(
            "", type="string", description="Training data (path or URL); empty: the catalog's file under the data root."
        )
    }
    for name, default in spec.thresholds.items():
        bounds = {"minimum": 0} if name == "tolerance" else {"minimum": 0, "maximum": 1}
        params[name] = Param(default, type="number", description=f"Gate threshold {name}.", **bounds)
    for name, default in spec.options.items():
        params[name] = Param(default, type="string", description=f"Data contract: {name.replace('_', ' ')}.")
    params["force"] = Param(False, type="boolean", description="Train even without drift or new data.")
    return params


@task.short_circuit(task_id=TRAINING_DECISION, ignore_downstream_trigger_rules=False)
def train_or_skip(params=None, ti=None) -> bool:
    """Training goes on when forced or when check_drift says retrain; otherwise it is skipped, not failed."""
    return bool(params["force"]) or bool(ti.xcom_pull(task_ids=DRIFT_CHECK)["retrain"])


def build_training_dag(spec: ModelSpec) -> DAG:
    with DAG(
        dag_id=spec.dag_id,
        description=spec.description,
        schedule=spec.schedule,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params=_params(spec),
        tags=["nivesh", "training", spec.registered_name],
        doc_md=f"### {spec.registered_name}\n{spec.description}\n\nImage `{spec.image.ref}`, steps: "
        + " → ".join(step.task_id for step in spec.steps),
    ) as dag:
        steps = []
        for step in spec.steps:
            steps.append(TrainingStepOperator(image=spec.image_of(step), step=step, model=spec.registered_name))
            if step.task_id == DRIFT_CHECK:
                steps.append(train_or_skip())
        chain(*steps)
        step_ids = [step.task_id for step in spec.steps]

        @task(trigger_rule=TriggerRule.ALL_DONE)
        def send_notification(params=None, ti=None) -> dict:
            """Returns the outcome line too: the master pipeline's summary reads it."""
            results = {task_id: ti.xcom_pull(task_ids=task_id) for task_id in step_ids}
            failures = {task_id: ti.xcom_pull(task_ids=task_id, key=FAILED_STEP_RESULT) for task_id in step_ids}
            outcome = describe_outcome(spec.registered_name, step_ids, results, failures, forced=params["force"])
            channels = deliver(f"[nivesh] {spec.dag_id}", outcome, get_current_context())
            return {"outcome": outcome, "channels": channels}

        steps[-1] >> send_notification()
        steps >> fail_run_if_a_step_failed(spec.dag_id, "send_notification")
    return dag


@task(trigger_rule=TriggerRule.ONE_FAILED, retries=0, on_failure_callback=None)
def fail_run_if_a_step_failed(dag_id: str, notification_task: str) -> None:
    """The notification always succeeds; this leaf keeps a failed step visible as a failed run."""
    raise AirflowFailException(f"a step of {dag_id} failed; see {notification_task}")
