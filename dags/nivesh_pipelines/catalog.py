"""The one catalog of models: schedules, images, steps and every threshold (overridable per run).

Threshold values are the DAG params' defaults; the step images carry the same values as their flag
defaults, and a test keeps both in step.
"""

from dataclasses import dataclass, field

IMAGE_VERSION = "0.1.0"
IMAGE_REPOSITORY = "nivesh"

RUN_ID = "{{ ti.xcom_pull(task_ids='train_model')['run_id'] }}"
VERSION = "{{ ti.xcom_pull(task_ids='register_model')['version'] }}"
DRIFT_CHECK = "check_drift"
TRAINING_DECISION = "train_or_skip"
ALL_MODELS = "all"  # the `nivesh.ai/model` label of the master pipeline's pods


@dataclass(frozen=True)
class Image:
    name: str
    console_script: str

    @property
    def ref(self) -> str:
        return f"{IMAGE_REPOSITORY}/{self.name}:{IMAGE_VERSION}"


DRIFT_IMAGE = Image("drift", "nivesh-drift")
AIRFLOW_IMAGE = Image("airflow", "airflow")  # the cluster's Airflow, with these DAGs baked in


@dataclass(frozen=True)
class Step:
    """One pipeline task: the image subcommand it runs and the flags it passes."""

    task_id: str
    subcommand: str
    arguments: tuple[str, ...] = ()
    image: Image | None = None  # None: the model's own image
    gpu: bool = False  # placed on the GPU pool, asking for one GPU (see pod_spec.gpu_placement)


@dataclass(frozen=True)
class ModelSpec:
    dag_id: str
    registered_name: str
    image_name: str
    console_script: str
    schedule: str
    data_file: str
    description: str
    steps: tuple[Step, ...]
    # Per-run overridable settings: param name -> default. Each becomes `--param-name {{ params.param_name }}`.
    thresholds: dict[str, float] = field(default_factory=dict)
    # Per-run overridable data-contract options (text), passed the same way.
    options: dict[str, str] = field(default_factory=dict)

    @property
    def image(self) -> Image:
        return Image(self.image_name, self.console_script)

    def image_of(self, step: Step) -> Image:
        return step.image or self.image

    @property
    def trigger_task_id(self) -> str:
        """The master pipeline's task that runs this DAG: `trigger_credit_risk`."""
        return f"trigger_{self.dag_id.removesuffix('_training')}"


def flags(*names: str) -> tuple[str, ...]:
    """`--min-accuracy {{ params.min_accuracy }}` for each param name."""
    return tuple(part for name in names for part in (f"--{name.replace('_', '-')}", f"{{{{ params.{name} }}}}"))


DATA_ROOT = "var.value.get('nivesh_data_root', '/data')"


def _data(data_file: str) -> str:
    """The run's `data_path` param, else the catalog's file under the data root (Variable, default /data)."""
    return "{{ params.data_path or (" + DATA_ROOT + " ~ '/" + data_file + "') }}"


def drift_check(model: str, data: str) -> Step:
    """The drift image's check of new data against the model's production version."""
    return Step(DRIFT_CHECK, "check", ("--model", model, "--current", data, *flags("drift_share")), DRIFT_IMAGE)


_CREDIT_DATA = ("--data", _data("credit_risk/applications.csv"))
_ANOMALY_DATA = ("--data", _data("anomaly/transactions.csv"))
REGISTRY_STEPS = (
    Step("register_model", "register", ("--run-id", RUN_ID)),
    Step("deploy_to_production", "promote", ("--version", VERSION, *flags("tolerance"))),
)
_CREDIT_CONTRACT = flags("target", "positive_label", "protected_attribute")

CREDIT_RISK = ModelSpec(
    dag_id="credit_risk_training",
    registered_name="credit_risk_scorer",
    image_name="credit-risk",
    console_script="nivesh-credit-risk",
    schedule="0 3 * * 6",
    data_file="credit_risk/applications.csv",
    description="Weekly retraining of the XGBoost credit risk scorer, with fairness across age groups.",
    thresholds={
        "min_accuracy": 0.75,
        "min_precision": 0.70,
        "min_recall": 0.65,
        "min_roc_auc": 0.75,
        "min_disparate_impact": 0.8,
        "tolerance": 0.005,
        "drift_share": 0.5,
    },
    options={"target": "default", "positive_label": "1", "protected_attribute": "age"},
    steps=(
        Step("validate_data", "validate", (*_CREDIT_DATA, *_CREDIT_CONTRACT)),
        Step("validate_features", "validate-features", _CREDIT_DATA),
        drift_check("credit_risk_scorer", _CREDIT_DATA[1]),
        Step("train_model", "train", (*_CREDIT_DATA, *_CREDIT_CONTRACT)),
        Step("validate_fairness", "fairness", ("--run-id", RUN_ID, *flags("min_disparate_impact"))),
        Step(
            "evaluate_model",
            "evaluate",
            ("--run-id", RUN_ID, *flags("min_accuracy", "min_precision", "min_recall", "min_roc_auc")),
        ),
        *REGISTRY_STEPS,
    ),
)

