"""`make serve MODEL=...` refusals: one line, exit 2, nothing started."""

import subprocess
import sys
from pathlib import Path

import pytest

PLATFORM = str(Path(sys.executable).parent / "nivesh-platform")


@pytest.mark.parametrize(
    ("model", "said"),
    [("credit_risk_scorer", "no production version of credit_risk_scorer"), ("churn", "churn")],
)
def test_serve_refuses_what_it_cannot_serve(tmp_path, model, said):
    state = tmp_path / "state"
    (state / "mlflow").mkdir(parents=True)
    completed = subprocess.run(
        [PLATFORM, "serve", model, "--state-dir", str(state)], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 2
    line = completed.stderr.strip().splitlines()[-1]
    assert line.startswith("nivesh-platform: error:") and said in line
    assert "Traceback" not in completed.stderr
