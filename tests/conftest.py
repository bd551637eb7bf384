import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from nivesh_contract.catalog import model_named
from nivesh_platform.local_postgres import LocalPostgres, PostgresMissing, start_local_postgres
from steps import run_step, step_environment
from trained_registry import TrainedRegistry

# Airflow reads its settings at import: point it at a throwaway home before any test imports it, and each
# pytest-xdist worker at its own (they would share one SQLite metadata database otherwise).
AIRFLOW_HOME = os.environ.setdefault("AIRFLOW_HOME", "/tmp/nivesh-tests-airflow")
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["AIRFLOW_HOME"] = f"{AIRFLOW_HOME}-{worker}"
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# Not Airflow's unit test mode (AIRFLOW__CORE__UNIT_TEST_MODE): every Airflow the tests start (make run, make ui,
# airflow dags test) inherits this environment, and that mode swaps the configuration users run for Airflow's test
# one and keeps the scheduler from ever sleeping (a third of the Airflow pass's CPU went to its loop).


@pytest.fixture(autouse=True)
def _mlflow_uris_put_back():
    """mlflow.set_tracking_uri and set_registry_uri also set MLFLOW_TRACKING_URI and MLFLOW_REGISTRY_URI in
    os.environ (and set_registry_uri(None) leaves the latter), so every later subprocess of the worker would use
    that test's store: both are put back after each test."""
    saved = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def postgres() -> LocalPostgres:
    """Debian's PostgreSQL under a temporary directory on a free loopback port: the app's database (`.ci/run` installs
    it and sets NIVESH_REQUIRE_POSTGRES=1; elsewhere the tests that need it skip, saying how to install it)."""
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
def busy_machine():
    """Two processes that keep a core each busy for the test's duration: the laptop is doing something else."""
    spinning = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    yield
    for process in spinning:
        process.kill()
        process.wait()


@pytest.fixture
def step_env(tmp_path):
    return step_environment(tmp_path)


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory, worker_id) -> Path:
    """A folder all the session's xdist workers see (their temp folders' parent): for what is made once a session,
    not once a worker; each maker holds a file lock while it makes."""
    base = tmp_path_factory.getbasetemp()
    shared = (base if worker_id == "master" else base.parent) / "shared"
    shared.mkdir(exist_ok=True)
    return shared


def made_once(target: Path, make: Callable[[Path], None]) -> Path:
    """`target`, made by `make(into)` by the first worker that asks, then renamed: the others wait, then read it."""
    with FileLock(f"{target}.lock"):
        if not target.exists():
            making = target.with_name(f"{target.name}.making")
            shutil.rmtree(making, ignore_errors=True)
            making.mkdir(parents=True)
            make(making)
            making.rename(target)
    return target


@pytest.fixture(scope="session")
def sample_data(shared_dir) -> Callable[[str], Path]:
    """`sample_data(model name)`: that model's sample data at its declared quick size, made once per session."""

    def make_into(model):
        def make(folder: Path) -> None:
            out = folder / Path(model.data_file).name
            env = step_environment(folder)
            run = run_step(model.image.console_script, "sample-data", "--out", out, *model.quick_sample, env=env)
            assert run.exit_code == 0, run.stderr

        return make

    def of(name: str) -> Path:
        model = model_named(name)
        folder = made_once(shared_dir / f"sample-{model.image.directory}", make_into(model))
        return folder / Path(model.data_file).name

    return of


def _sample_data_of(model: str, fixture: str):
    """A session fixture named `fixture`: `model`'s sample data (see sample_data)."""
    return pytest.fixture(lambda sample_data: sample_data(model), scope="session", name=fixture)


credit_data = _sample_data_of("credit_risk_scorer", "credit_data")
transactions_data = _sample_data_of("anomaly_detector", "transactions_data")
intents_data = _sample_data_of("intent_classifier", "intents_data")
annotated_data = _sample_data_of("financial_ner", "annotated_data")
spending_data = _sample_data_of("spending_predictor", "spending_data")


@pytest.fixture(scope="session")
def trained_registry(shared_dir, sample_data, request) -> TrainedRegistry:
    """Each model trained once per session and in production (see trained_registry.py); intent from the tiny
    DistilBERT."""

    def base_model(name: str) -> tuple[str, ...]:
        return ("--base-model", str(request.getfixturevalue("tiny_distilbert"))) if name == "intent_classifier" else ()

    root = shared_dir / "trained-registry"
    root.mkdir(exist_ok=True)
    return TrainedRegistry(root, sample_data, base_model)


@pytest.fixture(scope="session")
def tiny_distilbert(shared_dir, intents_data):
    """A one-layer DistilBERT and WordPiece tokenizer built from a config: what a hub id would give, offline."""

    def make(directory: Path) -> None:
        import pandas as pd
        import torch
        from transformers import DistilBertConfig, DistilBertForSequenceClassification

        from nivesh_intent.base_model import small_distilbert

        texts = pd.read_json(intents_data, lines=True)["text"].tolist()
        tokenizer = small_distilbert(texts, {"num_labels": 2}).tokenizer
        torch.manual_seed(0)  # the same initial weights whichever tests ran before in this process
        config = DistilBertConfig(
            vocab_size=len(tokenizer), dim=64, hidden_dim=128, n_layers=1, n_heads=2, max_position_embeddings=64
        )
        DistilBertForSequenceClassification(config).save_pretrained(directory)
        tokenizer.save_pretrained(directory)

    return made_once(shared_dir / "tiny-distilbert", make)
