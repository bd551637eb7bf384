"""Builds a model's training DAG from its declaration: the seed's steps, each a training-step pod."""

from datetime import timedelta

from airflow.sdk import DAG, Param, TriggerRule, Variable, chain, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from nivesh_contract.declaration import ModelDeclaration, Option, Setting
from nivesh_contract.deployment import PUSHGATEWAY_AIRFLOW_VARIABLE
from nivesh_contract.results import Notification
from nivesh_pipelines.approval import ANSWER, APPROVAL, APPROVAL_DECISION, PromotionApproval, require_approval_param
from nivesh_pipelines.assets import MACROS, schedule_tag, training_schedule
from nivesh_pipelines.deadlines import deadline_alert
from nivesh_pipelines.notify import FinalFailureNotifier, deliver
from nivesh_pipelines.operator import FAILED_STEP_RESULT, TrainingStepOperator
from nivesh_pipelines.outcome import describe_outcome
from nivesh_pipelines.pipeline_metrics import push_pipeline_outcome
from nivesh_pipelines.steps import DEPLOY, DRIFT_CHECK, TRAINING_DECISION, Step, comparison_step, pipeline_steps

DEFAULT_ARGS = {
    "owner": "ml-team",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(hours=2),
    # The seed's "email alert on final failure": Slack and/or email, else the log (see notify.py).
    "on_failure_callback": FinalFailureNotifier(),
}


def number_param(setting: Setting) -> Param:
    """A declared setting as a DAG param, within its declared range."""
    bounds = {"minimum": setting.minimum, "maximum": setting.maximum}
    defined = {name: bound for name, bound in bounds.items() if bound is not None}
    return Param(setting.default, type="number", description=setting.help, **defined)


def text_param(default: str, description: str) -> Param:
    """A text param that may be left empty: the UI's trigger form refuses an empty field of type "string" alone
    (it reads it as required), and sends null for a field emptied there."""
    return Param(default, type=["string", "null"], description=description)


def option_param(option: Option) -> Param:
    """A declared option as a DAG param: free text, one of its choices, or a number within its range."""
    if option.choices:
        return Param(option.default, type="string", enum=list(option.choices), description=option.help)
    if option.kind is str:
        return text_param(option.default, option.help)
    bounds = {"minimum": option.minimum, "maximum": option.maximum}
    defined = {name: bound for name, bound in bounds.items() if bound is not None}
    kind = "integer" if option.kind is int else "number"
    return Param(option.default, type=kind, description=option.help, **defined)


def _params(model: ModelDeclaration) -> dict[str, Param]:
    params = {"data_path": text_param("", "Training data (path or URL); empty: the declared file under the data root.")}
    params |= {setting.name: number_param(setting) for setting in model.settings}
    params |= {option.name: option_param(option) for option in model.options}
    params["force"] = Param(False, type="boolean", description="Train even without drift or new data.")
    params["require_approval"] = require_approval_param(model)
    return params


@task.short_circuit(task_id=TRAINING_DECISION, ignore_downstream_trigger_rules=False)
def train_or_skip(params=None, ti=None) -> bool:
    """Training goes on when forced or when check_drift says retrain; otherwise it is skipped, not failed."""
    return bool(params["force"]) or bool(ti.xcom_pull(task_ids=DRIFT_CHECK)["retrain"])


@task.short_circuit(task_id=APPROVAL_DECISION, ignore_downstream_trigger_rules=False)
def approval_required(params=None) -> bool:
    """Without `require_approval` the comparison and the approval are skipped, and deploy_to_production runs after
    register_model alone (its trigger rule: none failed, one succeeded)."""
    return bool(params["require_approval"])


def _step_operator(step: Step, model: ModelDeclaration) -> TrainingStepOperator:
    if step.task_id == DEPLOY:
        return TrainingStepOperator(step=step, model=model.name, trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    return TrainingStepOperator(step=step, model=model.name)


def build_training_dag(model: ModelDeclaration) -> DAG:
    pipeline = pipeline_steps(model)
    with DAG(
        dag_id=model.dag_id,
        description=model.description,
        schedule=training_schedule(model),  # weekly or on new data; no start_date (see assets.cron_from_next_slot)
        user_defined_macros=MACROS,  # published_data_path, for the steps' --data
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params=_params(model),
        tags=["nivesh", "training", model.name, schedule_tag(model)],
        deadline=deadline_alert(model.deadline_minutes),
        doc_md=f"### {model.name}\n{model.description}\n\nImage `{model.image.ref}`, steps: "
        + " → ".join(step.task_id for step in pipeline),
    ) as dag:
        steps = []
        for step in pipeline:
            steps.append(_step_operator(step, model))
            if step.task_id == DRIFT_CHECK:
                steps.append(train_or_skip())
        chain(*steps)
        comparison = TrainingStepOperator(step=comparison_step(model), model=model.name)
        approval = PromotionApproval(model=model)
        dag.get_task("register_model") >> approval_required() >> comparison >> approval >> dag.get_task(DEPLOY)
        step_ids = [step.task_id for step in pipeline]

        @task(trigger_rule=TriggerRule.ALL_DONE)
        def send_notification(params=None, ti=None, dag_run=None) -> Notification:
            """Returns the outcome line too: the master pipeline's summary reads it."""
            results = {task_id: ti.xcom_pull(task_ids=task_id) for task_id in step_ids}
            failures = {task_id: ti.xcom_pull(task_ids=task_id, key=FAILED_STEP_RESULT) for task_id in step_ids}
            outcome = describe_outcome(
                model.name,
                step_ids,
                results,
                failures,
                forced=params["force"],
                approval=ti.xcom_pull(task_ids=APPROVAL, key=ANSWER),
            )
            channels = deliver(f"[nivesh] {model.dag_id}", outcome.line, get_current_context())
            pushgateway = Variable.get(PUSHGATEWAY_AIRFLOW_VARIABLE, default="")
            push_pipeline_outcome(pushgateway, model.name, outcome, dag_run.start_date)
            return {"outcome": outcome.line, "channels": channels}

        # Not downstream of the approval: a Reject skips the approval's direct downstream tasks.
        steps[-1] >> send_notification()
        # One edge, not one per step (the graph stays readable): a failure anywhere reaches the last step as
        # upstream_failed, since every trigger rule on the way passes it on, and ONE_FAILED counts it.
        steps[-1] >> fail_run_if_a_step_failed(model.dag_id, "send_notification")
    return dag


@task(trigger_rule=TriggerRule.ONE_FAILED, retries=0, on_failure_callback=None)
def fail_run_if_a_step_failed(dag_id: str, notification_task: str) -> None:
    """The notification always succeeds; this leaf keeps a failed step visible as a failed run."""
    raise AirflowFailException(f"a step of {dag_id} failed; see {notification_task}")
