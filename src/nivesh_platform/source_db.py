"""The app's PostgreSQL as the refresh DAGs read it: the schema they expect (source_schema.sql, the contract) and
rows loaded into it from a model's data file (the sample data of `make run`, the tests' and the benchmark's data)."""

import math
from datetime import datetime
from pathlib import Path

import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from nivesh_common.data import read_table

SCHEMA_FILE = Path(__file__).with_name("source_schema.sql")
SCHEMA = "nivesh_training"
# Each model's table in the schema: the one its query (nivesh_contract/models/<model>.sql) selects from.
TABLES = {
    "anomaly_detector": "anomaly_transactions",
    "credit_risk_scorer": "credit_applications",
    "spending_predictor": "spending_daily",
    "intent_classifier": "intent_queries",
    "financial_ner": "ner_annotations",
}


def connect(url: str) -> psycopg.Connection:
    """Autocommit: each `transaction()` block commits (or rolls back) what it did, and nothing else is left open."""
    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def create_schema(connection: psycopg.Connection) -> None:
    connection.execute(SCHEMA_FILE.read_text())


def load_table(
    connection: psycopg.Connection, model_name: str, rows: pd.DataFrame, recorded_at: datetime | None = None
) -> int:
    """Appends `rows` (the model's data columns) to its table; `recorded_at` for every row (default: now)."""
    columns = list(rows.columns) + (["recorded_at"] if recorded_at else [])
    quoted = ", ".join(f'"{name}"' for name in columns)
    command = f"COPY {SCHEMA}.{TABLES[model_name]} ({quoted}) FROM STDIN"
    with connection.transaction(), connection.cursor() as cursor, cursor.copy(command) as copy:
        for values in rows.itertuples(index=False, name=None):
            copy.write_row([*map(_value, values), *([recorded_at] if recorded_at else [])])
    return len(rows)


def _value(value):
    if isinstance(value, list | dict):
        return Jsonb(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def fill_if_empty(connection: psycopg.Connection, model_name: str, path: Path) -> str:
    """The model's table filled from `path` if it has no rows, in one transaction: a file that does not fit the table
    (a missing column, a null where the app has none) loads nothing. A table with rows is the app's data: left as it
    is. A line saying which."""
    table = f"{SCHEMA}.{TABLES[model_name]}"
    (present,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    if present:
        return f"{table} has {present} rows: refreshed from them as they are ({path.name} not loaded)"
    return f"{table}: {load_table(connection, model_name, read_table(str(path)))} rows from {path}"
