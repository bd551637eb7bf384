"""The scaffold on its own, fast: what it writes from the template and how it lists the declaration.

`tests/e2e/test_new_model.py` runs it as a maintainer does, then the whole fast suite on the result.
"""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nivesh_contract.declaration_file import load_declaration
from nivesh_platform.new_model import DECLARATION_LIST, ScaffoldError, scaffold

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = str(Path(sys.executable).parent / "nivesh-platform")


@pytest.fixture
def repository(tmp_path):
    """The files the scaffold reads: the ruff settings, the pins and the declaration list."""
    for path in ("pyproject.toml", "constraints.txt", DECLARATION_LIST):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, tmp_path / path)
    return tmp_path


def test_every_template_is_filled_in_and_the_code_is_clean(repository):
    written = scaffold(repository, "churn_predictor")
    assert repository / "images/churn_predictor/src/nivesh_churn_predictor/cli.py" in written
    for path in written:
        assert "{{" not in path.read_text() and "MODEL" not in str(path.relative_to(repository)), path
        if path.suffix == ".py":
            compile(path.read_text(), str(path), "exec")
    declaration = load_declaration(repository / "images/contract/src/nivesh_contract/models/churn_predictor.toml")
    assert (declaration.name, declaration.image.ref) == ("churn_predictor", "nivesh/churn-predictor:0.1.0")
    pinned = (repository / "images/churn_predictor/pyproject.toml").read_text()
    assert '"scikit-learn==1.9.1"' in pinned and 'nivesh-churn-predictor = "nivesh_churn_predictor.cli:main"' in pinned
    linted = subprocess.run([Path(sys.executable).parent / "ruff", "check", "."], cwd=repository, capture_output=True)
    assert linted.returncode == 0, linted.stdout.decode()


def declared_names(repository: Path) -> list[str]:
    module = ast.parse((repository / DECLARATION_LIST).read_text())
    (listing,) = (node for node in module.body if isinstance(node, ast.Assign) and node.targets[0].id == "DECLARED")
    return [element.value for element in listing.value.elts]


def test_the_declaration_list_gains_one_line(repository):
    before = (repository / DECLARATION_LIST).read_text().splitlines()
    scaffold(repository, "churn_predictor")
    after = (repository / DECLARATION_LIST).read_text().splitlines()
    assert declared_names(repository) == ["credit_risk", "anomaly", "intent", "spending", "ner", "churn_predictor"]
    assert [line for line in after if line not in before] == ['    "churn_predictor",']


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
    made = subprocess.run([PLATFORM, "new-model", "fraud_score", "--root", repository], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert "  dags/fraud_score_training.py" in made.stdout.splitlines()
    refused = subprocess.run([PLATFORM, "new-model", "Fraud", "--root", repository], capture_output=True, text=True)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "nivesh-platform: error: NAME='Fraud': use snake_case (a-z, 0-9, single underscores), 40 at most"
    ]
