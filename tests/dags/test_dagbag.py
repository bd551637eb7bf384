"""The DAG files: import cleanly, Airflow 3 API only, the seed's default args and steps, light to parse."""

import importlib
import importlib.metadata
import itertools
import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
import typer
from airflow.sdk import Asset, AssetOrTimeSchedule, DeadlineReference
from airflow.sdk.exceptions import ParamValidationError
from airflow.serialization.serialized_objects import DagSerialization

import dag_files
from nivesh_contract.catalog import MASTER, MODELS, ROLLBACK_DAG_ID, model_named
from nivesh_pipelines.approval import require_approval_param
from nivesh_pipelines.operator import TrainingStepOperator
from nivesh_pipelines.steps import DRIFT_REPORT, FRESHNESS_CHECK, pipeline_steps
from nivesh_platform.state import DAGS_FOLDER

AIRFLOW_2_ONLY = re.compile(
    r"airflow\.operators\.|airflow\.models\.(dag|baseoperator)|from airflow import DAG|schedule_interval"
    r"|airflow\.utils\.(dates|trigger_rule)|provide_context|email_on_failure"
)


@pytest.fixture(scope="module")
def dagbag():
    return dag_files.dagbag()


def test_no_import_errors_and_every_model_has_its_dag(dagbag):
    assert dagbag.import_errors == {}
    refreshes = {model.refresh_dag_id for model in MODELS if model.source}
    rollouts = {model.rollout_dag_id for model in MODELS if model.rollout.staged}
    expected = {model.dag_id for model in MODELS} | refreshes | rollouts | {MASTER.dag_id, ROLLBACK_DAG_ID}
    assert set(dagbag.dag_ids) == expected


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.dag_id)
def test_schedule_tags_and_default_args(dagbag, model):
    dag = dagbag.dags[model.dag_id]
    # the declared weekly cron (UTC) or an event of the model's training-data asset, whichever comes first
    assert isinstance(dag.timetable, AssetOrTimeSchedule)
    assert (dag.timetable.timetable.expression, str(dag.timetable.timetable.timezone)) == (model.schedule, "UTC")
    data = Asset(name=f"{model.name}_training_data", uri=f"x-nivesh://training-data/{model.name}")
    assert dag.timetable.asset_condition == data
    assert {"nivesh", "training", model.name} <= set(dag.tags)
    assert not dag.catchup
    for task in dag.tasks:
        assert task.owner == "ml-team"
        assert task.execution_timeout == timedelta(hours=2)
        if task.task_id != "fail_run_if_a_step_failed":
            assert task.retries >= 2 and task.retry_delay == timedelta(minutes=5)
            assert task.on_failure_callback, f"{task.task_id} has no failure alert"


def test_the_dag_list_shows_the_weekly_time_beside_the_asset(dagbag):
    """Airflow's DAG list shows an asset-or-time schedule as the asset alone: the weekly time is a tag."""
    assert "At 03:00, only on Saturday (UTC) or on new data" in dagbag.dags["credit_risk_training"].tags
    for model in MODELS:
        (tag,) = [tag for tag in dagbag.dags[model.dag_id].tags if tag.endswith("(UTC) or on new data")]
        assert tag.startswith("At ") and len(tag) <= 100, tag  # Airflow's limit for a tag


def test_credit_risk_steps_follow_the_seed(dagbag):
    dag = dagbag.dags["credit_risk_training"]
    order = [
        "validate_data",
        "validate_features",
        "check_drift",
        "train_or_skip",
        "train_model",
        "validate_fairness",
        "evaluate_model",
        "register_model",
        "deploy_to_production",
        "smoke_test_production",
        "send_notification",
    ]
    for upstream, downstream in itertools.pairwise(order):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    assert dag.get_task("send_notification").trigger_rule == "all_done"


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.dag_id)
def test_the_graph_reads_left_to_right(dagbag, model):
    """Each task waits for the one before it (deploy also for register: the approval may be skipped); the leaf that
    fails the run hangs off the last step alone, which a failure anywhere reaches as upstream_failed."""
    dag = dagbag.dags[model.dag_id]
    assert {task.task_id for task in dag.tasks if len(task.upstream_task_ids) > 1} == {"deploy_to_production"}
    assert dag.get_task("fail_run_if_a_step_failed").upstream_task_ids == {"smoke_test_production"}
    passing_failure_on = {"all_success", "none_failed_min_one_success"}
    chain = [task for task in dag.tasks if task.task_id not in ("send_notification", "fail_run_if_a_step_failed")]
    assert {task.trigger_rule for task in chain} <= passing_failure_on


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.dag_id)
def test_an_optional_approval_stands_between_register_and_deploy(dagbag, model):
    """Without approval, the comparison and the approval task are skipped and deploy runs after register alone."""
    dag = dagbag.dags[model.dag_id]
    approval_path = ["register_model", "approval_required", "compare_with_production", "approve_promotion"]
    for upstream, downstream in itertools.pairwise([*approval_path, "deploy_to_production"]):
        assert dag.get_task(upstream).downstream_task_ids >= {downstream}
    deploy = dag.get_task("deploy_to_production")
    assert deploy.upstream_task_ids == {"register_model", "approve_promotion"}
    assert deploy.trigger_rule == "none_failed_min_one_success"
    assert dag.get_task("compare_with_production").arguments[-1] == "--dry-run"
    approval = dag.get_task("approve_promotion")
    assert approval.options == ["Approve", "Reject"] and approval.defaults == ["Reject"]
    assert approval.response_timeout == timedelta(days=3)
    # off on a laptop; on the cluster (NIVESH_APPROVALS=true) on for the declared regulated models only
    assert dag.params["require_approval"] is False
    assert model_named("credit_risk_scorer").approval_on_cluster
    assert not any(other.approval_on_cluster for other in MODELS if other.name != "credit_risk_scorer")


