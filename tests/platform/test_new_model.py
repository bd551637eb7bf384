"""The scaffold on its own, fast: what it writes from the template and how it lists the declaration.

`tests/e2e/test_new_model.py` runs it as a maintainer does, then the whole fast suite on the result.
"""

import ast
import itertools
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nivesh_contract.catalog import MODELS
from nivesh_contract.declaration_file import load_declaration
from nivesh_platform.new_model import DECLARATION_LIST, ScaffoldError, scaffold

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = str(Path(sys.executable).parent / "nivesh-platform")
# A name no model has, whatever models are declared (the scaffold's own test runs this after a scaffold).
NAME = next(name for number in itertools.count() if (name := f"probe_{number}") not in {m.name for m in MODELS})


@pytest.fixture
def repository(tmp_path):
    """The files the scaffold reads: the ruff settings, the pins and the declaration list."""
    for path in ("pyproject.toml", "constraints.txt", "images/Dockerfile", DECLARATION_LIST):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, tmp_path / path)
    return tmp_path


def test_every_template_is_filled_in_and_the_code_is_clean(repository):
    written = scaffold(repository, NAME)
    assert repository / f"images/{NAME}/src/nivesh_{NAME}/cli.py" in written
    for path in written:
        assert "{{" not in path.read_text() and "MODEL" not in str(path.relative_to(repository)), path
        if path.suffix == ".py":
            compile(path.read_text(), str(path), "exec")
    declaration = load_declaration(repository / f"images/contract/src/nivesh_contract/models/{NAME}.toml")
    dashed = NAME.replace("_", "-")
    assert (declaration.name, declaration.image.ref) == (NAME, f"nivesh/{dashed}:0.1.0")
    pinned = (repository / f"images/{NAME}/pyproject.toml").read_text()
    assert '"scikit-learn==1.9.1"' in pinned and f'nivesh-{dashed} = "nivesh_{NAME}.cli:main"' in pinned
    linted = subprocess.run([Path(sys.executable).parent / "ruff", "check", "."], cwd=repository, capture_output=True)
    assert linted.returncode == 0, linted.stdout.decode()


def declared_names(repository: Path) -> list[str]:
    module = ast.parse((repository / DECLARATION_LIST).read_text())
    (listing,) = (node for node in module.body if isinstance(node, ast.Assign) and node.targets[0].id == "DECLARED")
    return [element.value for element in listing.value.elts]


def test_the_declaration_list_gains_one_line(repository):
    before, names = (repository / DECLARATION_LIST).read_text().splitlines(), declared_names(repository)
    scaffold(repository, NAME)
    after = (repository / DECLARATION_LIST).read_text().splitlines()
    assert names[:5] == ["credit_risk", "anomaly", "intent", "spending", "ner"]
    assert declared_names(repository) == [*names, NAME]
    assert [line for line in after if line not in before] == [f'    "{NAME}",']


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Churn", "use snake_case"),
        ("churn-predictor", "use snake_case"),
        ("churn__predictor", "use snake_case"),
        ("9lives", "use snake_case"),
        ("x" * 41, "use snake_case"),
        ("anomaly_detector", "already a model, image directory or DAG here"),
        ("credit_risk", "already a model, image directory or DAG here"),
        ("drift", "already a model, image directory or DAG here"),
    ],
)
def test_a_name_that_cannot_be_used_is_refused_before_anything_is_written(repository, name, message):
    before = sorted(repository.rglob("*"))
    with pytest.raises(ScaffoldError, match=message):
        scaffold(repository, name)
    assert sorted(repository.rglob("*")) == before


def test_the_command_says_what_it_wrote_and_refuses_in_one_line(repository):
    made = subprocess.run([PLATFORM, "new-model", NAME, "--root", repository], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert f"  dags/{NAME}_training.py" in made.stdout.splitlines()
    refused = subprocess.run([PLATFORM, "new-model", "Fraud", "--root", repository], capture_output=True, text=True)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "nivesh-platform: error: NAME='Fraud': use snake_case (a-z, 0-9, single underscores), 40 at most"
    ]
