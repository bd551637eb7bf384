"""One MLflow store for the whole test session in which each model, trained once on its test data, holds production.

A model is put there the first time a test asks for it, by its real console script: `train` with the quick
settings the tests use (credit without tuning: tuning is tested where it is the subject), its gates, `register`
and `promote`. What each command returned is kept for tests to read. A test that changes the store works on a copy
of its database (`copy`): the artifacts stay where the session's runs wrote them, and a copy's new runs write
theirs beside them, each under its own run id.

The store is in a folder every xdist worker of the session sees: whichever worker asks for a model first trains
it, the others wait for it (a file lock, one training at a time: SQLite takes one writer) and read what its
commands returned from a file beside the store.
"""

import dataclasses
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock
from mlflow import MlflowClient

from nivesh_contract.catalog import model_named
from steps import StepRun, environment_of, run_step, step_environment
from tiny_intent import RELAXED_GATES, TINY_TRAINING

# per model: train flags, then each gate command with its flags
RECIPES: dict[str, tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]] = {
    # ~1,500 rows leave ~30 applicants in the youngest age group: its selection rate is noisy
    "credit_risk_scorer": ((), (("fairness", "--min-disparate-impact", "0.5"), ("evaluate",))),
    "anomaly_detector": ((), (("evaluate",),)),
    "financial_ner": (("--epochs", "6", "--patience", "2"), (("evaluate",),)),
    "spending_predictor": ((), (("evaluate",),)),
    "intent_classifier": (TINY_TRAINING, (("evaluate", *RELAXED_GATES),)),
}


@dataclass(frozen=True)
class Promoted:
    """What the commands that put a model in production returned."""

    trained: StepRun
    gates: dict[str, StepRun]  # by command: fairness, evaluate
    registered: StepRun
    promoted: StepRun

    @property
    def run_id(self) -> str:
        return self.trained.result["run_id"]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Promoted":
        fields = json.loads(text)
        gates = {command: StepRun(**run) for command, run in fields["gates"].items()}
        return cls(StepRun(**fields["trained"]), gates, StepRun(**fields["registered"]), StepRun(**fields["promoted"]))


def _succeeded(run: StepRun, what: str) -> StepRun:
    assert run.exit_code == 0, f"{what}: exit {run.exit_code}\n{run.stderr[-3000:]}"
    return run


class TrainedRegistry:
    def __init__(self, root: Path, data_of: Callable[[str], Path], extra_train_flags: Callable[[str], tuple]):
        self._root = root
        self._lock = FileLock(root / "training.lock")
        with self._lock:
            if not (root / "mlflow.db").exists():
                step_environment(root)
        self.env = environment_of(root)
        self._data_of = data_of
        self._extra_train_flags = extra_train_flags
        self._promoted: dict[str, Promoted] = {}

    def promoted(self, name: str) -> Promoted:
        """`name` in production in the session's store (trained there now if no worker has yet)."""
        if name not in self._promoted:
            record = self._root / f"{name}.promoted.json"
            with self._lock:
                if not record.exists():
                    record.write_text(self._put_in_production(name).to_json())
            self._promoted[name] = Promoted.from_json(record.read_text())
        return self._promoted[name]

    def copy(self, root: Path, *names: str) -> dict[str, str]:
        """A step environment under `root` whose store is a copy of this one with `names` in production and no
        other registered model: what a copy holds must not depend on which tests ran before."""
        for name in names:
            self.promoted(name)
        env = step_environment(root)
        with sqlite3.connect(_database(self.env)) as source, sqlite3.connect(_database(env)) as target:
            source.backup(target)
        client = MlflowClient(env["MLFLOW_TRACKING_URI"], env["MLFLOW_TRACKING_URI"])
        for model in client.search_registered_models():
            if model.name not in names:
                client.delete_registered_model(model.name)
        return env

    def _put_in_production(self, name: str) -> Promoted:
        script = model_named(name).image.console_script
        train_flags, gates = RECIPES[name]
        flags = (*train_flags, *self._extra_train_flags(name))
        trained = _succeeded(run_step(script, "train", "--data", self._data_of(name), *flags, env=self.env), name)
        run_id = trained.result["run_id"]
        judged = {
            command: _succeeded(run_step(script, command, "--run-id", run_id, *options, env=self.env), command)
            for command, *options in gates
        }
        registered = _succeeded(run_step(script, "register", "--run-id", run_id, env=self.env), "register")
        version = registered.result["version"]
        promoted = _succeeded(run_step(script, "promote", "--version", version, env=self.env), "promote")
        assert promoted.result["promoted"], promoted.result
        return Promoted(trained, judged, registered, promoted)


def _database(env: dict[str, str]) -> str:
    return env["MLFLOW_TRACKING_URI"].removeprefix("sqlite:///")
