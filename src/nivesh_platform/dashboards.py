"""The Grafana dashboards as code (grafana-foundation-sdk), over what steps and pipelines push to the Pushgateway
(nivesh_common.step_metrics, nivesh_pipelines.pipeline_metrics).

`make dashboards-json` writes them to charts/monitoring/dashboards/, which the cluster's Grafana is provisioned
from; a test regenerates them and compares. Each panel's description says what it answers and what to do when it
turns red.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, Threshold, ThresholdsMode

from nivesh_platform.state import DAGS_FOLDER

DASHBOARDS_DIR = DAGS_FOLDER.parent / "charts" / "monitoring" / "dashboards"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
WEEK_S = 7 * 86400
PANEL_KINDS = {"stat": stat.Panel, "table": table.Panel, "timeseries": timeseries.Panel}


@dataclass(frozen=True)
class PanelSpec:
    kind: str  # stat (the last value, red past red_at), table (the last values' labels), timeseries (over runs)
    title: str
    query: str
    description: str
    legend: str = "{{model}}"
    unit: str = ""
    red_at: float | None = None


PLATFORM = (
    PanelSpec(
        "table",
        "Last run of each model pipeline",
        "max by (model, outcome, step) (nivesh_pipeline_outcome)",
        "What each model's last run decided (promoted, kept, skipped, rejected, gate_failed, failed) and the step "
        "that decided it. A failed run: open that task's log in Airflow (the DAG <model>_training).",
    ),
    PanelSpec(
        "stat",
        "Failed runs in a row",
        "nivesh_pipeline_failed_runs_in_a_row",
        "Runs that failed at a step (not a gate refusing a model) since the last one that did not. Red at 2: two "
        "runs in a row failed, so it is not a passing hiccup; read the failed step's log, fix the data or the "
        "service, and trigger the DAG again.",
        red_at=2,
    ),
    PanelSpec(
        "stat",
        "Time since a new version reached production",
        "time() - nivesh_last_promotion_timestamp_seconds",
        "Red after 4 weeks: retraining runs but no candidate wins. Read the last runs' outcomes above and the "
        "model-quality board; if the data stopped changing, the runs are skipped, which is fine.",
        unit="s",
        red_at=4 * WEEK_S,
    ),
    PanelSpec(
        "stat",
        "Steps whose last run did not pass",
        'sum by (step) (nivesh_step_status{status!="ok"})',
        "Per step, how many models' last run of it ended in bad input, a refused gate or an error. Red: open the "
        "step's task log in Airflow; bad input names the file, column and row.",
        legend="{{step}}",
        red_at=1,
    ),
    PanelSpec(
        "timeseries",
        "Pipeline duration",
        "nivesh_pipeline_duration_seconds",
        "Wall time of each model's runs, start to notification: a run waiting for approval includes the wait.",
        unit="s",
    ),
    PanelSpec(
        "timeseries",
        "Training duration",
        'nivesh_step_duration_seconds{step="train"}',
        "Seconds of each train step. Over twice its median, an alert fires: compare rows trained and the run's "
        "system metrics in MLflow before raising the task's timeout.",
        unit="s",
    ),
)

MODEL_QUALITY = (
    PanelSpec(
        "timeseries",
        "Candidate scores at evaluation",
        "nivesh_evaluation_metric",
        "Each trained candidate's test scores, run after run: a slide means the data changed or the model no "
        "longer fits it; the gates refuse candidates below their thresholds.",
        legend="{{model}} {{metric}}",
    ),
    PanelSpec(
        "stat",
        "Production version",
        "nivesh_production_version",
        "The version serving each model (0: none since a failed smoke test removed it). It moves on promotion and "
        "rollback; a rollback leaves the time since the last promotion as it was.",
    ),
    PanelSpec(
        "stat",
        "Rollout stage: staging version",
        "nivesh_staging_version",
        "Where a model's rollout is staged (shadow or canary): the version beside production, judged hourly on "
        "live requests by the DAG <model>_rollout, which promotes it or rolls it back; 0: none in progress. One "
        "that stays for weeks gets too few requests: read that DAG's last runs.",
    ),
    PanelSpec(
        "timeseries",
        "Drift share before training",
        "nivesh_drift_share",
        "Share of columns of the new data that drifted from what production was trained on, measured before "
        "training (none for a model without production).",
    ),
    PanelSpec(
        "stat",
        "Drift detected at the last check",
        "nivesh_drift_detected",
        "Red: the share passed the model's declared threshold and the pipeline retrains. If the new model is "
        "kept or refused, open the check's drift report in MLflow (experiment nivesh/drift).",
        red_at=1,
    ),
    PanelSpec(
        "timeseries",
        "Rows trained",
        'nivesh_data_rows{step="train"}',
        "Rows each train step read: a drop means a short weekly extract, a jump a duplicated one.",
    ),
)

BOARDS = {
    "nivesh-platform": ("Nivesh training platform", PLATFORM),
    "nivesh-model-quality": ("Nivesh model quality", MODEL_QUALITY),
}


def _panel(spec: PanelSpec):
    query = prometheus.Dataquery().ref_id("A").expr(spec.query).legend_format(spec.legend).datasource(DATASOURCE)
    if spec.kind != "timeseries":
        query = query.instant()
    panel = PANEL_KINDS[spec.kind]().title(spec.title).description(spec.description).datasource(DATASOURCE)
    panel = panel.with_target(query).height(8).span(12)
    if spec.unit:
        panel = panel.unit(spec.unit)
    if spec.red_at is not None:
        steps = [Threshold(value=None, color="green"), Threshold(value=spec.red_at, color="red")]
        panel = panel.thresholds(dashboard.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps))
    return panel


def board(uid: str) -> dict:
    title, panels = BOARDS[uid]
    built = (
        dashboard.Dashboard(title)
        .uid(uid)
        .tags(["nivesh"])
        .time("now-90d", "now")
        .refresh("5m")
        .with_variable(dashboard.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
    )
    for spec in panels:
        built = built.with_panel(_panel(spec))
    return json.loads(JSONEncoder(sort_keys=True, indent=2).encode(built.build()))


def write_dashboards(directory: Path = DASHBOARDS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for uid in BOARDS:
        path = directory / f"{uid}.json"
        path.write_text(json.dumps(board(uid), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
