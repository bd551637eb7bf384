"""The app's database (the `postgres` fixture: Debian's PostgreSQL, tests/conftest.py) with the contract's schema."""

from dataclasses import replace

import psycopg
import pytest

from nivesh_contract.catalog import model_named
from nivesh_platform.source_db import SCHEMA, connect, create_schema


@pytest.fixture
def source(postgres) -> psycopg.Connection:
    """A connection to the app's database with the contract's schema, empty."""
    with connect(postgres.url) as connection:
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
