"""Every image's Dockerfile: hadolint-clean, multi-stage from BASE_IMAGE, numeric non-root user, exec entrypoint."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from nivesh_contract.catalog import STEP_IMAGES

ROOT = Path(__file__).resolve().parents[3]
HADOLINT = Path(sys.executable).parent / "hadolint"
CONSOLE_SCRIPTS = {image.name: image.console_script for image in STEP_IMAGES}
DIRECTORIES = {image.name: image.directory for image in STEP_IMAGES}


def dockerfile(image_name: str) -> Path:
    return ROOT / "images" / DIRECTORIES[image_name] / "Dockerfile"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1]) for line in lines]


@pytest.mark.parametrize("path", sorted(ROOT.glob("images/*/Dockerfile")), ids=lambda path: path.parent.name)
def test_hadolint_finds_nothing(path):
    linted = subprocess.run([str(HADOLINT), "--no-color", str(path)], capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize(("image_name", "console_script"), sorted(CONSOLE_SCRIPTS.items()))
def test_step_image_is_multi_stage_slim_non_root_with_its_console_script(image_name, console_script):
    steps = instructions(dockerfile(image_name))
    assert steps[0] == ("ARG", "BASE_IMAGE=python:3.11-slim-bookworm")
    stages = [arguments for instruction, arguments in steps if instruction == "FROM"]
    assert stages == ["${BASE_IMAGE} AS builder", "${BASE_IMAGE}"], "dependencies in a builder, a slim runtime"
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in steps
    assert ("COPY", "images/contract /src/images/contract") in steps, "the contract and declarations, installed"
    assert any(i == "RUN" and "--constraint /src/constraints.txt" in a for i, a in steps), "pinned dependencies"
    package = f"nivesh_{DIRECTORIES[image_name]}"
    assert any(i == "RUN" and f"slim_venv.py {package}" in a for i, a in steps), "slimmed, and its imports checked"
    runtime = steps[steps.index(("COPY", "--from=builder /opt/venv /opt/venv")) :]
    assert ("ARG", "NIVESH_SOURCE_REVISION=unknown") in runtime, "the revision `make images` passes, after the deps"
    assert ("ENV", "NIVESH_SOURCE_REVISION=${NIVESH_SOURCE_REVISION}") in runtime, "baked in for the step to read"
    user = [arguments for instruction, arguments in steps if instruction == "USER"]
    assert user == ["10001:10001"]
    entrypoint = [arguments for instruction, arguments in steps if instruction == "ENTRYPOINT"]
    assert [json.loads(entrypoint[-1])] == [[console_script]], "exec form, the step's console script"
    package = tomllib.loads((dockerfile(image_name).parent / "pyproject.toml").read_text())
    assert console_script in package["project"]["scripts"]


def test_only_the_intent_image_has_a_cuda_variant():
    def has_variants(name: str) -> bool:
        return any("TORCH_VARIANT" in arguments for kind, arguments in instructions(dockerfile(name)) if kind == "ARG")

    variants = [name for name in CONSOLE_SCRIPTS if has_variants(name)]
    assert variants == ["intent"]


def test_credit_risk_takes_the_cpu_only_xgboost():
    package = tomllib.loads((ROOT / "images/credit_risk/pyproject.toml").read_text())
    assert any(dependency.startswith("xgboost-cpu==") for dependency in package["project"]["dependencies"])


def test_airflow_image_pins_the_providers_the_platform_pins():
    platform = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    airflow_pins = {pin for pin in platform if pin.startswith("apache-airflow")}
    installed = set(re.findall(r"apache-airflow[a-z-]*==[0-9.]+", (ROOT / "images/airflow/Dockerfile").read_text()))
    assert installed == airflow_pins


def test_the_build_context_sends_only_what_the_images_install():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") :][:1] == ["*"], "everything ignored first, then allowed back"
    allowed = {line[1:] for line in ignored if line.startswith("!")}
    assert {"constraints.txt", "images/"} <= allowed and not {".venv/", ".nivesh/", ".git/"} & allowed


def test_hadolint_does_flag_a_careless_dockerfile(tmp_path):
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python\nRUN pip install mlflow\nENTRYPOINT nivesh-credit-risk\n")
    linted = subprocess.run([str(HADOLINT), "--no-color", str(careless)], capture_output=True, text=True)
    assert linted.returncode == 1
    assert {"DL3006", "DL3013", "DL3025"} <= set(re.findall(r"DL\d{4}", linted.stdout))


def test_make_images_bakes_in_the_revision_a_step_run_from_the_checkout_computes(monkeypatch):
    from nivesh_common.lineage import source_revision

    monkeypatch.delenv("NIVESH_SOURCE_REVISION", raising=False)
    dry_run = subprocess.run(["make", "-n", "-C", str(ROOT), "step-images"], capture_output=True, text=True, check=True)
    revision = source_revision(ROOT / "images" / "common" / "src")
    assert re.fullmatch(r"[0-9a-f]{12}(-dirty)?|unknown", revision)
    assert f"--build-arg NIVESH_SOURCE_REVISION={revision} " in dry_run.stdout
