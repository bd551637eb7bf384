import subprocess
import sys

import pytest

from nivesh_common.logs import redacted


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("MLflow at http://alice:s3cret@127.0.0.1:5000/api failed", "MLflow at http://***@127.0.0.1:5000/api failed"),
        ("http://alice:t@XYZ@127.0.0.1:1 refused", "http://***@127.0.0.1:1 refused"),  # @ in the password
        ("s3://key:se@cr@et@bucket/data.csv and https://u:p@host", "s3://***@bucket/data.csv and https://***@host"),
        ("http://127.0.0.1:5000/users/@me?x=a@b", "http://127.0.0.1:5000/users/@me?x=a@b"),  # @ after the authority
        ("no url here: alice@example.com", "no url here: alice@example.com"),
    ],
    ids=["user and password", "@ in the password", "several URLs", "@ in the path and query", "an e-mail address"],
)
def test_user_info_of_every_url_is_hidden_up_to_the_authoritys_last_at(text, shown):
    assert redacted(text) == shown


def test_mlflow_imported_inside_a_command_logs_warnings_only():
    """MLflow sets its loggers' level when imported, which a step does after configuring its log (lazily, in the
    command): its INFO lines (database migrations, system metrics) must not come back then."""
    probe = (
        "import logging; from nivesh_common.logs import configure_logging; configure_logging(); import mlflow; "
        "print(logging.getLevelName(logging.getLogger('mlflow').getEffectiveLevel()))"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env={}, check=True)
    assert completed.stdout.split() == ["WARNING"]