ANOMALY = ModelSpec(
    dag_id="anomaly_detector_training",
    registered_name="anomaly_detector",
    image_name="anomaly",
    console_script="nivesh-anomaly",
    schedule="0 3 * * 4",
    data_file="anomaly/transactions.csv",
    description="Weekly retraining of the Isolation Forest transaction anomaly detector.",
    thresholds={"min_precision_at_k": 0.6, "min_recall": 0.6, "tolerance": 0.02, "drift_share": 0.5},
    steps=(
        Step("validate_data", "validate", _ANOMALY_DATA),
        drift_check("anomaly_detector", _ANOMALY_DATA[1]),
        Step("train_model", "train", _ANOMALY_DATA),
        Step("evaluate_model", "evaluate", ("--run-id", RUN_ID, *flags("min_precision_at_k", "min_recall"))),
        *REGISTRY_STEPS,
    ),
)

_INTENT_DATA = ("--data", _data("intent/intents.jsonl"))

INTENT = ModelSpec(
    dag_id="intent_classifier_training",
    registered_name="intent_classifier",
    image_name="intent",
    console_script="nivesh-intent",
    schedule="0 2 * * 0",
    data_file="intent/intents.jsonl",
    description="Weekly fine-tuning of the DistilBERT intent classifier, trained on the GPU pool.",
    thresholds={"min_accuracy": 0.85, "min_macro_f1": 0.80, "tolerance": 0.01, "drift_share": 0.5},
    options={"base_model": "distilbert-base-uncased"},
    steps=(
        Step("validate_data", "validate", _INTENT_DATA),
        drift_check("intent_classifier", _INTENT_DATA[1]),
        Step("train_model", "train", (*_INTENT_DATA, *flags("base_model")), gpu=True),
        Step("evaluate_model", "evaluate", ("--run-id", RUN_ID, *flags("min_accuracy", "min_macro_f1"))),
        *REGISTRY_STEPS,
    ),
)

_SPENDING_DATA = ("--data", _data("spending/transactions.csv"))

SPENDING = ModelSpec(
    dag_id="spending_predictor_training",
    registered_name="spending_predictor",
    image_name="spending",
    console_script="nivesh-spending",
    schedule="0 4 * * 5",
    data_file="spending/transactions.csv",
    description="Weekly retraining of the Prophet daily-spend forecaster (total and per category).",
    thresholds={"max_mape": 0.25, "min_skill": 0.01, "tolerance": 0.01, "drift_share": 0.5},
    steps=(
        Step("validate_data", "validate", _SPENDING_DATA),
        drift_check("spending_predictor", _SPENDING_DATA[1]),
        Step("train_model", "train", _SPENDING_DATA),
        Step("evaluate_model", "evaluate", ("--run-id", RUN_ID, *flags("max_mape", "min_skill"))),
        *REGISTRY_STEPS,
    ),
)

_NER_DATA = ("--data", _data("ner/annotated.jsonl"))

NER = ModelSpec(
    dag_id="financial_ner_training",
    registered_name="financial_ner",
    image_name="ner",
    console_script="nivesh-ner",
    schedule="0 2 * * 3",
    data_file="ner/annotated.jsonl",
    description="Weekly retraining of the spaCy financial entity recognizer (amounts, merchants, dates, ...).",
    thresholds={"min_entity_f1": 0.80, "tolerance": 0.01, "drift_share": 0.5},
    steps=(
        Step("validate_data", "validate", _NER_DATA),
        drift_check("financial_ner", _NER_DATA[1]),
        Step("train_model", "train", _NER_DATA),
        Step("evaluate_model", "evaluate", ("--run-id", RUN_ID, *flags("min_entity_f1"))),
        *REGISTRY_STEPS,
    ),
)

MODELS = (CREDIT_RISK, ANOMALY, INTENT, SPENDING, NER)
# Every image a pipeline step runs: each model's own, and drift's.
STEP_IMAGES = (*(spec.image for spec in MODELS), DRIFT_IMAGE)


MASTER_DAG_ID = "master_training_pipeline"
MASTER_SCHEDULE = "0 1 * * 1"
MASTER_THRESHOLDS = {"max_data_age_days": 30.0, "drift_share": 0.5}


def _each_model_data(option: str) -> tuple[str, ...]:
    """`--data credit_risk_scorer=/data/credit_risk/applications.csv ...`: every model's catalog data file."""
    path = "{{ " + DATA_ROOT + " }}/"
    return tuple(part for spec in MODELS for part in (option, f"{spec.registered_name}={path}{spec.data_file}"))


FRESHNESS_CHECK = Step(
    "check_data_freshness", "freshness", (*_each_model_data("--data"), *flags("max_data_age_days")), DRIFT_IMAGE
)
DRIFT_REPORT = Step(
    "run_drift_detection", "report", (*_each_model_data("--models"), *flags("drift_share")), DRIFT_IMAGE
)
