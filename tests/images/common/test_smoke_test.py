"""`smoke-test`, run by an image's real console script against a real MLflow SQLite store: production is loaded
in that fresh process as a consumer would load it, and taken out of production when it does not load or does not
answer as its signature says.

The models are tiny "models from code" written here; the command is the same in every image (registry_commands),
so one image's script serves: its model name is the registered name the test uses.
"""

import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.models import infer_signature

from nivesh_common.tracking import log_python_model
from registry_state import aliases, client_for, mlflow_pointed_at
from steps import run_step

SCRIPT, MODEL = "nivesh-anomaly", "anomaly_detector"
EXAMPLE = pd.DataFrame({"amount": [12.5, 990.0, 3.2]})
ANSWER = pd.DataFrame({"score": [0.1, 0.9, 0.2]})
MISSING = "nivesh_missing_dependency"  # stands for a broken pin: installed where it trained, not in the image

MODEL_CODE = """
import mlflow
import pandas as pd
{imports}


class Scorer(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):
        return pd.DataFrame({{"{column}": [{value!r}] * len(model_input)}})


mlflow.models.set_model(Scorer())
"""


@pytest.fixture
def store(step_env, tmp_path):
    """The step's store, and MLflow in this process pointed at it (put back afterwards) to log the test's models."""
    with mlflow_pointed_at(step_env["MLFLOW_TRACKING_URI"]):
        mlflow.set_experiment(experiment_id=mlflow.create_experiment("models", str(tmp_path / "artifacts")))
        yield step_env


def registered(tmp_path: Path, column: str = "score", value: object = 0.5, imports: str = "", **log_model_args) -> int:
    """A version of MODEL whose model answers `column` = `value` per row, logged as the images log theirs."""
    code = tmp_path / f"model_{len(list(tmp_path.glob('model_*.py')))}.py"
    code.write_text(MODEL_CODE.format(imports=imports, column=column, value=value))
    requirements = [f"mlflow=={mlflow.__version__}", "pandas"]
    with mlflow.start_run():
        if log_model_args:  # the model as some other code logs it: with or without an example, a signature
            logged = mlflow.pyfunc.log_model(
                name="model", python_model=str(code), pip_requirements=requirements, **log_model_args
            )
            uri = logged.model_uri
        else:
            uri = log_python_model(str(code), {}, EXAMPLE, ANSWER, requirements)
    return int(mlflow.register_model(uri, MODEL).version)


def broken(tmp_path: Path, monkeypatch) -> int:
    """A version that imports a module it was trained with and the image lacks: it cannot load there."""
    training_env = tmp_path / "training-env"
    training_env.mkdir(exist_ok=True)
    (training_env / f"{MISSING}.py").write_text("")
    monkeypatch.syspath_prepend(str(training_env))
    try:
        return registered(tmp_path, imports=f"import {MISSING}  # noqa: F401")
    finally:
        sys.modules.pop(MISSING, None)


def in_production(env: dict[str, str], production: int, previous: int | None = None) -> None:
    """What `promote` leaves: `production` on the new version, `previous` on the one it replaced."""
    client = client_for(env)
    client.set_registered_model_alias(MODEL, "production", str(production))
    if previous is not None:
        client.set_registered_model_alias(MODEL, "previous", str(previous))


def version_tags(env: dict[str, str], version: int) -> dict[str, str]:
    return client_for(env).get_model_version(MODEL, str(version)).tags


def smoke_test(version: int, env: dict[str, str]):
    return run_step(SCRIPT, "smoke-test", "--version", version, env=env)


def test_a_good_production_version_is_loaded_predicts_and_stays(store, tmp_path):
    version = registered(tmp_path)
    in_production(store, version)
    run = smoke_test(version, store)
    assert run.exit_code == 0, run.stderr
    timings = {key: run.result.pop(key) for key in ("seconds", "elapsed_s")}
    assert run.result == {
        "status": "ok",
        "model": MODEL,
        "version": 1,
        "tested": True,
        "production_version": 1,
        "rows": 3,
    }
    assert 0 < timings["seconds"] <= timings["elapsed_s"]
    assert aliases(store, MODEL) == {"production": 1}
    assert version_tags(store, 1)["nivesh.smoke_test"] == "passed"


