import pytest

from mlflow_server import start_mlflow_server


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` on 127.0.0.1 (SQLite store, served artifacts): what containers log to."""
    url, server = start_mlflow_server(tmp_path_factory.mktemp("mlflow-server"))
    yield url
    server.stop()
