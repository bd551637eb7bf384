"""Each staged model's rollout DAG: every hour its own image's `rollout-evaluate` judges the staging version on the
live answers production and staging logged, and promotes it or rolls it back when due. A decision (promoted,
rolled back, waiting for a person's approval) is notified with the comparison; an hour that is not due, or
between rollouts, is quiet. A person approves by triggering the DAG with `approve` ticked."""

from airflow.sdk import DAG, Param, get_current_context, task

from nivesh_contract.declaration import ModelDeclaration
from nivesh_contract.results import RolloutEvaluated
from nivesh_contract.rollout import EVALUATION_SCHEDULE, Decision, comparison
from nivesh_pipelines.assets import cron_from_next_slot
from nivesh_pipelines.notify import deliver
from nivesh_pipelines.operator import TrainingStepOperator
from nivesh_pipelines.pipeline import DEFAULT_ARGS
from nivesh_pipelines.steps import rollout_evaluation_step

QUIET = (Decision.WAITING, Decision.NOTHING_STAGED)


def describe_evaluation(model: ModelDeclaration, judged: RolloutEvaluated) -> str | None:
    """The notification's text for a decision; None for an hour with nothing to say."""
    if judged["decision"] in QUIET:
        return None
    text = f"{model.name} ({model.rollout.strategy}): {comparison(judged)}"
    if judged["decision"] == Decision.AWAITING_APPROVAL:
        text += (
            f"\n\nTo promote it: trigger {model.rollout_dag_id} with `approve` ticked "
            f"(make rollout-evaluate MODEL={model.name} APPROVE=1 on the embedded default)."
        )
    return text


def build_rollout_dag(model: ModelDeclaration) -> DAG:
    with DAG(
        dag_id=model.rollout_dag_id,
        description=f"{model.name}'s staging version judged on live requests: promoted or rolled back when due.",
        # Hourly from the next slot on, never a past one (see assets.cron_from_next_slot).
        schedule=cron_from_next_slot(EVALUATION_SCHEDULE),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params={
            "approve": Param(
                False,
                type="boolean",
                description="A person approves: staging is promoted if it passes on live requests (for a model "
                "that needs approval; the hourly runs never approve).",
            )
        },
        tags=["nivesh", "rollout", model.name, f"{model.rollout.strategy} {model.rollout.share_percent:g}%"],
        doc_md=f"### {model.name}: {model.rollout.strategy} rollout\nEvery hour `rollout-evaluate` (image "
        f"`{model.image.ref}`) compares staging with production on the logged live requests: promoted after "
        f"{model.rollout.evaluate_after_requests} requests or {model.rollout.evaluate_after_days:g} days if "
        "not worse, rolled back as soon as it is due and worse. The comparison goes to the version's "
        "description and the notification.",
    ) as dag:
        evaluation = TrainingStepOperator(
            step=rollout_evaluation_step(model),
            model=model.name,
            retries=0,  # judged or refused; the next hour's run tries again
        )

        @task
        def send_notification(ti=None) -> str | None:
            """The decision, where there is one, to the team's channels; returned for the run's XCom."""
            judged = ti.xcom_pull(task_ids=evaluation.task_id)
            text = describe_evaluation(model, judged)
            if text is not None:
                subject = f"[nivesh] {model.rollout_dag_id}: {judged['decision'].replace('_', ' ')}"
                deliver(subject, text, get_current_context())
            return text

        evaluation >> send_notification()
    return dag
