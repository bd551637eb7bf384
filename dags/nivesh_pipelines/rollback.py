"""The rollback operation: a person returns a model's production to `previous`, or to a version they choose, from
the UI's trigger form (or `make rollback`); the notification says who rolled back what, and why."""

import getpass

import pendulum
from airflow.sdk import DAG, Param, TriggerRule, get_current_context, task

from nivesh_contract.catalog import MODELS, ROLLBACK_DAG_ID
from nivesh_contract.declaration import ModelDeclaration
from nivesh_contract.results import RolledBack, StepResult
from nivesh_pipelines.notify import deliver
from nivesh_pipelines.operator import FAILED_STEP_RESULT, TrainingStepOperator
from nivesh_pipelines.pipeline import DEFAULT_ARGS, fail_run_if_a_step_failed, text_param
from nivesh_pipelines.steps import Step


def rollback_task_id(model_name: str) -> str:
    return f"rollback_{model_name}"


def _params() -> dict[str, Param]:
    return {
        # No default: the trigger form makes the person choose.
        "model": Param(type="string", enum=[model.name for model in MODELS], description="The model to roll back."),
        "version": Param(
            None,
            type=["integer", "null"],
            minimum=1,
            description="The version to return to (it must have passed its gates); empty: the one that holds "
            "`previous`, the production before the current one.",
        ),
        "reason": text_param("", "Why: shown in the notification and the run's log."),
    }


# What Airflow's `airflow dags test` (make rollback) records as the user who triggered the run.
DAGS_TEST_USER = "dag_test"


def requested_by(dag_run) -> str:
    """The user who triggered the run in the UI or through the REST API; for `airflow dags test`, which runs the
    task in the caller's own process, the local user who ran it."""
    user = dag_run.triggering_user_name
    if user in (None, DAGS_TEST_USER):
        return f"{getpass.getuser()} (command line)"
    return user


def describe_rollback(model: str, who: str, reason: str, result: RolledBack | None, failure: StepResult | None) -> str:
    because = f" (reason: {reason})" if reason else ""
    if result is not None:
        return (
            f"{model}: production rolled back from v{result['rolled_back_version']} to "
            f"v{result['production_version']} by {who}{because}"
        )
    error = failure["error"] if failure and failure.get("error") else "see the task log"
    return f"{model}: rollback requested by {who}{because} failed, production unchanged: {error}"


def build_rollback_dag(models: tuple[ModelDeclaration, ...]) -> DAG:
    with DAG(
        dag_id=ROLLBACK_DAG_ID,
        description="Return a model's production version to the previous one, or to a version you choose.",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        default_args=DEFAULT_ARGS,
        params=_params(),
        tags=["nivesh", "operations"],
        doc_md="### Rollback\nTrigger with a model (and optionally a version): its own image's `rollback` step "
        "moves the `production` alias; the rolled-back version is tagged `nivesh.rolled_back`.",
    ) as dag:

        @task.branch
        def choose_model(params=None) -> str:
            """Each model's registry moves run in its own image: the branch picks that model's step."""
            return rollback_task_id(params["model"])

        steps = [
            TrainingStepOperator(
                step=Step(
                    rollback_task_id(model.name), "rollback", model.image, ("--to", "{{ params.version or '' }}")
                ),
                model=model.name,
                retries=0,  # a registry move either happened or was refused: a retry changes nothing
            )
            for model in models
        ]

        @task(trigger_rule=TriggerRule.ALL_DONE)
        def send_notification(params=None, ti=None, dag_run=None) -> str:
            task_id = rollback_task_id(params["model"])
            message = describe_rollback(
                params["model"],
                requested_by(dag_run),
                params["reason"] or "",
                ti.xcom_pull(task_ids=task_id),
                ti.xcom_pull(task_ids=task_id, key=FAILED_STEP_RESULT),
            )
            deliver(f"[nivesh] {ROLLBACK_DAG_ID} {params['model']}", message, get_current_context())
            return message

        choose_model() >> steps >> send_notification()
        steps >> fail_run_if_a_step_failed(ROLLBACK_DAG_ID, "send_notification")
    return dag
