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


def create_schema(connection: psycopg.Connection) -> None:
    connection.execute(SCHEMA_FILE.read_text())
    connection.commit()


def load_table(
    connection: psycopg.Connection, model_name: str, rows: pd.DataFrame, recorded_at: datetime | None = None
) -> int:
    """Appends `rows` (the model's data columns) to its table; `recorded_at` for every row (default: now)."""
    columns = list(rows.columns) + (["recorded_at"] if recorded_at else [])
    quoted = ", ".join(f'"{name}"' for name in columns)
    command = f"COPY {SCHEMA}.{TABLES[model_name]} ({quoted}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(command) as copy:
        for values in rows.itertuples(index=False, name=None):
            copy.write_row([*map(_value, values), *([recorded_at] if recorded_at else [])])
    connection.commit()
    return len(rows)


def _value(value):
    if isinstance(value, list | dict):
        return Jsonb(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def load_sample_data(url: str, data_files: dict[str, Path]) -> list[str]:
    """The schema, emptied, then each model's file in its table; a line per table loaded."""
    with psycopg.connect(url, connect_timeout=10) as connection:
        create_schema(connection)
        connection.execute(f"TRUNCATE {', '.join(f'{SCHEMA}.{table}' for table in TABLES.values())}")
        return [
            f"{SCHEMA}.{TABLES[name]}: {load_table(connection, name, read_table(str(path)))} rows from {path.name}"
            for name, path in data_files.items()
        ]