def test_the_cluster_asks_for_approval_of_credit_risk_only(monkeypatch):
    monkeypatch.setenv("NIVESH_APPROVALS", "true")
    defaults = {model.name: require_approval_param(model).value for model in MODELS}
    assert defaults == {model.name: model.name == "credit_risk_scorer" for model in MODELS}


def test_anomaly_steps(dagbag):
    dag = dagbag.dags["anomaly_detector_training"]
    assert [task.task_id for task in dag.topological_sort()][:7] == [
        "validate_data",
        "check_drift",
        "train_or_skip",
        "train_model",
        "evaluate_model",
        "register_model",
        "approval_required",
    ]


def test_every_pipeline_step_is_a_training_step_pod(dagbag):
    for model in MODELS:
        dag = dagbag.dags[model.dag_id]
        for step in pipeline_steps(model):
            assert isinstance(dag.get_task(step.task_id), TrainingStepOperator)
        assert dag.get_task("check_drift").image == "nivesh/drift:0.1.0"


def test_sources_use_airflow_3_api_only():
    for source in DAGS_FOLDER.rglob("*.py"):
        assert not AIRFLOW_2_ONLY.search(source.read_text()), f"{source} uses an Airflow 2 API"


@pytest.mark.parametrize("dag_file", sorted(DAGS_FOLDER.glob("*.py")), ids=lambda path: path.name)
def test_dag_files_import_nothing_heavy(dag_file):
    probe = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "heavy = {'pandas', 'mlflow', 'torch', 'xgboost', 'sklearn', 'spacy', 'prophet'} & set(sys.modules); "
        "sys.exit(','.join(sorted(heavy)) or None)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe, str(dag_file)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(DAGS_FOLDER), "AIRFLOW_HOME": os.environ["AIRFLOW_HOME"]},
    )
    assert completed.returncode == 0, completed.stderr[-2000:]


def _command(console_script: str, subcommand: str):
    """The Click command behind `console_script subcommand`, from the installed entry point."""
    (entry_point,) = importlib.metadata.entry_points(group="console_scripts", name=console_script)
    app = importlib.import_module(entry_point.module).app
    return typer.main.get_command(app).commands[subcommand]


def _passed_settings(step) -> dict[str, str]:
    """`--min-accuracy {{ params.min_accuracy }}` pairs of a step: flag -> the param it passes."""
    pairs = zip(step.arguments, step.arguments[1:], strict=False)
    template = r"\{\{ params\.(\w+)(?: or '')? \}\}"
    return {flag: match[1] for flag, value in pairs if (match := re.fullmatch(template, value))}


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.dag_id)
def test_each_step_passes_flags_its_command_has_with_the_params_defaults(dagbag, model):
    """Every flag the pod passes is an option of the image's command, defaulting to the DAG param's default:
    a step run by hand applies what a scheduled run applies."""
    params = dagbag.dags[model.dag_id].params
    passed = set()
    for step in pipeline_steps(model):
        options = {
            option: param
            for param in _command(step.image.console_script, step.subcommand).params
            for option in param.opts
        }
        for flag, param_name in _passed_settings(step).items():
            assert flag in options, f"{step.image.console_script} {step.subcommand} has no {flag}"
            default = options[flag].default
            if default is None:  # resolved when the step runs: `nivesh-drift check` takes the model's declared share
                default = next(setting.default for setting in model.settings if setting.name == param_name)
            assert default == params[param_name], f"{step.subcommand} {flag}"
            passed.add(param_name)
    declared = {setting.name for setting in model.settings} | {option.name for option in model.options}
    assert passed == declared, "every declared setting and option reaches a step"


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.dag_id)
def test_params_have_the_declared_ranges(dagbag, model):
    params = dagbag.dags[model.dag_id].params
    for setting in model.settings:
        schema = params.get_param(setting.name).schema
        assert (schema.get("minimum"), schema.get("maximum")) == (setting.minimum, setting.maximum), setting.name


