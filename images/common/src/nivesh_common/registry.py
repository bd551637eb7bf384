"""Model registry moves with MLflow 3 aliases: candidate, production, previous.

Every move is safe to repeat, and a model that had a `production` version always keeps one:
`production` is only ever re-pointed, never deleted.
"""

import logging
from datetime import UTC, datetime

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from nivesh_common.coverage import coverage_problems, describe, trained_class_counts
from nivesh_common.errors import BadInputError, GateFailedError
from nivesh_common.gates import gates_not_passed
from nivesh_common.lineage import airflow_run_url
from nivesh_common.registry_lock import registry_lock
from nivesh_common.tracking import get_run, model_uri_of, require_run_of
from nivesh_contract.declaration import ModelDeclaration
from nivesh_contract.names import (
    AIRFLOW_TAG_PREFIX,
    CANDIDATE,
    DATA_ROWS_TAG,
    DATA_SHA256_TAG,
    DATA_SOURCE_TAG,
    GATE_TAG_PREFIX,
    PREVIOUS,
    PRODUCTION,
    REPRODUCE_TAG,
    ROLLED_BACK_TAG,
    SOURCE_REVISION_TAG,
    TRAINED_DATE_TAG,
)
from nivesh_contract.results import Registered, RolledBack

log = logging.getLogger(__name__)


