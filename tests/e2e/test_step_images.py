"""Every step image run by hand, as the README shows: `--help`, a numeric non-root user, bad input that
exits 2 with one line saying what to pass, and each model trained on its sample data against an MLflow
server. Each runs as a pod does: read-only root, only /tmp writable.

Needs a Docker engine and the step images (`make images`): see tests/docker_engine.py.
"""

import json
import subprocess

import pytest
from mlflow import MlflowClient

from docker_engine import DOCKER, require_images
from nivesh_contract.catalog import DRIFT_IMAGE, MODELS, STEP_IMAGES, model_named

CREDIT_RISK = model_named("credit_risk_scorer")
pytestmark = pytest.mark.slow

CONSOLE_SCRIPTS = {image.ref: image.console_script for image in STEP_IMAGES}
IMAGES = sorted(CONSOLE_SCRIPTS)
# A step that needs MLflow and no data, and one that reads /data; the drift image has no registry steps.
NEEDS_TRACKING = {image: ["rollback"] for image in IMAGES} | {
    DRIFT_IMAGE.ref: ["check", "--model", CREDIT_RISK.name, "--current", "/data/new.csv"]
}
READS_DATA = {image: ["validate", "--data", "/data/train.csv"] for image in IMAGES} | {
    DRIFT_IMAGE.ref: NEEDS_TRACKING[DRIFT_IMAGE.ref]
}


@pytest.fixture(autouse=True)
def built_image(request):
    require_images([request.node.callspec.params["image"]])


def run_as_a_pod(
    image: str, *arguments: str, options: tuple[str, ...] = ("--network", "none")
) -> subprocess.CompletedProcess:
    command = [DOCKER, "run", "--rm", "--read-only", "--tmpfs", "/tmp", *options, image]
    return subprocess.run([*command, *arguments], capture_output=True, text=True, timeout=300)


def error_lines(run: subprocess.CompletedProcess) -> list[str]:
    assert "Traceback" not in run.stderr, run.stderr
    return [line for line in run.stderr.splitlines() if "error" in line.lower()]


@pytest.mark.parametrize("image", IMAGES)
def test_help_names_the_console_script(image):
    shown = run_as_a_pod(image, "--help")
    assert shown.returncode == 0, shown.stderr
    assert f"Usage: {CONSOLE_SCRIPTS[image]} [OPTIONS] COMMAND" in shown.stdout


@pytest.mark.parametrize("image", IMAGES)
def test_runs_as_a_numeric_non_root_user(image):
    configured = subprocess.run(
        [DOCKER, "image", "inspect", "--format", "{{json .Config.User}}", image], capture_output=True, text=True
    )
    assert json.loads(configured.stdout) == "10001:10001"
    running = run_as_a_pod(image, "-u", options=("--entrypoint", "id"))
    assert running.stdout.strip() == "10001"


@pytest.mark.parametrize("image", IMAGES)
def test_unknown_subcommand_exits_2_naming_help(image):
    run = run_as_a_pod(image, "trian")
    assert run.returncode == 2
    script = CONSOLE_SCRIPTS[image]
    (line,) = error_lines(run)
    assert line.startswith(f"{script}: error: No such command 'trian'.") and line.endswith(f"(see '{script} --help')")


@pytest.mark.parametrize("image", IMAGES)
def test_no_tracking_uri_exits_2_saying_to_pass_it(image):
    run = run_as_a_pod(image, *NEEDS_TRACKING[image])
    assert run.returncode == 2
    (line,) = error_lines(run)
    assert line.endswith(
        "MLFLOW_TRACKING_URI is not set: pass the MLflow tracking URI in the environment, "
        "e.g. -e MLFLOW_TRACKING_URI=http://mlflow:5000"
    )


@pytest.mark.parametrize("image", IMAGES)
def test_unmounted_data_exits_2_saying_to_mount_it(image):
    run = run_as_a_pod(image, *READS_DATA[image], options=("-e", "MLFLOW_TRACKING_URI=http://127.0.0.1:9"))
    assert run.returncode == 2
    (line,) = error_lines(run)
    missing = f"{READS_DATA[image][-1]}: file not found; directory /data does not exist here"
    assert line.endswith(f"{missing} (in a container: -v HOST_DIR:/data)")


# Credit's image trains, registers and serves in test_docker_launcher_dag.py, through its DAG.
TRAINED_HERE = sorted(model.image.ref for model in MODELS if model != CREDIT_RISK)


@pytest.mark.parametrize("image", TRAINED_HERE)
def test_each_model_trains_on_its_sample_data_and_logs_to_mlflow(image, tmp_path, mlflow_server):
    """Its libraries work in the slim image: the small sample the tests use is enough to show it."""
    model = next(model for model in MODELS if model.image.ref == image)
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)  # the image's user, 10001, writes the sample data
    path = f"/data/{model.data_file}"
    made = run_as_a_pod(image, "sample-data", "--out", path, *model.quick_sample, options=("-v", f"{data}:/data"))
    assert made.returncode == 0, made.stderr[-3000:]

    tracking = ("--network", "host", "-e", f"MLFLOW_TRACKING_URI={mlflow_server}", "-v", f"{data}:/data:ro")
    trained = run_as_a_pod(image, "train", "--data", path, options=tracking)
    assert trained.returncode == 0, trained.stderr[-3000:]
    result = json.loads(trained.stdout.splitlines()[-1])
    run = MlflowClient(mlflow_server).get_run(result["run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["nivesh.data.source"] == path
