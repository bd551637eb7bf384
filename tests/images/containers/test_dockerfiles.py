"""Every image's Dockerfile: hadolint-clean, multi-stage from BASE_IMAGE, numeric non-root user, exec entrypoint.

The step images share one, `images/Dockerfile`: the dependency layer first, the sources after it, and one last
stage per image whose ENTRYPOINT is the image's console script.
"""

import importlib.util
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
STEP_DOCKERFILE = ROOT / "images/Dockerfile"
CONSOLE_SCRIPTS = {image.name: image.console_script for image in STEP_IMAGES}
DIRECTORIES = {image.name: image.directory for image in STEP_IMAGES}
SOURCES = ("images/contract", "images/common", "images/${IMAGE_DIR}")

_spec = importlib.util.spec_from_file_location("step_requirements", ROOT / "images/step_requirements.py")
step_requirements = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(step_requirements)


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1]) for line in lines]


def stages(path: Path = STEP_DOCKERFILE) -> dict[str, list[tuple[str, str]]]:
    """Each stage's instructions, its FROM first, by stage name."""
    found: dict[str, list[tuple[str, str]]] = {}
    for instruction, arguments in instructions(path):
        if instruction == "FROM":
            name = arguments.split()[-1]
            assert name not in found, f"two stages named {name}"
            found[name] = []
        if found:
            found[name].append((instruction, arguments))
    return found


def position(steps: list[tuple[str, str]], instruction: str, *fragments: str) -> int:
    """Index of the one step of this kind whose arguments hold every fragment."""
    (index,) = [
        i for i, (kind, arguments) in enumerate(steps) if kind == instruction and all(f in arguments for f in fragments)
    ]
    return index


