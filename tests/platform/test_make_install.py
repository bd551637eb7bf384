"""`make install` (what `make run` and `make test` start with) and the Python it is given."""

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Stand-ins for interpreters: answer the version question, and fail anything else (so no real install starts).
FAKE_PYTHON = """#!/bin/sh
case "$1" in
  --version) echo "Python {version}" ;;
  -c) exit {version_check} ;;
  *) exit 3 ;;
esac
"""


def fake_python(path: Path, version: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FAKE_PYTHON.format(version=version, version_check=0 if version.startswith("3.11.") else 1))
    path.chmod(0o755)
    return path


def make_install(venv: Path, python: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [shutil.which("make"), "--no-print-directory", f"VENV={venv}", f"PYTHON={python}", f"{venv}/.installed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_a_python_of_another_version_is_refused_saying_how_to_choose(tmp_path):
    completed = make_install(tmp_path / ".venv", fake_python(tmp_path / "python3.9", "3.9.18"))
    assert completed.returncode == 2
    assert "is not Python 3.11 (Python 3.9.18); choose one: PYTHON=/path/to/python3.11" in completed.stderr
    assert not (tmp_path / ".venv").exists()


def test_a_venv_left_by_another_python_is_rebuilt_not_reused(tmp_path):
    venv = tmp_path / ".venv"
    fake_python(venv / "bin" / "python", "3.9.18")  # what `PYTHON=python3.9 make run` left behind
    completed = make_install(venv, fake_python(tmp_path / "python3.11", "3.11.7"))
    assert f"make: {venv} was made by Python 3.9.18, not Python 3.11: rebuilding it" in completed.stdout
    assert not (venv / "bin" / "python").exists()  # removed; the stand-in then refused to make a new one
    assert completed.returncode != 0
