"""The registry as a table: per model, the newest version, its key metrics and gates, who holds production, and its
rollout's stage."""

from mlflow import MlflowClient
from tabulate import tabulate

from nivesh_common.registry import version_by_alias
from nivesh_contract.declaration import ModelDeclaration
from nivesh_contract.names import GATE_TAG_PREFIX, PRODUCTION, STAGING
from nivesh_contract.rollout import Strategy


def registry_rows(client: MlflowClient, models: tuple[ModelDeclaration, ...]) -> list[dict]:
    """Per model, its newest version with the metrics its declaration shows, its gates and production."""
    rows = []
    for model in models:
        name = model.name
        versions = client.search_model_versions(f"name='{name}'")
        production = version_by_alias(client, name, PRODUCTION) if versions else None
        if not versions:
            rows.append(
                {"model": name, "version": None, "metrics": {}, "gates": {}, "production": None, "rollout": "direct"}
            )
            continue
        newest = max(versions, key=lambda version: int(version.version))
        run = client.get_run(newest.run_id)
        rows.append(
            {
                "model": name,
                "version": int(newest.version),
                "metrics": {key: value for key, value in run.data.metrics.items() if key in model.summary_metrics},
                "gates": {
                    key.removeprefix(GATE_TAG_PREFIX): value
                    for key, value in run.data.tags.items()
                    if key.startswith(GATE_TAG_PREFIX)
                },
                "production": int(production.version) if production else None,
                "rollout": rollout_stage(client, model),
            }
        )
    return rows


def rollout_stage(client: MlflowClient, model: ModelDeclaration) -> str:
    """`direct`, or a staged rollout and what it holds: `canary 10%: staging v4`, `shadow: nothing staged`."""
    rollout = model.rollout
    if not rollout.staged:
        return "direct"
    how = f"canary {rollout.share_percent:g}%" if rollout.strategy is Strategy.CANARY else "shadow"
    staging = version_by_alias(client, model.name, STAGING)
    return f"{how}: staging v{staging.version}" if staging else f"{how}: nothing staged"


def format_rows(rows: list[dict]) -> str:
    table = [
        [
            row["model"],
            f"v{row['version']}" if row["version"] else "none",
            ", ".join(f"{key.removeprefix('test_')}={value:.3f}" for key, value in sorted(row["metrics"].items())),
            ", ".join(f"{gate} {state}" for gate, state in sorted(row["gates"].items())) or "-",
            f"v{row['production']}" if row["production"] else "none",
            row["rollout"],
        ]
        for row in rows
    ]
    return tabulate(table, headers=["model", "newest version", "key metrics", "gates", "production", "rollout"])
