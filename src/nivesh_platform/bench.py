"""`make bench`: DAG parse time, launcher overhead per step, training time and peak memory (all five models).

Prints figures; asserts nothing (targets are in the README's performance section).
"""

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tabulate import tabulate

from nivesh_contract.catalog import model_named
from nivesh_pipelines.pod_spec import pod_name
from nivesh_pipelines.steps import pipeline_steps
from nivesh_platform.embedded import ensure_sample_data, migrate_metadata_db, run_dag
from nivesh_platform.state import DAGS_FOLDER, EmbeddedState

CREDIT_RISK, INTENT, NER, SPENDING = map(
    model_named, ("credit_risk_scorer", "intent_classifier", "financial_ner", "spending_predictor")
)
BIN = Path(sys.executable).parent
# Airflow and the providers' modules the DAGs use: the standard provider's TriggerDagRunOperator alone imports
# Airflow's ORM models (0.25 s), which no DAG file of ours can avoid.
AIRFLOW_IMPORTS = (
    "import airflow.sdk, airflow.providers.cncf.kubernetes.operators.pod, airflow.providers.smtp.notifications.smtp, "
    "airflow.providers.standard.operators.trigger_dagrun"
)
PARSE_PROBE = f"""
import runpy, sys, time
started = time.perf_counter(); {AIRFLOW_IMPORTS}; imported = time.perf_counter()
runpy.run_path(sys.argv[1]); parsed = time.perf_counter()
print(imported - started, parsed - imported)
"""
PEAK_MEMORY_PROBE = """
import resource, subprocess, sys, time
started = time.perf_counter(); completed = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(completed.returncode, time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else "{}")
"""
LAUNCHER_LINE = re.compile(r"launcher local: \S+ exited (\d+) after ([\d.]+)s")
POD_LINE = re.compile(r"launcher local: pod (\S+): ")


