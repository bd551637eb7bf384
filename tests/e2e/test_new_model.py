"""`make new-model` in a copy of the repository, as a maintainer adds a model: the scaffold edits only the
declaration list and the step images' Dockerfile (the new image's stage), the new model appears everywhere the
platform lists models, and with no other edit `make lint` and `make test-fast` pass.

The copy gets its own virtual environment for its own packages (installed by its Makefile, as on a new
machine); the third-party libraries come from this one's, so nothing is downloaded but the build backend.
Its `make test-fast` leaves out what reads no list of models and already ran in this session: the existing images'
own tests (`tests/images/<image>/`, `common` and `drift`: 12 of its 16 minutes), the hostile-input tests (fixed
models, 4 minutes), `tests/e2e` (all slow but this module's own checks), `tests/monitoring` (one model's figures)
and the refresh DAG's run (the anomaly model's; the refresh tests over every model with a source still run).
"""

import os
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from nivesh_contract.catalog import STEP_IMAGES

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

ROOT = Path(__file__).resolve().parents[2]
NAME = "churn_predictor"
DECLARATION_LIST = "images/contract/src/nivesh_contract/models/__init__.py"
STEP_DOCKERFILE = "images/Dockerfile"
SCAFFOLDED = {
    f"images/{NAME}/pyproject.toml",
    f"images/contract/src/nivesh_contract/models/{NAME}.toml",
    f"dags/{NAME}_training.py",
    f"tests/images/{NAME}/test_cli.py",
    *(
        f"images/{NAME}/src/nivesh_{NAME}/{module}.py"
        for module in ("__init__", "cli", "evaluation", "sample_data", "schema", "training")
    ),
}


def repository_files(root: Path) -> list[str]:
    """What a clone holds: the files git tracks, and new ones it does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [path for path in listed.split("\0") if path and (root / path).is_file()]


def git(root: Path, *arguments: str) -> str:
    identity = ("-c", "user.name=test", "-c", "user.email=test@nivesh.ai")
    return subprocess.run(["git", *identity, *arguments], cwd=root, capture_output=True, text=True, check=True).stdout


def changes(root: Path) -> dict[str, set[str]]:
    """Files changed since the copy's one commit, by git status code (`M` changed, `??` new), ignored ones not."""
    found: dict[str, set[str]] = {}
    for line in git(root, "status", "--porcelain", "--untracked-files=all").splitlines():
        found.setdefault(line[:2].strip(), set()).add(line[3:])
    return found


def overlay_venv(target: Path) -> Path:
    """A new venv that sees this venv's libraries (a .pth) and runs its tools (ruff, pytest, hadolint...)."""
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
    ours = Path(sysconfig.get_paths()["purelib"])
    theirs = target / Path(ours).relative_to(Path(sys.prefix))
    (theirs / "_shared_libraries.pth").write_text(f"{ours}\n")
    our_python = f"#!{Path(sys.executable).parent / 'python'}"
    for tool in Path(sys.executable).parent.iterdir():
        copy = target / "bin" / tool.name
        if copy.exists() or not tool.is_file() or tool.name.startswith(("python", "activate", "pip")):
            continue
        head = tool.read_bytes()[:200]
        if head.startswith(our_python.encode()) or head.startswith(f"#!{sys.executable}".encode()):
            script = tool.read_text().split("\n", 1)[1]
            copy.write_text(f"#!{target / 'bin/python'}\n{script}")
            copy.chmod(0o755)
        else:
            copy.symlink_to(tool)
    return target


def make(root: Path, venv: Path, *arguments: str, timeout_s: float = 1500, **environment: str):
    env = os.environ | {"AIRFLOW_HOME": str(venv.parent / "airflow-home")} | environment
    return subprocess.run(
        ["make", "--no-print-directory", f"VENV={venv}", *arguments],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory):
    work = tmp_path_factory.mktemp("new-model")
    root = work / "repository"
    for path in repository_files(ROOT):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes((ROOT / path).read_bytes())
        (root / path).chmod((ROOT / path).stat().st_mode)
    git(root, "init", "--quiet")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "--message", "the repository before the scaffold")
    venv = overlay_venv(work / "venv")
    made = make(root, venv, "new-model", f"NAME={NAME}")
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    return root, venv, changes(root)


