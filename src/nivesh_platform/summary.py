"""The registry as a table: per model, the newest version, its key metrics and gates, and who holds production."""

from mlflow import MlflowClient
from tabulate import tabulate

from nivesh_common.gates import GATE_TAG_PREFIX
from nivesh_common.registry import PRODUCTION, version_by_alias

SHOWN_METRICS = (
    "test_accuracy",
    "test_precision",
    "test_recall",
    "test_roc_auc",
    "disparate_impact_ratio",
    "test_precision_at_k",
    "test_macro_f1",
    "test_entity_f1",
    "test_mape",
    "skill_vs_seasonal_naive",
)


def registry_rows(client: MlflowClient, model_names: list[str]) -> list[dict]:
    rows = []
    for name in model_names:
        versions = client.search_model_versions(f"name='{name}'")
        production = version_by_alias(client, name, PRODUCTION) if versions else None
        if not versions:
            rows.append({"model": name, "version": None, "metrics": {}, "gates": {}, "production": None})
            continue
        newest = max(versions, key=lambda version: int(version.version))
        run = client.get_run(newest.run_id)
        rows.append(
            {
                "model": name,
                "version": int(newest.version),
                "metrics": {key: value for key, value in run.data.metrics.items() if key in SHOWN_METRICS},
                "gates": {
                    key.removeprefix(GATE_TAG_PREFIX): value
                    for key, value in run.data.tags.items()
                    if key.startswith(GATE_TAG_PREFIX)
                },
                "production": int(production.version) if production else None,
            }
        )
    return rows


def format_rows(rows: list[dict]) -> str:
    table = [
        [
            row["model"],
            f"v{row['version']}" if row["version"] else "none",
            ", ".join(f"{key.removeprefix('test_')}={value:.3f}" for key, value in sorted(row["metrics"].items())),
            ", ".join(f"{gate} {state}" for gate, state in sorted(row["gates"].items())) or "-",
            f"v{row['production']}" if row["production"] else "none",
        ]
        for row in rows
    ]
    return tabulate(table, headers=["model", "newest version", "key metrics", "gates", "production"])
