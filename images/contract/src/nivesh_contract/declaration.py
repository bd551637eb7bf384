"""How a model is declared: once, with every name, setting, gate and profile the platform derives from it.

The Airflow side builds the model's DAG, params and pods from its declaration; its step image builds
its command-line flags, gates and promotion rule from it; drift detection, the summary, the image
bench, the Makefile and the tests read it too.
"""

import math
from dataclasses import dataclass
from enum import StrEnum

from nivesh_contract.rollout import Rollout

IMAGE_REPOSITORY = "nivesh"
IMAGE_VERSION = "0.1.0"


@dataclass(frozen=True)
class StepImage:
    """A step image: `images/credit_risk/` holds package `nivesh_credit_risk`, whose console script (and the
    image's ENTRYPOINT) is `nivesh-credit-risk`; it builds `nivesh/credit-risk:<version>`."""

    directory: str
    size_target_mb: int  # `make bench-images` (10^6 bytes, as `docker images` counts)

    @property
    def name(self) -> str:
        return self.directory.replace("_", "-")

    @property
    def console_script(self) -> str:
        return f"nivesh-{self.name}"

    @property
    def ref(self) -> str:
        return f"{IMAGE_REPOSITORY}/{self.name}:{IMAGE_VERSION}"


@dataclass(frozen=True, kw_only=True)
class Setting:
    """A number a run may change: the DAG param `name`, and the flag `--name` (dashes) of the step using it."""

    name: str
    default: float
    help: str
    minimum: float | None = 0.0
    maximum: float | None = 1.0

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


class Direction(StrEnum):
    AT_LEAST = ">="
    AT_MOST = "<="


EVALUATE = "evaluate"


@dataclass(frozen=True, kw_only=True)
class Threshold(Setting):
    """A gate's limit on one metric: the gate passes only if the metric is at least (at most) the limit."""

    metric: str
    direction: Direction
    gate: str = EVALUATE

    def passes(self, value: float, limit: float) -> bool:
        if math.isnan(value):
            return False
        return value >= limit if self.direction is Direction.AT_LEAST else value <= limit


def at_least(metric: str, default: float, *, name: str = "", gate: str = EVALUATE, **bounds: float | None) -> Threshold:
    """`min_accuracy` for metric `test_accuracy` unless named."""
    return Threshold(
        name=name or f"min_{metric.removeprefix('test_')}",
        metric=metric,
        direction=Direction.AT_LEAST,
        default=default,
        gate=gate,
        help=f"Lowest {metric} that passes the {gate} gate.",
        **bounds,
    )


def at_most(metric: str, default: float, *, name: str = "", gate: str = EVALUATE, **bounds: float | None) -> Threshold:
    """`max_mape` for metric `test_mape` unless named."""
    return Threshold(
        name=name or f"max_{metric.removeprefix('test_')}",
        metric=metric,
        direction=Direction.AT_MOST,
        default=default,
        gate=gate,
        help=f"Highest {metric} that passes the {gate} gate.",
        **bounds,
    )


@dataclass(frozen=True)
class Gate:
    """A step that judges a trained run: it tags the run `nivesh.gate.<name>`; `promote` requires them all."""

    name: str
    task_id: str
    subcommand: str


EVALUATE_GATE = Gate(EVALUATE, "evaluate_model", "evaluate")


@dataclass(frozen=True)
class DataCheck:
    """A further check of the new data, run after `validate_data` (credit risk: its engineered features)."""

    task_id: str
    subcommand: str


@dataclass(frozen=True)
class Option:
    """A step setting declared once: a DAG param and the flag of each listed subcommand. Its default's type
    is its type: text (the data contract's `target`; `choices` lists the allowed values, if any), a whole
    number or a number (within `minimum` and `maximum`, where given)."""

    name: str
    default: str | int | float
    help: str
    subcommands: tuple[str, ...] = ("validate", "train")
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        if type(self.default) not in (str, int, float):
            raise ValueError(f"option {self.name}: the default must be text, a whole number or a number")
        if self.choices and self.default not in self.choices:
            raise ValueError(f"option {self.name}: default {self.default!r} is not one of {', '.join(self.choices)}")

    @property
    def kind(self) -> type:
        return type(self.default)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Promotion:
    """Champion/challenger: the candidate's `metric` may trail production's by at most `tolerance`."""

    metric: str
    tolerance: float
    higher_is_better: bool = True

    @property
    def tolerance_setting(self) -> Setting:
        return Setting(
            name="tolerance",
            default=self.tolerance,
            maximum=None,
            help=f"How far the candidate's {self.metric} may trail production's and still be promoted.",
        )

    def is_worse(self, candidate: float, champion: float, tolerance: float) -> bool:
        if self.higher_is_better:
            return candidate < champion - tolerance
        return candidate > champion + tolerance


