"""Debian's PostgreSQL, started by the tests under a temporary directory on a free loopback port: the app's database
(`.ci/run` installs it and sets NIVESH_REQUIRE_POSTGRES=1; elsewhere these tests skip, saying how to install it)."""

import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from nivesh_contract.catalog import model_named
from nivesh_platform.local_postgres import LocalPostgres, PostgresMissing, start_local_postgres
from nivesh_platform.source_db import SCHEMA, create_schema


@pytest.fixture(scope="session")
def postgres() -> LocalPostgres:
    try:
        # Not under pytest's temporary root: it is private to this user, and the server runs as `postgres` here.
        server = start_local_postgres(Path(tempfile.mkdtemp(prefix="nivesh-postgres-")))
    except PostgresMissing as missing:
        if os.environ.get("NIVESH_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"NIVESH_REQUIRE_POSTGRES=1 but {missing}")
        pytest.skip(str(missing))
    yield server
    server.stop()
    shutil.rmtree(server.directory, ignore_errors=True)


@pytest.fixture
def source(postgres) -> psycopg.Connection:
    """A connection to the app's database with the contract's schema, empty."""
    with psycopg.connect(postgres.url) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        create_schema(connection)
        yield connection


@pytest.fixture
def hook_connection(postgres, monkeypatch):
    """`connect()`: a connection as the refresh DAG opens one, through the Postgres provider's hook and an Airflow
    connection given in the environment (as AIRFLOW_CONN_POSTGRES_DEFAULT)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    monkeypatch.setenv("AIRFLOW_CONN_POSTGRES_DEFAULT", postgres.url)
    return lambda: PostgresHook(postgres_conn_id="postgres_default").get_conn()


def with_query(model_name: str, query: str, **source):
    """The model's declaration with another query (and other source settings)."""
    model = model_named(model_name)
    return replace(model, source=replace(model.source, query=query, **source))
