"""`make new-model NAME=...`: a working model from the template (`model_template/`), and its declaration listed.

Written: the step image's package and pyproject (`images/NAME/`), its declaration
(`nivesh_contract/models/NAME.toml`), its DAG file and its tests. Edited: the declaration list, and the step images'
one Dockerfile (`images/Dockerfile`), which gains the image's stage: its entrypoint, the console script. Everything
else (the catalog, DAG params, master pipeline, drift, summary, image lists, the Makefile) reads the
declaration.
"""

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

from nivesh_contract.catalog import MODELS

TEMPLATE = Path(__file__).parent / "model_template"
DECLARATION_LIST = Path("images/contract/src/nivesh_contract/models/__init__.py")
STEP_DOCKERFILE = Path("images/Dockerfile")
# A step image's own stage: the shared runtime, and the entrypoint exec form cannot take from a build arg.
IMAGE_STAGE = 'FROM runtime AS {dashed}\nENTRYPOINT ["nivesh-{dashed}"]\n'
STAGE_NAME = re.compile(r"^FROM\s+\S+\s+AS\s+(\S+)\s*$", re.IGNORECASE | re.MULTILINE)
ENTRYPOINT = re.compile(r"^ENTRYPOINT .*\n", re.MULTILINE)
NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
MAX_NAME_LENGTH = 40  # pod names and label values (63 characters) carry it with a step and a suffix
RESERVED = {"airflow", "common", "contract", "drift", "naive"}  # images/ directories that are not models
PINNED = ("numpy", "scikit-learn")  # the template's dependencies, pinned as constraints.txt pins them


class ScaffoldError(Exception):
    """The name cannot be used, or the repository is not shaped as expected."""


def scaffold(root: Path, name: str) -> list[Path]:
    """Write the new model's files under `root` and list it; returns every file written or changed."""
    check_name(root, name)
    tokens = {
        "name": name,
        "dashed": name.replace("_", "-"),
        "title": name.replace("_", " ").capitalize(),
        "title_lower": name.replace("_", " "),
    } | pinned_versions(root / "constraints.txt")
    dockerfile = with_image_stage(root / STEP_DOCKERFILE, tokens["dashed"])
    written = [render(template, root, tokens) for template in sorted(TEMPLATE.rglob("*.tmpl"))]
    list_declaration(root / DECLARATION_LIST, name)
    (root / STEP_DOCKERFILE).write_text(dockerfile)
    tidy(root, [*written, root / DECLARATION_LIST])
    return [*written, root / DECLARATION_LIST, root / STEP_DOCKERFILE]


def check_name(root: Path, name: str) -> None:
    if not NAME.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        raise ScaffoldError(f"NAME={name!r}: use snake_case (a-z, 0-9, single underscores), {MAX_NAME_LENGTH} at most")
    taken = {model.name for model in MODELS} | {model.image.directory for model in MODELS} | RESERVED
    if name in taken or (root / "images" / name).exists() or f"{name}_training" in {m.dag_id for m in MODELS}:
        raise ScaffoldError(f"NAME={name}: already a model, image directory or DAG here")


def pinned_versions(constraints: Path) -> dict[str, str]:
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", constraints.read_text(), re.MULTILINE))
    missing = [package for package in PINNED if package not in pins]
    if missing:
        raise ScaffoldError(f"{constraints}: no pin for {', '.join(missing)}")
    return {package: pins[package] for package in PINNED}


def render(template: Path, root: Path, tokens: dict[str, str]) -> Path:
    """`images/MODEL/src/nivesh_MODEL/cli.py.tmpl` -> `images/NAME/src/nivesh_NAME/cli.py`, `{{name}}` filled."""
    relative = template.relative_to(TEMPLATE).with_suffix("")
    target = root / Path(*(part.replace("MODEL", tokens["name"]) for part in relative.parts))
    text = re.sub(r"\{\{([a-z_-]+)\}\}", lambda match: tokens[match.group(1)], template.read_text())
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def with_image_stage(path: Path, dashed: str) -> str:
    """The step images' Dockerfile with the new image's stage after the last image's (the last ENTRYPOINT)."""
    if not path.is_file():
        raise ScaffoldError(f"{path}: not found (the step images' Dockerfile, one stage per image)")
    source = path.read_text()
    if dashed in STAGE_NAME.findall(source):
        raise ScaffoldError(f"{path}: already has a stage {dashed}")
    entrypoints = list(ENTRYPOINT.finditer(source))
    if not entrypoints:
        raise ScaffoldError(f"{path}: expected one stage per step image, each ending in its ENTRYPOINT")
    end = entrypoints[-1].end()
    return source[:end] + "\n" + IMAGE_STAGE.format(dashed=dashed) + source[end:]


def list_declaration(path: Path, name: str) -> None:
    """Add `name` to the `DECLARED` tuple of the declaration list."""
    source = path.read_text()
    listing = [
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and [getattr(target, "id", None) for target in node.targets] == ["DECLARED"]
    ]
    if len(listing) != 1 or not isinstance(listing[0].value, ast.Tuple):
        raise ScaffoldError(f"{path}: expected one `DECLARED = (...)` of declaration names")
    entries = [ast.get_source_segment(source, element) for element in listing[0].value.elts] + [repr(name)]
    lines = source.splitlines(keepends=True)
    listed = "DECLARED = (\n" + "".join(f"    {entry},\n" for entry in entries) + ")\n"
    lines[listing[0].lineno - 1 : listing[0].end_lineno] = [listed]
    path.write_text("".join(lines))


def tidy(root: Path, paths: list[Path]) -> None:
    """Imports sorted and code formatted as the repository's ruff settings say (the name changes both)."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        return
    python = [str(path) for path in paths if path.suffix == ".py"]
    subprocess.run([ruff, "check", "--quiet", "--fix", "--select", "I", *python], cwd=root, check=True)
    subprocess.run([ruff, "format", "--quiet", *python], cwd=root, check=True)
