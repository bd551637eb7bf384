"""The master pipeline: data freshness, every model DAG in parallel, drift over all models, one summary."""

import pendulum
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Param, TriggerRule, get_current_context, task

from nivesh_pipelines.catalog import (
    ALL_MODELS,
    DRIFT_IMAGE,
    DRIFT_REPORT,
    FRESHNESS_CHECK,
    MASTER_DAG_ID,
    MASTER_SCHEDULE,
    MASTER_THRESHOLDS,
    ModelSpec,
)
from nivesh_pipelines.notify import deliver
from nivesh_pipelines.operator import FAILED_STEP_RESULT, TrainingStepOperator
from nivesh_pipelines.outcome import ModelReport, describe_master_run
from nivesh_pipelines.pipeline import DEFAULT_ARGS, fail_run_if_a_step_failed

TRIGGERED_RUN_ID = "trigger_run_id"  # the XCom key TriggerDagRunOperator keeps the triggered run's id under


def _params() -> dict[str, Param]:
    return {
        "force": Param(False, type="boolean", description="Every model DAG trains even without drift or new data."),
        "max_data_age_days": Param(
            MASTER_THRESHOLDS["max_data_age_days"], type="number", minimum=0, description="Freshness limit in days."
        ),
        "drift_share": Param(
            MASTER_THRESHOLDS["drift_share"], type="number", minimum=0, maximum=1, description="Drifted-column share."
        ),
    }


def _trigger(spec: ModelSpec) -> TriggerDagRunOperator:
    return TriggerDagRunOperator(
        task_id=spec.trigger_task_id,
        trigger_dag_id=spec.dag_id,
        conf='{"force": {{ params.force | tojson }}}',
        wait_for_completion=True,
        deferrable=True,  # waiting happens in the triggerer, holding no worker slot
        poke_interval=10,
        fail_when_dag_is_paused=True,  # a paused model DAG would otherwise be waited on forever
        retries=0,  # a retry would trigger the model DAG a second time
    )


def build_master_dag(models: tuple[ModelSpec, ...]) -> DAG:
    with DAG(
        dag_id=MASTER_DAG_ID,
        description="Weekly: data freshness, every model's training DAG in parallel, drift detection, summary.",
        schedule=MASTER_SCHEDULE,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params=_params(),
        tags=["nivesh", "training", "master"],
        doc_md="### Master training pipeline\nTriggers: " + ", ".join(spec.dag_id for spec in models),
    ) as dag:
        freshness = TrainingStepOperator(image=DRIFT_IMAGE, step=FRESHNESS_CHECK, model=ALL_MODELS)
        triggers = [_trigger(spec) for spec in models]
        drift = TrainingStepOperator(
            image=DRIFT_IMAGE, step=DRIFT_REPORT, model=ALL_MODELS, trigger_rule=TriggerRule.ALL_DONE
        )

        @task(trigger_rule=TriggerRule.ALL_DONE)
        def send_summary(ti=None, run_id=None) -> dict:
            """One message: per model the outcome its own DAG reported, its key metrics and drift share."""
            reports = []
            for spec in models:
                triggered_run = ti.xcom_pull(task_ids=spec.trigger_task_id, key=TRIGGERED_RUN_ID)
                notification = (
                    ti.xcom_pull(dag_id=spec.dag_id, run_id=triggered_run, task_ids="send_notification")
                    if triggered_run
                    else None
                )
                reports.append(ModelReport(spec.registered_name, triggered_run, notification))
            message = describe_master_run(
                run_id,
                reports,
                freshness_failure=ti.xcom_pull(task_ids=FRESHNESS_CHECK.task_id, key=FAILED_STEP_RESULT),
                drift=ti.xcom_pull(task_ids=DRIFT_REPORT.task_id),
            )
            channels = deliver(f"[nivesh] {MASTER_DAG_ID} summary", message, get_current_context())
            return {"summary": message, "channels": channels}

        freshness >> triggers >> drift >> send_summary()
        [freshness, *triggers, drift] >> fail_run_if_a_step_failed(MASTER_DAG_ID, "send_summary")
    return dag