def version_by_alias(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def require_gates(client: MlflowClient, run_id: str, required: tuple[str, ...]) -> None:
    missing = gates_not_passed(get_run(client, run_id).data.tags, required)
    if missing:
        raise GateFailedError(
            f"run {run_id} has not passed gate(s) {', '.join(missing)}; nothing registered or moved",
            {"gates_not_passed": missing},
        )


def require_coverage_of_production(client: MlflowClient, model: ModelDeclaration, run: Run) -> None:
    """The DAG's check_drift, held against the run's own class counts: steps run by hand skip it, and a model
    trained on 2 of production's intents passes its own gates, so `candidate` would name a model nobody should
    stage. Runs trained before class counts were logged are not checked."""
    production = version_by_alias(client, model.name, PRODUCTION)
    if production is None or production.run_id == run.info.run_id:
        return
    trained_on, counted = trained_class_counts(production.run_id), trained_class_counts(run.info.run_id)
    if trained_on is None or counted is None:
        return
    problems = coverage_problems(counted["counts"], trained_on["counts"], model.coverage)
    if problems:
        raise GateFailedError(
            f"run {run.info.run_id} was trained on data whose column {trained_on['column']} does not cover what "
            f"production v{production.version} was trained on: {describe(problems)}; nothing registered or moved",
            {
                "coverage": {"column": trained_on["column"], "problems": problems},
                "production_version": int(production.version),
            },
        )


def version_tags(run: Run) -> dict[str, str]:
    """What a registry page should say of a version at a glance: its data, when it was trained, and the Airflow run
    that trained it (its DAG and run id; none for a run made by hand)."""
    tags = run.data.tags
    airflow_run = {
        key: tags[key] for key in (f"{AIRFLOW_TAG_PREFIX}dag_id", f"{AIRFLOW_TAG_PREFIX}run_id") if key in tags
    }
    return {
        DATA_SHA256_TAG: tags.get(DATA_SHA256_TAG, ""),
        DATA_ROWS_TAG: tags.get(DATA_ROWS_TAG, ""),
        DATA_SOURCE_TAG: tags.get(DATA_SOURCE_TAG, ""),
        TRAINED_DATE_TAG: _trained_at(run).date().isoformat(),
        **airflow_run,
    }


def _trained_at(run: Run) -> datetime:
    return datetime.fromtimestamp(run.info.start_time / 1000, UTC)


def describe_version(run: Run, model: ModelDeclaration, production: ModelVersion | None) -> str:
    """The version's description: data, rows, key metrics, gates, the production version it would replace, and a
    markdown link to the Airflow run that trained it where the deployment says where Airflow is."""
    tags, metrics = run.data.tags, run.data.metrics
    shown = ", ".join(f"{key} {metrics[key]:.4g}" for key in model.summary_metrics if key in metrics)
    gates = ", ".join(
        f"{key.removeprefix(GATE_TAG_PREFIX)} {value}"
        for key, value in sorted(tags.items())
        if key.startswith(GATE_TAG_PREFIX)
    )
    replaces = f"would replace production v{production.version}" if production else "first candidate for production"
    url = airflow_run_url(tags.get(f"{AIRFLOW_TAG_PREFIX}dag_id", ""), tags.get(f"{AIRFLOW_TAG_PREFIX}run_id", ""))
    reproduce = (
        f" Reproduce: the same data (sha256 {tags.get(DATA_SHA256_TAG, '?')[:12]}), code "
        f"({tags.get(SOURCE_REVISION_TAG, 'unknown revision')}) and {tags[REPRODUCE_TAG]}."
        if REPRODUCE_TAG in tags
        else ""
    )
    return (
        f"{model.name} trained {_trained_at(run):%Y-%m-%d %H:%M} UTC by run "
        f"{run.info.run_id} on {tags.get(DATA_SOURCE_TAG, 'unknown data')} ({tags.get(DATA_ROWS_TAG, '?')} rows). "
        f"Metrics: {shown or 'none logged'}. Gates: {gates or 'none recorded'}. {replaces.capitalize()}."
        + reproduce
        + (f" [Airflow run]({url})" if url else "")
    )


def describe_model(model: ModelDeclaration) -> str:
    """The registered model's description, from its declaration: what it does, what it takes and answers, who owns
    it, when it retrains and what stands between a new version and production."""
    approval = " A person approves each new production version on the cluster." if model.approval_on_cluster else ""
    return (
        f"{model.description}\n\n"
        f"- **Inputs:** {model.inputs}\n"
        f"- **Outputs:** {model.outputs}\n"
        f"- **Owner:** {model.owner}\n"
        f"- **Schedule:** `{model.schedule}` (cron, UTC), DAG `{model.dag_id}`, on `{model.data_file}` under the "
        "data root\n"
        f"- **Promotion:** gates {', '.join(model.gate_names)}; then not worse than production on "
        f"{model.promotion.metric} beyond {model.promotion.tolerance}, on both test splits.{approval}\n"
        f"- **Aliases:** `candidate` waits for promotion, `production` serves, `previous` is the rollback target."
    )


def register_candidate(client: MlflowClient, model: ModelDeclaration, run_id: str) -> Registered:
    """Register the run's model (once) and point `candidate` at it, unless it already holds `production`."""
    name = model.name
    run = get_run(client, run_id)
    require_run_of(run, name, "nothing registered")
    require_coverage_of_production(client, model, run)  # first: whatever its gates say, it is no candidate
    require_gates(client, run_id, model.gate_names)
    existing = client.search_model_versions(f"name='{name}' and run_id='{run_id}'")
    if existing:
        version = existing[0]
        log.info("run %s is already %s version %s; not registering again", run_id, name, version.version)
    else:
        version = mlflow.register_model(model_uri_of(run), name, tags=version_tags(run))
        production = version_by_alias(client, name, PRODUCTION)
        client.update_model_version(name, version.version, description=describe_version(run, model, production))
        log.info("registered %s version %s from run %s", name, version.version, run_id)
    client.update_registered_model(name, description=describe_model(model))  # the declaration may have changed
    production = version_by_alias(client, name, PRODUCTION)
    if production is not None and production.version == version.version:
        alias = PRODUCTION  # already promoted: nothing is waiting
    else:
        alias = CANDIDATE
        client.set_registered_model_alias(name, CANDIDATE, version.version)
    return {
        "model": name,
        "version": int(version.version),
        "run_id": run_id,
        "alias": alias,
        "newly_registered": not existing,
    }


def get_version(client: MlflowClient, name: str, version: int, flag: str = "--version") -> ModelVersion:
    try:
        return client.get_model_version(name, str(version))
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise BadInputError(f"{flag} {version}: {name} has no such version") from None
        raise


def rollback_production(
    client: MlflowClient, name: str, to_version: int | None = None, required_gates: tuple[str, ...] = ()
) -> RolledBack:
    """Point `production` back at `previous`, or at `to_version` if it passed `required_gates`; the rolled-back
    version is tagged and `previous` cleared (it named the version before the one now rolled back)."""
    with registry_lock(client, name):
        production = version_by_alias(client, name, PRODUCTION)
        target = _rollback_target(client, name, production, to_version, required_gates)
        client.set_registered_model_alias(name, PRODUCTION, target.version)
        client.set_model_version_tag(name, production.version, ROLLED_BACK_TAG, "true")
        if version_by_alias(client, name, PREVIOUS) is not None:
            client.delete_registered_model_alias(name, PREVIOUS)
        log.info("rolled %s production back from v%s to v%s", name, production.version, target.version)
        return {
            "model": name,
            "production_version": int(target.version),
            "rolled_back_version": int(production.version),
        }


def _rollback_target(
    client: MlflowClient,
    name: str,
    production: ModelVersion | None,
    to_version: int | None,
    required_gates: tuple[str, ...],
) -> ModelVersion:
    if production is None:
        raise BadInputError(f"{name}: there is no production version to roll back")
    if to_version is None:
        previous = version_by_alias(client, name, PREVIOUS)
        if previous is None:
            raise BadInputError(
                f"{name}: no 'previous' version to roll back to; production stays v{production.version} "
                "(choose one with --to VERSION)"
            )
        return previous
    target = get_version(client, name, to_version, flag="--to")
    if target.version == production.version:
        raise BadInputError(f"--to {to_version}: v{to_version} is already {name}'s production version")
    require_gates(client, target.run_id, required_gates)
    return target
