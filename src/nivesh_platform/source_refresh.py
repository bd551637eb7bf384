"""`make run` and `make ui` with the app's database: NIVESH_SOURCE_DB, a PostgreSQL URL.

`make run` loads each model's data file of the state dir into its table (source_schema.sql) where that table is still
empty, then runs each model's refresh DAG before the master pipeline, which then trains on the snapshots they
announced. Without the variable, or where the database does not answer, the models train on their files, as they
always did: said once. `make ui` turns the refresh DAGs on (their weekly schedules) where the variable is set.
"""

import logging
import os

from nivesh_common.logs import redacted
from nivesh_contract.catalog import MODELS
from nivesh_contract.declaration import ModelDeclaration
from nivesh_pipelines.steps import PUBLISH
from nivesh_platform.progress import Interrupted, mark_unfinished_failed
from nivesh_platform.services import AirflowApi
from nivesh_platform.state import SOURCE_DB_VARIABLE, EmbeddedState

log = logging.getLogger(__name__)

REFRESH_TIMEOUT_S = 900


def load_state_data(state: EmbeddedState) -> list[ModelDeclaration]:
    """The models to refresh from the database NIVESH_SOURCE_DB names, their data files loaded into the tables still
    empty; [] without it, or where it does not answer."""
    import psycopg

    from nivesh_common.errors import BadInputError
    from nivesh_platform.source_db import SCHEMA_FILE, TABLES, connect, create_schema, fill_if_empty

    url = os.environ.get(SOURCE_DB_VARIABLE, "")
    if not url:
        log.info("%s is not set: the models train on their files under %s", SOURCE_DB_VARIABLE, state.data_dir)
        return []
    loaded = []
    try:
        with connect(url) as connection:
            create_schema(connection)
            for model in (model for model in MODELS if model.source):
                if model.name not in TABLES:
                    log.warning("%s: no table of its own in %s: it trains on its file", model.name, SCHEMA_FILE.name)
                    continue
                try:
                    log.info(
                        "%s: %s", model.name, fill_if_empty(connection, model.name, state.data_dir / model.data_file)
                    )
                    loaded.append(model)
                except (psycopg.DataError, psycopg.IntegrityError, psycopg.ProgrammingError, BadInputError) as error:
                    log.warning(
                        "%s: its data does not fit its table (%s): it trains on its file",
                        model.name,
                        _first_line(error),
                    )
    except psycopg.OperationalError as error:
        log.warning(
            "%s=%s does not answer (%s): the models train on their files",
            SOURCE_DB_VARIABLE,
            redacted(url),
            _first_line(error),
        )
        return []
    return loaded


def _first_line(error: Exception) -> str:
    return redacted((str(error).strip().splitlines() or [type(error).__name__])[0])


def refresh(api: AirflowApi, models: list[ModelDeclaration]) -> None:
    """Each model's refresh DAG, all at once, waited for; one line each. A refused snapshot fails its run and is
    quarantined: that model trains on its newest earlier snapshot, or its file. Ctrl-C marks the runs still going
    failed (Interrupted), as it does the master's."""
    runs = {model: api.trigger(model.refresh_dag_id) for model in models}
    try:
        for model, run_id in runs.items():
            _say_outcome(api, model, run_id, api.wait_for_run(model.refresh_dag_id, run_id, REFRESH_TIMEOUT_S))
    except KeyboardInterrupt:
        pairs = [(model.refresh_dag_id, run_id) for model, run_id in runs.items()]
        raise Interrupted(mark_unfinished_failed(api, pairs)) from None


def _say_outcome(api: AirflowApi, model: ModelDeclaration, run_id: str, state: str) -> None:
    if api.task_states(model.refresh_dag_id, run_id).get(PUBLISH) == "success":
        published = api.xcom(model.refresh_dag_id, run_id, PUBLISH)
        log.info("%s: announced %s (%s rows)", model.refresh_dag_id, published["path"], published["rows"])
    elif state == "success":
        log.info("%s: unchanged since its newest snapshot, nothing announced", model.refresh_dag_id)
    else:
        log.warning("%s: %s, nothing announced (its notification says why)", model.refresh_dag_id, state)


def refresh_dag_ids() -> list[str]:
    """The refresh DAGs to turn on: every declared source's, where NIVESH_SOURCE_DB names the database."""
    return [model.refresh_dag_id for model in MODELS if model.source] if os.environ.get(SOURCE_DB_VARIABLE) else []
