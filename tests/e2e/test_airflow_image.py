"""The Airflow image the cluster runs (`make airflow-image`), where it could be built: it needs the official
apache/airflow image, which the build machines cannot pull (CI skips this, saying so)."""

import subprocess

import pytest

from docker_engine import DOCKER, missing_images

AIRFLOW_IMAGE = "nivesh/airflow:0.1.0"
pytestmark = pytest.mark.slow


def in_the_image(*command: str) -> subprocess.CompletedProcess:
    run = [DOCKER, "run", "--rm", "--entrypoint", command[0], AIRFLOW_IMAGE, *command[1:]]
    return subprocess.run(run, capture_output=True, text=True, timeout=300)


def test_the_api_server_s_auth_manager_loads_and_the_packages_agree():
    if missing := missing_images([AIRFLOW_IMAGE]):
        pytest.skip(f"{missing}: make airflow-image needs the official apache/airflow image")
    loaded = in_the_image(
        "python",
        "-c",
        "from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager; "
        "import nivesh_contract.catalog",
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    checked = in_the_image("pip", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