@pytest.mark.parametrize(
    "path",
    sorted([*ROOT.glob("images/**/Dockerfile"), *ROOT.glob("tests/**/*.Dockerfile")]),
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_hadolint_finds_nothing(path):
    linted = subprocess.run([str(HADOLINT), "--no-color", str(path)], capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_step_images_share_one_dockerfile():
    own = [path.parent.name for path in ROOT.glob("images/*/Dockerfile")]
    assert not set(own) & set(DIRECTORIES.values()), "a step image's Dockerfile of its own"


def test_one_dockerfile_builds_every_step_image_in_stages_from_base_image():
    steps = instructions(STEP_DOCKERFILE)
    assert steps[0] == ("ARG", "BASE_IMAGE=python:3.11-slim-bookworm")
    found = [arguments for kind, arguments in steps if kind == "FROM"]
    shared = ["${BASE_IMAGE} AS requirements", "${BASE_IMAGE} AS builder", "${BASE_IMAGE} AS runtime"]
    assert found[:3] == shared, "requirements, then dependencies in a builder, then a slim runtime"
    assert sorted(found[3:-1]) == sorted(f"runtime AS {name}" for name in CONSOLE_SCRIPTS), "one stage per image"
    assert found[-1] == "${BASE_IMAGE} AS no-target", "no --target: refused, not another image's entrypoint"
    (refusal,) = stages()["no-target"][1:]
    assert refusal[0] == "RUN" and refusal[1].endswith("exit 2")


def test_the_dependency_layer_comes_before_any_source():
    requirements, builder = stages()["requirements"], stages()["builder"]
    reading = position(requirements, "RUN", "step_requirements.py", '--image-dir "${IMAGE_DIR}"')
    assert "--mount=type=bind,source=images," in requirements[reading][1]
    dependencies = position(builder, "RUN", "pip install", "--requirement /requirements/requirements.txt")
    install = builder[dependencies][1]
    assert "--mount=type=bind,from=requirements,source=/requirements,target=/requirements" in install
    assert "--constraint /src/constraints.txt" in install and "--no-compile" in install, "pinned dependencies"
    copied_before = [arguments for kind, arguments in builder[:dependencies] if kind == "COPY"]
    assert copied_before == ["constraints.txt /src/"], "nothing but the pins before the dependency layer"
    for source in SOURCES:
        copied = position(builder, "COPY", f"{source} /src/{source}")
        assert copied > dependencies, f"{source} (the contract and the declarations too) copied after the dependencies"
    own = position(builder, "RUN", "--no-deps", *(f"/src/{source}" for source in SOURCES))
    assert own > max(position(builder, "COPY", f"{source} /src/{source}") for source in SOURCES)
    assert "--no-compile" in builder[own][1] and "--no-index" in builder[own][1], "offline: nothing new downloaded"
    assert 'slim_venv.py "nivesh_${IMAGE_DIR}"' in builder[own][1], "slimmed, and its imports checked"


def test_every_pip_run_that_reaches_the_network_can_trust_a_ca_bundle():
    installs = [
        arguments for kind, arguments in instructions(STEP_DOCKERFILE) if kind == "RUN" and "pip install" in arguments
    ]
    online = [arguments for arguments in installs if "--no-index" not in arguments]
    assert online, "the dependency layer downloads"
    for arguments in online:
        assert "--mount=type=secret,id=ca-bundle" in arguments
        assert "if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi" in arguments


def test_the_runtime_is_slim_non_root_and_takes_the_revision_last():
    runtime = stages()["runtime"]
    assert runtime[1] == ("COPY", "--from=builder /opt/venv /opt/venv"), "only the venv from the builder"
    assert [kind for kind, _ in runtime].count("RUN") == 0
    (environment,) = [arguments for kind, arguments in runtime if kind == "ENV" and "PATH=" in arguments]
    assert {"PATH=/opt/venv/bin:$PATH", "PYTHONDONTWRITEBYTECODE=1", "HOME=/tmp"} <= set(environment.split())
    assert runtime[-2:] == [
        ("ARG", "NIVESH_SOURCE_REVISION=unknown"),  # the revision `make images` passes, after every dependency
        ("ENV", "NIVESH_SOURCE_REVISION=${NIVESH_SOURCE_REVISION}"),  # baked in for the step to read
    ]
    user = [arguments for kind, arguments in instructions(STEP_DOCKERFILE) if kind == "USER"]
    assert user == ["10001:10001"] and ("USER", "10001:10001") in runtime


@pytest.mark.parametrize(("image_name", "console_script"), sorted(CONSOLE_SCRIPTS.items()))
def test_each_step_image_is_the_runtime_with_its_console_script_as_entrypoint(image_name, console_script):
    (entrypoint,) = [step for step in stages()[image_name] if step[0] != "FROM"]
    assert entrypoint[0] == "ENTRYPOINT" and json.loads(entrypoint[1]) == [console_script], "exec form, the script"
    directory = ROOT / "images" / DIRECTORIES[image_name]
    package = tomllib.loads((directory / "pyproject.toml").read_text())
    assert console_script in package["project"]["scripts"]
    assert (directory / "src" / f"nivesh_{DIRECTORIES[image_name]}").is_dir(), "the package slim_venv.py checks"


@pytest.fixture
def images(tmp_path):
    """A copy of images/ with the pyproject files only: no wheels unless a test adds them."""
    for pyproject in ROOT.glob("images/*/pyproject.toml"):
        copy = tmp_path / "images" / pyproject.relative_to(ROOT / "images")
        copy.parent.mkdir(parents=True)
        copy.write_bytes(pyproject.read_bytes())
    return tmp_path / "images"


def requirement_lines(images: Path, directory: str, variant: str, out: Path) -> list[str]:
    return step_requirements.write(images, directory, out, variant).read_text().splitlines()


def test_only_the_intent_image_has_a_cuda_variant(images, tmp_path):
    def has_variants(directory: str) -> bool:
        by_variant = [requirement_lines(images, directory, variant, tmp_path / variant) for variant in ("cpu", "cuda")]
        return by_variant[0] != by_variant[1]

    variants = [name for name, directory in DIRECTORIES.items() if has_variants(directory)]
    assert variants == ["intent"]


def test_torch_comes_from_the_wheelhouse_else_the_cpu_index_else_pypi(images, tmp_path):
    index = step_requirements.TORCH_CPU_INDEX
    assert requirement_lines(images, "intent", "cpu", tmp_path / "index")[0] == f"--extra-index-url {index}"
    (images / "intent/wheels").mkdir()
    (images / "intent/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"wheel")
    local = requirement_lines(images, "intent", "cpu", tmp_path / "local")
    assert local[0] == f"--find-links {tmp_path / 'local/wheels'}"
    assert [path.name for path in (tmp_path / "local/wheels").iterdir()] == [
        "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
    ]
    cuda = requirement_lines(images, "intent", "cuda", tmp_path / "cuda")
    assert not [line for line in cuda if line.startswith("--")] and "torch==2.13.0" in cuda


@pytest.mark.parametrize("directory", sorted(DIRECTORIES.values()))
def test_the_dependency_layer_installs_the_three_packages_requirements_but_not_the_packages(
    images, tmp_path, directory
):
    installed = set(requirement_lines(images, directory, "cuda", tmp_path))
    declared = set()
    for package in ("contract", "common", directory):
        pyproject = tomllib.loads((images / package / "pyproject.toml").read_text())
        declared |= {*pyproject["project"]["dependencies"], *pyproject["build-system"]["requires"]}
    assert installed == {requirement for requirement in declared if not requirement.startswith("nivesh-")}


def test_an_image_directory_that_is_not_one_is_refused(images, tmp_path):
    for directory in ("", "../images", "nope"):
        with pytest.raises(step_requirements.RequirementsError, match="IMAGE_DIR"):
            step_requirements.write(images, directory, tmp_path, "cpu")


def test_credit_risk_takes_the_cpu_only_xgboost():
    package = tomllib.loads((ROOT / "images/credit_risk/pyproject.toml").read_text())
    assert any(dependency.startswith("xgboost-cpu==") for dependency in package["project"]["dependencies"])


def test_airflow_image_pins_the_providers_and_the_metrics_client_the_platform_pins():
    """The DAGs' tasks push pipeline metrics with prometheus-client: in the image as in our environment."""
    platform = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    airflow_pins = {pin for pin in platform if pin.startswith(("apache-airflow", "prometheus-client"))}
    dockerfile = (ROOT / "images/airflow/Dockerfile").read_text()
    installed = set(re.findall(r"(?:apache-airflow[a-z-]*|prometheus-client)==[0-9.]+", dockerfile))
    assert installed == airflow_pins


def test_airflow_image_installs_against_the_official_image_s_constraints_less_our_pins():
    """Our constraints.txt pins our virtual environment: forced onto the official image it would move packages
    under its preinstalled FAB provider. The image's own constraints, less the lines of what we pin, let pip move
    nothing else; Airflow pinned to the base image's version cannot move either."""
    lines = (ROOT / "images/airflow/Dockerfile").read_text().splitlines()
    instructions = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    base_version = re.search(r"ARG BASE_IMAGE=apache/airflow:([0-9.]+)-python", instructions).group(1)
    install = instructions[instructions.index("pip install") :]
    assert "--constraint /tmp/image-constraints.txt" in install and "constraints.txt /" not in instructions
    assert f"apache-airflow=={base_version} " in install
    removed = re.search(r"grep -v -i -E '\^\((.+)\)==' *\\\n *(\S+)", instructions)
    assert removed.group(2) == "/home/airflow/constraints.txt"
    pinned = set(re.findall(r"(apache-airflow-providers-[a-z-]+|prometheus-client)==", install))
    unpinned = {name for name in pinned if not re.fullmatch(f"(?i){removed.group(1)}", name)}
    assert not unpinned, f"pinned, yet constrained by the image's own lines: {unpinned}"


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


def test_make_step_images_builds_each_image_s_stage_from_its_directory():
    dry_run = subprocess.run(["make", "-n", "-C", str(ROOT), "step-images"], capture_output=True, text=True, check=True)
    loop = re.sub(r"\s*\\\n\s*", " ", dry_run.stdout)
    pairs = " ".join(f"{image.directory}:{image.name}" for image in STEP_IMAGES)
    assert f"for pair in {pairs}; do" in loop
    assert "directory=${pair%%:*}; name=${pair##*:}; image=nivesh/$name:" in loop
    assert "--build-arg IMAGE_DIR=$directory --file images/Dockerfile --target $name --tag $image ." in loop


def test_make_images_bakes_in_the_revision_a_step_run_from_the_checkout_computes(monkeypatch):
    from nivesh_common.lineage import source_revision

    monkeypatch.delenv("NIVESH_SOURCE_REVISION", raising=False)
    dry_run = subprocess.run(["make", "-n", "-C", str(ROOT), "step-images"], capture_output=True, text=True, check=True)
    revision = source_revision(ROOT / "images" / "common" / "src")
    assert re.fullmatch(r"[0-9a-f]{12}(-dirty)?|unknown", revision)
    assert f"--build-arg NIVESH_SOURCE_REVISION={revision} " in dry_run.stdout
