"""`make bench-refresh`: a refresh extract of 1,000,000 transaction rows from a real PostgreSQL (Debian's, started
under a temporary directory) to a Parquet snapshot, through the Postgres provider's hook as the refresh DAG opens it.

Prints the seconds and the extracting process's peak memory (README target: under 60 s and 1 GiB on the 2-core
build machine); asserts nothing.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tabulate import tabulate

from nivesh_platform.local_postgres import start_local_postgres
from nivesh_platform.source_db import SCHEMA, TABLES, connect, create_schema

# Rows made by the server itself (generate_series): loading a million rows through the client would be the slow part.
GENERATE = f"""
INSERT INTO {SCHEMA}.{TABLES["anomaly_detector"]}
SELECT 'T' || lpad(i::text, 12, '0'), 'U' || lpad((i %% 5000)::text, 5, '0'),
       timestamp '2026-01-01' + make_interval(secs => i * 7), round((random() * 5000)::numeric, 2)::float8,
       (ARRAY['Zomato', 'Swiggy', 'Amazon', 'Flipkart', 'BigBasket'])[1 + i %% 5],
       (ARRAY['food', 'shopping', 'groceries', 'travel'])[1 + i %% 4],
       (i %% 100 = 0)::int, CASE WHEN i %% 100 = 0 THEN 'amount_spike' END, now() - interval '1 day'
FROM generate_series(1, %(rows)s) AS i
"""
# The extract in its own process, so that its peak memory is its own: the refresh task's code, the hook's connection.
EXTRACT_PROBE = """
import resource, sys, time
from datetime import UTC, datetime
from pathlib import Path
from airflow.providers.postgres.hooks.postgres import PostgresHook
from nivesh_contract.catalog import model_named
from nivesh_pipelines import snapshots
model = model_named("anomaly_detector")
started = time.perf_counter()
window = snapshots.Window.ending(datetime.now(UTC), model.source.window_days)
connect = PostgresHook(postgres_conn_id="postgres_default").get_conn
manifest = snapshots.extract_snapshot(connect, model, window, Path(sys.argv[1]))
seconds = time.perf_counter() - started
print(manifest["rows"], seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def measure(rows: int, workdir: Path) -> list:
    server = start_local_postgres(workdir / "postgres")
    try:
        with connect(server.url) as connection:
            create_schema(connection)
            connection.execute(GENERATE, {"rows": rows})
            connection.execute("ANALYZE")
        environment = {"AIRFLOW_CONN_POSTGRES_DEFAULT": server.url, "PATH": str(Path(sys.executable).parent)}
        completed = subprocess.run(
            [sys.executable, "-c", EXTRACT_PROBE, str(workdir / "data")],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        extracted, seconds, peak_kb = completed.stdout.split()
        snapshot_bytes = sum(path.stat().st_size for path in (workdir / "data").rglob("*.parquet"))
        return [
            int(extracted),
            round(float(seconds), 1),
            round(int(extracted) / float(seconds)),
            round(int(peak_kb) / 1024),
            round(snapshot_bytes / 1e6, 1),
        ]
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    arguments = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="nivesh-refresh-bench-"))
    workdir.chmod(0o755)  # the server runs as `postgres` where this runs as root (local_postgres)
    try:
        row = measure(arguments.rows, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    headers = ["rows", "seconds", "rows/s", "peak memory (MiB)", "snapshot (MB)"]
    print(tabulate([row], headers=headers))


if __name__ == "__main__":
    main()
