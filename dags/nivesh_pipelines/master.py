"""The master pipeline: data freshness, every model DAG in parallel, drift over all models, one summary."""

from datetime import timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Param, TriggerRule, get_current_context, task

from nivesh_contract.catalog import MASTER
from nivesh_contract.declaration import ModelDeclaration
from nivesh_contract.deployment import TRIGGERED_RUN_ID
from nivesh_pipelines.assets import MACROS, cron_from_next_slot
from nivesh_pipelines.deadlines import deadline_alert
from nivesh_pipelines.notify import deliver
from nivesh_pipelines.operator import FAILED_STEP_RESULT, TrainingStepOperator
from nivesh_pipelines.outcome import ModelReport, describe_master_run
from nivesh_pipelines.pipeline import DEFAULT_ARGS, fail_run_if_a_step_failed, number_param
from nivesh_pipelines.steps import ALL_MODELS, DRIFT_CHECK, DRIFT_REPORT, FRESHNESS_CHECK


def _params() -> dict[str, Param]:
    force = Param(False, type="boolean", description="Every model DAG trains even without drift or new data.")
    return {"force": force} | {setting.name: number_param(setting) for setting in MASTER.settings}


def _trigger(model: ModelDeclaration) -> TriggerDagRunOperator:
    return TriggerDagRunOperator(
        task_id=model.trigger_task_id,
        trigger_dag_id=model.dag_id,
        conf='{"force": {{ params.force | tojson }}}',
        wait_for_completion=True,
        deferrable=True,  # waiting happens in the triggerer, holding no worker slot
        poke_interval=10,
        fail_when_dag_is_paused=True,  # a paused model DAG would otherwise be waited on forever
        retries=0,  # a retry would trigger the model DAG a second time
        # It waits as long as the whole master run may take, not the 2 hours a step may (the seed: 3-4 hours).
        execution_timeout=timedelta(minutes=MASTER.deadline_minutes),
    )


def build_master_dag(models: tuple[ModelDeclaration, ...]) -> DAG:
    with DAG(
        dag_id=MASTER.dag_id,
        description="Weekly: data freshness, every model's training DAG in parallel, drift detection, summary.",
        schedule=cron_from_next_slot(MASTER.schedule),  # no start_date: the first run is the next Monday
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        user_defined_macros=MACROS,  # newest_snapshot, for each model's current data
        params=_params(),
        tags=["nivesh", "training", "master"],
        deadline=deadline_alert(MASTER.deadline_minutes),
        doc_md="### Master training pipeline\nTriggers: " + ", ".join(model.dag_id for model in models),
    ) as dag:
        freshness = TrainingStepOperator(step=FRESHNESS_CHECK, model=ALL_MODELS)
        triggers = [_trigger(model) for model in models]
        drift = TrainingStepOperator(step=DRIFT_REPORT, model=ALL_MODELS, trigger_rule=TriggerRule.ALL_DONE)

        @task(trigger_rule=TriggerRule.ALL_DONE)
        def send_summary(ti=None, run_id=None) -> dict:
            """One message: per model the outcome its own DAG reported, its key metrics, and the drift its own
            check_drift measured before training."""
            reports = []
            for model in models:
                triggered_run = ti.xcom_pull(task_ids=model.trigger_task_id, key=TRIGGERED_RUN_ID)
                if triggered_run is None:
                    reports.append(ModelReport(model.name, None, None))
                    continue
                in_its_run = {"dag_id": model.dag_id, "run_id": triggered_run}
                notification = ti.xcom_pull(**in_its_run, task_ids="send_notification")
                drift_before = ti.xcom_pull(**in_its_run, task_ids=DRIFT_CHECK)
                reports.append(ModelReport(model.name, triggered_run, notification, drift_before))
            message = describe_master_run(
                run_id,
                reports,
                freshness_failure=ti.xcom_pull(task_ids=FRESHNESS_CHECK.task_id, key=FAILED_STEP_RESULT),
                drift=ti.xcom_pull(task_ids=DRIFT_REPORT.task_id),
            )
            channels = deliver(f"[nivesh] {MASTER.dag_id} summary", message, get_current_context())
            return {"summary": message, "channels": channels}

        freshness >> triggers >> drift >> send_summary()
        [freshness, *triggers, drift] >> fail_run_if_a_step_failed(MASTER.dag_id, "send_summary")
    return dag
