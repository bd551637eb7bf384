"""Small functions: none in the step images' packages or the DAGs runs longer than a screen (60 lines)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 60
SOURCES = sorted([*ROOT.glob("images/*/src/**/*.py"), *ROOT.glob("dags/**/*.py")])


def long_functions(path: Path) -> list[str]:
    functions = (
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    )
    lengths = ((function.name, function.end_lineno - function.lineno + 1) for function in functions)
    return [f"{name} ({lines} lines)" for name, lines in lengths if lines > MAX_LINES]


def test_no_function_is_longer_than_a_screen():
    assert len(SOURCES) > 50
    found = {str(path.relative_to(ROOT)): long for path in SOURCES if (long := long_functions(path))}
    assert found == {}


def test_the_check_sees_a_long_function(tmp_path):
    long = tmp_path / "long.py"
    long.write_text("def f():\n" + "    x = 1\n" * MAX_LINES)
    assert long_functions(long) == [f"f ({MAX_LINES + 1} lines)"]