@dataclass(frozen=True)
class DatePart:
    """A column drift compares that is derived from a date column: `hour` or `day_name` of `column`."""

    column: str
    part: str
    name: str


@dataclass(frozen=True)
class TableDrift:
    """Tables: every column but `ignore` and identifiers (text unique in every row), plus `date_parts`."""

    ignore: tuple[str, ...] = ()
    date_parts: tuple[DatePart, ...] = ()


@dataclass(frozen=True)
class TextDrift:
    """Texts: length, token count and out-of-vocabulary share of `text`, and the distribution of `label`.

    With `label_is_spans` the label holds `[start, end, label]` spans (NER): the set of labels per text is compared.
    """

    label: str
    text: str = "text"
    label_is_spans: bool = False


@dataclass(frozen=True)
class Coverage:
    """What new data must cover of what production was trained on, before anything trains on it.

    Every class production was trained on must be in the new data, at least `min_per_class` times, and at
    a share of the rows within a factor `share_ratio` of its share in production's training data. Classes
    are the values of `column` (empty: the label column the training run recorded), or with `spans` the
    labels of `[start, end, label]` spans.
    """

    column: str = ""
    spans: bool = False
    min_per_class: int = 5
    share_ratio: float = 3.0


SNAPSHOT_FORMATS = ("parquet", "jsonl")


@dataclass(frozen=True, kw_only=True)
class DataSource:
    """Where a model's training data is refreshed from: the app's PostgreSQL, through an Airflow connection.

    `query` is the SQL of the model's `<name>.sql` beside its declaration, parameterised by `%(window_start)s` and
    `%(window_end)s` (timestamps, UTC); it must order its rows fully, so that an unchanged extract hashes the same.
    Its rows become an immutable snapshot (`format`: Parquet, or JSONL for nested values Parquet cannot hold as
    they are, such as NER's `[start, end, label]` spans) under the model's data folder; the newest `keep_snapshots`
    are kept, and any a production or previous version was trained on.
    """

    query_file: str
    query: str
    schedule: str  # cron, in UTC: some time before the model's own weekly run
    window_days: int
    connection: str = "postgres_default"
    format: str = "parquet"
    keep_snapshots: int = 8
    chunk_rows: int = 50_000  # rows per fetch and per Parquet row group
    timeout_s: int = 600  # the query's statement timeout

    def __post_init__(self) -> None:
        for name in ("window_days", "keep_snapshots", "chunk_rows", "timeout_s"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"source: {name} must be a whole number >= 1, got {value!r}")
        if self.format not in SNAPSHOT_FORMATS:
            raise ValueError(f"source: format {self.format!r}: expected one of {', '.join(SNAPSHOT_FORMATS)}")
        missing = [name for name in ("window_start", "window_end") if f"%({name})s" not in self.query]
        if missing:
            raise ValueError(f"source: {self.query_file} does not use %({missing[0]})s")


DRIFT_SHARE_HELP = "Share of drifted columns that counts as drift."


def drift_share_setting(default: float) -> Setting:
    return Setting(name="drift_share", default=default, help=DRIFT_SHARE_HELP)


