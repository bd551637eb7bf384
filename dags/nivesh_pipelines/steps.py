"""Each pipeline's steps, derived from the declarations: the image subcommand each task runs, with its flags.

Flags a run may change are templates over the DAG's params; run ids and versions come from the
upstream steps' XCom results.
"""

from dataclasses import dataclass

from nivesh_contract.catalog import DRIFT_IMAGE, MASTER, MODELS
from nivesh_contract.declaration import ModelDeclaration, Option, Setting, StepImage
from nivesh_contract.deployment import PREDICTIONS_DIR_AIRFLOW_VARIABLE, PREDICTIONS_MOUNT

RUN_ID = "{{ ti.xcom_pull(task_ids='train_model')['run_id'] }}"
VERSION = "{{ ti.xcom_pull(task_ids='register_model')['version'] }}"
PRODUCTION_VERSION = "{{ ti.xcom_pull(task_ids='deploy_to_production')['production_version'] }}"
DEPLOY = "deploy_to_production"
DRIFT_CHECK = "check_drift"
TRAINING_DECISION = "train_or_skip"
# The refresh DAG's tasks (refresh.py): named here, where `make run` reads them without importing Airflow.
EXTRACT, VALIDATE, PUBLISH, QUARANTINE = (
    "extract_snapshot",
    "validate_snapshot",
    "publish_snapshot",
    "quarantine_snapshot",
)
ALL_MODELS = "all"  # the `nivesh.ai/model` label of the master pipeline's pods
DATA_ROOT = "var.value.get('nivesh_data_root', '/data')"
PREDICTIONS_DIR = f"{{{{ var.value.get('{PREDICTIONS_DIR_AIRFLOW_VARIABLE}', '{PREDICTIONS_MOUNT}') }}}}"


@dataclass(frozen=True)
class Step:
    """One pipeline task: the image and subcommand it runs and the flags it passes."""

    task_id: str
    subcommand: str
    image: StepImage
    arguments: tuple[str, ...] = ()
    gpu: bool = False  # placed on the GPU pool, asking for one GPU (see pod_spec.gpu_placement)
    trains: bool = False  # a training pod: its resources, and a slot of the training pool
    reads_predictions: bool = False  # mounts the serving pods' prediction logs (a rollout's evaluation)


def flags(*settings: Setting | Option) -> tuple[str, ...]:
    """`--min-accuracy {{ params.min_accuracy }}` for each declared setting or option."""
    return tuple(part for each in settings for part in (each.flag, _param_value(each)))


def _param_value(each: Setting | Option) -> str:
    """A free-text option's param arrives as null when emptied in the UI's trigger form: empty text then."""
    if isinstance(each, Option) and each.kind is str and not each.choices:
        return f"{{{{ params.{each.name} or '' }}}}"
    return f"{{{{ params.{each.name} }}}}"


def data_path(model: ModelDeclaration) -> str:
    """The run's `data_path` param, else the path named by the newest event of the model's data asset that started
    the run (assets.published_data_path, a DAG macro), else the model's current data. Every step still checks the
    path against the data root."""
    from nivesh_contract.names import data_asset_name

    published = f"published_data_path(triggering_asset_events, '{data_asset_name(model.name)}')"
    return "{{ params.data_path or " + published + " or " + _current_data(model) + " }}"


def _current_data(model: ModelDeclaration) -> str:
    """The newest announced snapshot of its refresh DAG (assets.newest_snapshot, a DAG macro), else the declared
    file under the data root (Variable, default /data)."""
    declared = "'" + model.data_file + "'"
    return f"newest_snapshot({DATA_ROOT}, {declared}) or ({DATA_ROOT} ~ '/' ~ {declared})"


def pipeline_steps(model: ModelDeclaration) -> tuple[Step, ...]:
    """The seed's steps: validate, the model's own data checks, drift, train, its gates, register, promote."""
    data = ("--data", data_path(model))
    own = model.image
    drift_flags = flags(model.drift_share_setting, *model.options_of("check"))
    return (
        Step("validate_data", "validate", own, (*data, *flags(*model.options_of("validate")))),
        *(Step(check.task_id, check.subcommand, own, data) for check in model.data_checks),
        Step(DRIFT_CHECK, "check", DRIFT_IMAGE, ("--model", model.name, "--current", data[1], *drift_flags)),
        Step(
            "train_model",
            "train",
            own,
            (*data, *flags(*model.options_of("train"))),
            gpu=model.train_on_gpu,
            trains=True,
        ),
        *(
            Step(gate.task_id, gate.subcommand, own, ("--run-id", RUN_ID, *flags(*model.thresholds_of(gate.name))))
            for gate in model.gates
        ),
        Step("register_model", "register", own, ("--run-id", RUN_ID)),
        Step(DEPLOY, "promote", own, ("--version", VERSION, *flags(model.promotion.tolerance_setting))),
        # A fresh process of the model's own image loads production as a consumer would; rolls back on failure.
        Step("smoke_test_production", "smoke-test", own, ("--version", PRODUCTION_VERSION)),
    )


def comparison_step(model: ModelDeclaration) -> Step:
    """Champion/challenger judged, nothing moved: what a person approving the candidate reads."""
    tolerance = flags(model.promotion.tolerance_setting)
    return Step("compare_with_production", "promote", model.image, ("--version", VERSION, *tolerance, "--dry-run"))


def rollout_evaluation_step(model: ModelDeclaration) -> Step:
    """Its staging version judged on the answers production and staging logged; `approve`: a person's yes."""
    approve = "{{ '--approve' if params.approve else '--no-approve' }}"
    arguments = ("--log-dir", PREDICTIONS_DIR, approve)
    return Step("evaluate_rollout", "rollout-evaluate", model.image, arguments, reads_predictions=True)


def _each_model_data(option: str) -> tuple[str, ...]:
    """`--data credit_risk_scorer=/data/credit_risk/applications.csv ...`: every model's current data (its newest
    snapshot, whose manifest says when it was extracted, else its declared file)."""
    return tuple(part for model in MODELS for part in (option, f"{model.name}={{{{ {_current_data(model)} }}}}"))


MAX_DATA_AGE, MASTER_DRIFT_SHARE = MASTER.settings
FRESHNESS_CHECK = Step(
    "check_data_freshness", "freshness", DRIFT_IMAGE, (*_each_model_data("--data"), *flags(MAX_DATA_AGE))
)
DRIFT_REPORT = Step(
    "run_drift_detection", "report", DRIFT_IMAGE, (*_each_model_data("--models"), *flags(MASTER_DRIFT_SHARE))
)