def dag_parse_times(environment: dict[str, str], repeats: int = 3) -> list[list]:
    rows = []
    for dag_file in sorted(DAGS_FOLDER.glob("*.py")):
        samples = []
        for _ in range(repeats):
            output = subprocess.run(
                [sys.executable, "-c", PARSE_PROBE, str(dag_file)],
                env=environment,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            samples.append((float(output[0]), float(output[1])))
        airflow_import, parse = min(samples, key=lambda sample: sample[1])
        rows.append([dag_file.name, f"{airflow_import:.2f}", f"{parse:.3f}"])
    return rows


def launcher_overhead(state: EmbeddedState, environment: dict[str, str]) -> list[list]:
    ensure_sample_data(state, CREDIT_RISK, environment)
    migrate_metadata_db(state, environment)
    outcome = run_dag(state, CREDIT_RISK.dag_id, environment)
    if not outcome.succeeded:
        raise SystemExit(f"bench DAG run failed; see {outcome.log_file}")
    process_seconds = _process_seconds_by_task(outcome.log_file.read_text())
    with sqlite3.connect(state.airflow_home / "airflow.db") as db:
        (run_id,) = db.execute(
            "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY start_date DESC LIMIT 1", (CREDIT_RISK.dag_id,)
        ).fetchone()
        tasks = db.execute(
            "SELECT task_id, (julianday(end_date) - julianday(start_date)) * 86400 FROM task_instance "
            "WHERE dag_id = ? AND run_id = ? ORDER BY start_date",
            (CREDIT_RISK.dag_id, run_id),
        ).fetchall()
    rows = []
    for task_id, task_seconds in tasks:
        if task_id in process_seconds:
            step = process_seconds[task_id]
            rows.append([task_id, f"{step:.2f}", f"{task_seconds:.2f}", f"{task_seconds - step:.2f}"])
    return rows


def _process_seconds_by_task(log: str) -> dict[str, float]:
    """Step process time per task, from the launcher's `pod <name>: ...` and `exited ... after Ns` lines."""
    model = CREDIT_RISK.name
    pod_prefixes = {f"{pod_name(model, step.task_id)}-": step.task_id for step in pipeline_steps(CREDIT_RISK)}
    seconds, current = {}, None
    for line in log.splitlines():
        if match := POD_LINE.search(line):
            current = next((task for prefix, task in pod_prefixes.items() if match.group(1).startswith(prefix)), None)
        elif current and (match := LAUNCHER_LINE.search(line)):
            seconds[current], current = float(match.group(2)), None
    return seconds


def _measured(command: list[str], environment: dict[str, str]) -> tuple[float, float, dict]:
    """Wall seconds, peak RSS (GiB) and result JSON of one step process."""
    output = subprocess.run(
        [sys.executable, "-c", PEAK_MEMORY_PROBE, *command], env=environment, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    exit_code, wall, peak_kib = output[0].split()
    result = json.loads(output[1])
    if exit_code != "0":
        raise SystemExit(f"{' '.join(command)} failed: {result}")
    return float(wall), int(peak_kib) / 1024 / 1024, result


def intent_training(state: EmbeddedState, environment: dict[str, str]) -> list[list]:
    """The intent step on its sample data, as `make run` trains it (no hub here: DistilBERT from its config)."""
    data = ensure_sample_data(state, INTENT, environment)
    wall, peak, result = _measured([str(BIN / "nivesh-intent"), "train", "--data", str(data)], environment)
    return [
        [
            f"{result['rows']:,}",
            result["base_model_source"],
            result["epochs_run"],
            result["train_samples_per_second"],
            f"{wall:.1f}",
            f"{peak:.2f}",
        ]
    ]


def sample_data_training(state: EmbeddedState, environment: dict[str, str]) -> list[list]:
    """The NER and spending train steps on their sample data, as `make run` trains them."""
    rows = []
    for model in (NER, SPENDING):
        data = ensure_sample_data(state, model, environment)
        script = str(BIN / model.image.console_script)
        wall, peak, result = _measured([script, "train", "--data", str(data)], environment)
        rows.append([model.name, f"{result['rows']:,}", f"{wall:.1f}", f"{peak:.2f}"])
    return rows


def credit_training(state: EmbeddedState, environment: dict[str, str], sizes: list[int]) -> list[list]:
    rows = []
    for size in sizes:
        data = state.data_dir / f"credit-{size}.parquet"
        if not data.exists():
            subprocess.run(
                [str(BIN / "nivesh-credit-risk"), "sample-data", "--out", str(data), "--rows", str(size)],
                env=environment,
                check=True,
                capture_output=True,
            )
        for tuning in (("--tune-trials", "0"), ()):  # without the search, then with the declared budget
            command = [str(BIN / "nivesh-credit-risk"), "train", "--data", str(data), *tuning]
            wall, peak, result = _measured(command, environment)
            rows.append(
                [
                    f"{size:,}",
                    "off" if tuning else "default budget",
                    f"{float(result['fit_seconds']):.1f}",
                    f"{float(result['elapsed_s']):.1f}",
                    f"{wall:.1f}",
                    f"{peak:.2f}",
                ]
            )
    return rows


def scoring_latency(state: EmbeddedState, repeats: dict[int, int] | None = None) -> list[list]:
    """`mlflow models serve` of the production credit model (launcher_overhead's run left it): median time of a
    POST /invocations with 1 and 1,000 application rows (after one warm-up call each)."""
    import pandas as pd

    from nivesh_platform.services import free_port
    from nivesh_platform.serving import invocations, start_scoring_server

    applications = pd.read_csv(state.data_dir / CREDIT_RISK.data_file).drop(columns=["default"])
    log_file = state.logs_dir / "bench-scoring-server.log"
    url, server = start_scoring_server(state.tracking_uri, CREDIT_RISK.name, free_port(), log_file)
    rows = []
    try:
        for count, times in (repeats or {1: 30, 1000: 10}).items():
            body = {"dataframe_split": applications.head(count).to_dict(orient="split", index=False)}
            invocations(url, body)
            seconds = []
            for _ in range(times):
                started = time.perf_counter()
                invocations(url, body)
                seconds.append(time.perf_counter() - started)
            median = statistics.median(seconds)
            rows.append([CREDIT_RISK.name, count, f"{median * 1000:.1f}", f"{count / median:,.0f}"])
    finally:
        server.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=Path(".nivesh/bench"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    state = EmbeddedState(args.state_dir.resolve())
    state.prepare()
    environment = state.environment(dict(os.environ)) | {"PYTHONPATH": str(DAGS_FOLDER)}

    print("\nDAG parse time (best of 3, fresh interpreter each)")
    print(
        tabulate(
            dag_parse_times(environment),
            headers=["DAG file", "import Airflow + providers (s)", "parse beyond that (s)"],
        )
    )
    print("\nLauncher `local` overhead: credit_risk_training on the 20k-row sample")
    print(
        tabulate(
            launcher_overhead(state, environment),
            headers=["task", "step process (s)", "Airflow task (s)", "overhead (s)"],
        )
    )
    print("\nMLflow scoring server (mlflow models serve, 1 worker): the production credit model, median of repeats")
    print(tabulate(scoring_latency(state), headers=["model", "records", "latency (ms)", "records/s"]))
    print(f"\nIntent training on {os.cpu_count()} CPU cores (a GPU figure needs a GPU machine)")
    print(
        tabulate(
            intent_training(state, environment),
            headers=["examples", "base model", "epochs run", "train samples/s", "step wall (s)", "peak RSS (GiB)"],
        )
    )
    print(f"\nNER and spending training on their sample data, {os.cpu_count()} CPU cores")
    print(
        tabulate(
            sample_data_training(state, environment),
            headers=["model", "rows", "step wall (s)", "peak RSS (GiB)"],
        )
    )
    print(f"\nCredit risk training on {os.cpu_count()} cores")
    print(
        tabulate(
            credit_training(state, environment, args.sizes),
            headers=["rows", "tuning", "final fit (s)", "step (s)", "process wall (s)", "peak RSS (GiB)"],
        )
    )


if __name__ == "__main__":
    main()