def test_typed_options_are_params_of_their_type_with_their_choices_and_range(dagbag):
    params = dagbag.dags["credit_risk_training"].params
    assert params.get_param("tune_trials").schema == {"type": "integer", "minimum": 0, "maximum": 10000}
    assert params.get_param("cost_ratio").schema["type"] == "number"
    assert params.get_param("calibration").schema["enum"] == ["sigmoid", "isotonic", "none"]
    for name, wrong in (("tune_trials", -1), ("tune_trials", 2.5), ("calibration", "platt")):
        with pytest.raises(ParamValidationError):
            params.get_param(name).resolve(wrong)


def test_master_steps_pass_flags_their_commands_have_with_the_params_defaults(dagbag):
    params = dagbag.dags[MASTER.dag_id].params
    for step in (FRESHNESS_CHECK, DRIFT_REPORT):
        options = {option: param for param in _command("nivesh-drift", step.subcommand).params for option in param.opts}
        for flag, param_name in _passed_settings(step).items():
            assert options[flag].default == params[param_name], f"{step.subcommand} {flag}"


@pytest.mark.parametrize("dag_id", [model.dag_id for model in MODELS] + [MASTER.dag_id])
def test_the_trigger_form_accepts_every_default(dagbag, dag_id):
    """Airflow's trigger form treats a param whose type has no "null" as required and refuses it empty: every
    param must validate with its default, and an empty default must allow null (what the form sends)."""
    params = dagbag.dags[dag_id].params
    params.validate()
    for name in params:
        param = params.get_param(name)
        types = param.schema.get("type")
        if param.value in ("", None):
            assert isinstance(types, list) and "null" in types, f"{dag_id}: {name} would be required, empty"
            param.resolve(None)  # what the form sends for an emptied field


@pytest.mark.parametrize("dag_id", [model.dag_id for model in MODELS] + [MASTER.dag_id])
def test_every_pipeline_alerts_on_its_deadline_through_the_notifiers(dagbag, dag_id):
    limits = {model.dag_id: model.deadline_minutes for model in MODELS} | {MASTER.dag_id: MASTER.deadline_minutes}
    (alert,) = dagbag.dags[dag_id].deadline
    assert alert.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert alert.interval == timedelta(minutes=limits[dag_id])
    assert alert.callback.path == "nivesh_pipelines.deadlines.alert_missed_deadline"
    assert alert.callback.kwargs == {"limit_minutes": limits[dag_id]}
    assert DagSerialization.to_dict(dagbag.dags[dag_id])  # the dag processor stores it so


def test_the_seed_durations_set_the_deadlines_and_the_master_triggers_wait_as_long(dagbag):
    assert model_named("intent_classifier").deadline_minutes == 90  # the seed: 30-45 minutes
    assert model_named("credit_risk_scorer").deadline_minutes == 240  # the seed: 1-2 hours
    master = dagbag.dags[MASTER.dag_id]
    for model in MODELS:  # the seed's master run takes 3-4 hours: not the steps' 2-hour timeout
        assert master.get_task(model.trigger_task_id).execution_timeout == timedelta(hours=8)


def test_the_rollback_dag_runs_the_chosen_models_own_image_and_asks_which_model(dagbag):
    dag = dagbag.dags[ROLLBACK_DAG_ID]
    assert dag.schedule is None
    with pytest.raises(ParamValidationError):
        dag.params.validate()  # no model chosen: the trigger form asks for one
    assert dag.params.get_param("model").schema["enum"] == [model.name for model in MODELS]
    for model in MODELS:
        step = dag.get_task(f"rollback_{model.name}")
        assert step.image == model.image.ref and step.arguments == ["rollback", "--to", "{{ params.version or '' }}"]
        assert step.retries == 0 and step.task_id in dag.get_task("choose_model").downstream_task_ids
        options = {option for param in _command(model.image.console_script, "rollback").params for option in param.opts}
        assert "--to" in options


def test_the_rollout_dags_step_passes_options_its_command_has(dagbag):
    for model in (model for model in MODELS if model.rollout.staged):
        step = dagbag.dags[model.rollout_dag_id].get_task("evaluate_rollout")
        command = _command(model.image.console_script, "rollout-evaluate")
        flags = {flag for param in command.params for flag in (*param.opts, *param.secondary_opts)}
        assert {"--log-dir", "--approve", "--no-approve"} <= flags
        assert step.arguments[:2] == ["rollout-evaluate", "--log-dir"]