@dataclass(frozen=True, kw_only=True)
class ModelDeclaration:
    """Everything the platform knows about one model."""

    name: str  # registered model name; pod label nivesh.ai/model; MLflow experiment nivesh/<name>
    image: StepImage
    schedule: str  # cron, in UTC
    data_file: str  # the training data, relative to the data root
    description: str
    owner: str  # who answers for it: a team and where to reach them
    inputs: str  # what a caller sends, in a sentence (the logged signature has the details)
    outputs: str  # what it answers
    thresholds: tuple[Threshold, ...]
    promotion: Promotion
    drift: TableDrift | TextDrift
    summary_metrics: tuple[str, ...]  # shown by `make summary` beside the gates
    coverage: Coverage = Coverage()
    quick_sample: tuple[str, ...] = ()  # `sample-data` flags for a small data set: tests and smoke runs
    gates: tuple[Gate, ...] = (EVALUATE_GATE,)  # in the order the pipeline runs them
    options: tuple[Option, ...] = ()
    data_checks: tuple[DataCheck, ...] = ()
    train_on_gpu: bool = False  # the train pod goes to the GPU pool and asks for one GPU
    drift_share: float = 0.5
    dag_id: str = ""  # default: <name>_training
    # A run still going this long after it was queued alerts (Airflow deadline): about twice the seed's duration.
    deadline_minutes: int = 60
    # The cluster's default for the DAG param `require_approval`: a person approves before production.
    approval_on_cluster: bool = False
    source: DataSource | None = None  # refreshed from the app's database by its refresh DAG; None: files only
    rollout: Rollout = Rollout()  # how a promoted version reaches users (direct, or staged: shadow, canary)

    def __post_init__(self) -> None:
        if not self.dag_id:
            object.__setattr__(self, "dag_id", f"{self.name}_training")
        gates = {gate.name for gate in self.gates}
        orphans = [threshold.name for threshold in self.thresholds if threshold.gate not in gates]
        if orphans:
            raise ValueError(f"{self.name}: threshold(s) {', '.join(orphans)} name a gate it does not declare")
        if type(self.deadline_minutes) is not int or self.deadline_minutes < 1:
            raise ValueError(f"{self.name}: deadline_minutes must be a whole number of minutes >= 1")
        if type(self.approval_on_cluster) is not bool:
            raise ValueError(f"{self.name}: approval_on_cluster must be true or false")
        names = [setting.name for setting in self.settings] + [option.name for option in self.options]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.name}: settings and options need distinct names: {', '.join(names)}")

    def thresholds_of(self, gate: str) -> tuple[Threshold, ...]:
        return tuple(threshold for threshold in self.thresholds if threshold.gate == gate)

    def threshold(self, metric: str) -> Threshold:
        return next(threshold for threshold in self.thresholds if threshold.metric == metric)

    def gate(self, name: str) -> Gate:
        return next(gate for gate in self.gates if gate.name == name)

    def option(self, name: str) -> Option:
        return next(option for option in self.options if option.name == name)

    def options_of(self, subcommand: str) -> tuple[Option, ...]:
        return tuple(option for option in self.options if subcommand in option.subcommands)

    @property
    def drift_share_setting(self) -> Setting:
        return drift_share_setting(self.drift_share)

    @property
    def settings(self) -> tuple[Setting, ...]:
        """Every number a run may override: thresholds, promotion tolerance, drift share."""
        return (*self.thresholds, self.promotion.tolerance_setting, self.drift_share_setting)

    @property
    def gate_names(self) -> tuple[str, ...]:
        return tuple(gate.name for gate in self.gates)

    @property
    def rollout_dag_id(self) -> str:
        """`anomaly_detector_rollout`: the hourly DAG that judges its staging version (models with a staged rollout)."""
        return f"{self.name}_rollout"

    @property
    def refresh_dag_id(self) -> str:
        """`anomaly_detector_data_refresh`: the DAG that extracts its snapshots (models with a source)."""
        return f"{self.name}_data_refresh"

    @property
    def data_folder(self) -> str:
        """`anomaly`: the data file's folder under the data root, where its snapshots are kept too."""
        return self.data_file.rpartition("/")[0]

    @property
    def trigger_task_id(self) -> str:
        """The master pipeline's task that runs this model's DAG: `trigger_credit_risk`."""
        return f"trigger_{self.dag_id.removesuffix('_training')}"


@dataclass(frozen=True, kw_only=True)
class MasterPipeline:
    """The weekly pipeline over every model: freshness, each model's DAG, drift over all, one summary."""

    dag_id: str
    schedule: str
    max_data_age_days: float
    drift_share: float = 0.5
    deadline_minutes: int = 480  # the seed's master run takes 3-4 hours

    @property
    def settings(self) -> tuple[Setting, ...]:
        return (
            Setting(
                name="max_data_age_days",
                default=self.max_data_age_days,
                maximum=None,
                help="Training data older than this many days is stale.",
            ),
            drift_share_setting(self.drift_share),
        )