def test_the_scaffold_edits_only_the_declaration_list_and_the_step_dockerfile(scaffolded):
    root, _, changed = scaffolded
    assert changed == {"M": {DECLARATION_LIST, STEP_DOCKERFILE}, "??": SCAFFOLDED}
    added = git(root, "diff", "--unified=0", STEP_DOCKERFILE).splitlines()
    added = [line[1:] for line in added if line.startswith("+") and not line.startswith("+++") and line != "+"]
    assert added == ["FROM runtime AS churn-predictor", 'ENTRYPOINT ["nivesh-churn-predictor"]']


def test_a_second_scaffold_of_the_same_name_is_refused(scaffolded):
    root, venv, _ = scaffolded
    again = subprocess.run([venv / "bin/nivesh-platform", "new-model", NAME], cwd=root, capture_output=True, text=True)
    assert again.returncode == 2
    assert again.stderr.strip() == f"nivesh-platform: error: NAME={NAME}: already a model, image directory or DAG here"


# Run in the copy's environment: where the master pipeline, drift detection and the summary find models.
PROBE = """
import sys
from airflow.dag_processing.dagbag import DagBag
from mlflow import MlflowClient
from nivesh_contract.catalog import MODELS
from nivesh_drift.profiles import PROFILES
from nivesh_platform.state import DAGS_FOLDER
from nivesh_platform.summary import registry_rows

dags = DagBag(str(DAGS_FOLDER)).dags
print(" ".join(sorted(dags)))
print(" ".join(dags["master_training_pipeline"].task_ids))
print(" ".join(PROFILES))
print(" ".join(row["model"] for row in registry_rows(MlflowClient(sys.argv[1]), MODELS)))
"""


def test_the_new_model_is_everywhere_models_are_listed(scaffolded):
    root, venv, _ = scaffolded
    store = f"sqlite:///{venv.parent / 'mlflow.db'}"
    probe = subprocess.run(
        [venv / "bin/python", "-c", PROBE, store],
        cwd=root,
        capture_output=True,
        text=True,
        env=os.environ | {"AIRFLOW_HOME": str(venv.parent / "airflow-home")},
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    dags, master_tasks, drift_profiles, summary_rows = (line.split() for line in probe.stdout.splitlines()[-4:])
    assert f"{NAME}_training" in dags and f"trigger_{NAME}" in master_tasks
    assert NAME in drift_profiles and NAME in summary_rows
    images = subprocess.run([venv / "bin/nivesh-platform", "images"], capture_output=True, text=True, check=True)
    assert "nivesh/churn-predictor:0.1.0" in images.stdout.split()
    planned = make(root, venv, "-n", "step-images", "DOCKER=docker")
    assert f"{NAME}:churn-predictor" in planned.stdout


def test_make_lint_and_test_fast_pass_with_no_other_edit(scaffolded):
    root, venv, _ = scaffolded
    linted = make(root, venv, "lint")
    assert linted.returncode == 0, linted.stdout[-3000:] + linted.stderr[-3000:]
    report = venv.parent / "test-fast.xml"
    unaffected = " ".join(f"--ignore=tests/images/{image.directory}" for image in STEP_IMAGES)
    unaffected += " --ignore=tests/images/common --ignore=tests/hostile --ignore=tests/e2e --ignore=tests/monitoring"
    unaffected += " --ignore=tests/refresh/test_refresh_dag.py"
    options = f"-p no:cacheprovider --junit-xml={report} {unaffected}"
    tested = make(root, venv, "test-fast", PYTEST_ADDOPTS=options)
    assert tested.returncode == 0, tested.stdout[-5000:]
    cases = ElementTree.parse(report).getroot().iter("testcase")
    ran = {case.get("classname") for case in cases if case.find("skipped") is None}
    assert any(NAME in classname for classname in ran), "the new model's own tests ran"