def test_a_version_that_cannot_load_is_rolled_back_to_previous(store, tmp_path, monkeypatch):
    good, bad = registered(tmp_path), broken(tmp_path, monkeypatch)
    in_production(store, bad, previous=good)
    run = smoke_test(bad, store)
    assert run.exit_code == 3, run.stderr
    message = (
        f"smoke test of {MODEL} v2 failed: cannot load models:/{MODEL}@production: "
        f"ModuleNotFoundError: No module named '{MISSING}'; production rolled back to v1"
    )
    assert run.result["error"] == message
    assert run.result | {"elapsed_s": 0} == {
        "status": "gate_failed",
        "error": message,
        "smoke_test": "failed",
        "model": MODEL,
        "version": 2,
        "rolled_back_version": 2,
        "production_version": 1,
        "elapsed_s": 0,
    }
    (line,) = run.error_lines
    assert line.endswith(message) and "Traceback" not in run.stderr
    assert aliases(store, MODEL) == {"production": 1}, "production back on v1, previous cleared"
    assert version_tags(store, 2).items() >= {"nivesh.rolled_back": "true", "nivesh.smoke_test": "failed"}.items()


def test_a_first_production_version_that_cannot_load_is_removed(store, tmp_path, monkeypatch):
    """No production before this run: none after it either, rather than one that cannot load."""
    bad = broken(tmp_path, monkeypatch)
    in_production(store, bad)
    run = smoke_test(bad, store)
    assert run.exit_code == 3, run.stderr
    assert run.result["error"].endswith(
        f"No module named '{MISSING}'; production removed: v1 was {MODEL}'s first production version"
    )
    assert (run.result["rolled_back_version"], run.result["production_version"]) == (1, None)
    assert aliases(store, MODEL) == {}
    assert version_tags(store, 1)["nivesh.rolled_back"] == "true"


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        ("scored", 0.5, "its answer lacks output column(s) score of its signature (it has scored)"),
        ("score", "high", "output column(s) of another type than its signature says: score is string, not double"),
    ],
    ids=["a column missing", "a column of another type"],
)
def test_an_answer_unlike_the_signature_is_rolled_back(store, tmp_path, column, value, why):
    good, bad = registered(tmp_path), registered(tmp_path, column=column, value=value)
    in_production(store, bad, previous=good)
    run = smoke_test(bad, store)
    assert run.exit_code == 3, run.stderr
    assert run.result["error"] == f"smoke test of {MODEL} v2 failed: {why}; production rolled back to v1"
    assert aliases(store, MODEL) == {"production": 1}


def test_a_version_logged_without_an_input_example_cannot_be_checked(store, tmp_path):
    good = registered(tmp_path)
    unchecked = registered(tmp_path, signature=infer_signature(EXAMPLE, ANSWER))
    in_production(store, unchecked, previous=good)
    run = smoke_test(unchecked, store)
    assert run.exit_code == 3, run.stderr
    assert "was logged without an input example: no consumer could check it" in run.result["error"]
    assert aliases(store, MODEL) == {"production": 1}


def test_nothing_is_tested_or_moved_when_production_is_not_the_version(store, tmp_path, monkeypatch):
    """Promote kept v1 (or someone moved production meanwhile): the candidate is not loaded, nothing moves."""
    good, kept_out = registered(tmp_path), broken(tmp_path, monkeypatch)
    in_production(store, good)
    client_for(store).set_registered_model_alias(MODEL, "candidate", str(kept_out))
    run = smoke_test(kept_out, store)
    assert run.exit_code == 0, run.stderr
    assert run.result | {"elapsed_s": 0} == {
        "status": "ok",
        "model": MODEL,
        "version": 2,
        "tested": False,
        "production_version": 1,
        "reason": "production is v1, not v2: nothing new to test",
        "elapsed_s": 0,
    }
    assert aliases(store, MODEL) == {"production": 1, "candidate": 2}
    assert "nivesh.smoke_test" not in version_tags(store, 2)


def test_a_staged_version_is_checked_as_staging_and_one_that_cannot_load_leaves_staging(store, tmp_path, monkeypatch):
    """A staged rollout's new version meets users too (a canary's share, a shadow's copies): checked the same way."""
    production, good = registered(tmp_path), registered(tmp_path)
    in_production(store, production)
    client_for(store).set_registered_model_alias(MODEL, "staging", str(good))
    run = smoke_test(good, store)
    assert run.exit_code == 0, run.stderr
    assert (run.result["tested"], run.result["staging_version"], run.result["production_version"]) == (True, 2, 1)
    assert version_tags(store, good)["nivesh.smoke_test"] == "passed"
    bad = broken(tmp_path, monkeypatch)
    client_for(store).set_registered_model_alias(MODEL, "staging", str(bad))
    run = smoke_test(bad, store)
    assert run.exit_code == 3, run.stderr
    assert run.result["error"].startswith(
        f"smoke test of {MODEL} v3 (staging) failed: cannot load models:/{MODEL}@staging"
    )
    assert run.result["error"].endswith("; staging removed, production untouched")
    assert aliases(store, MODEL) == {"production": 1}
    assert version_tags(store, bad).items() >= {"nivesh.rolled_back": "true", "nivesh.smoke_test": "failed"}.items()
