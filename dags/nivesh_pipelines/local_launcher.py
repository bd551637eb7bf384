"""Launcher `local`: run the pod's base container as a local process, exactly as the pod would.

Same command, arguments and environment as the pod spec, with a temporary XCom dir in place of
/airflow/xcom. Only the host's PATH, HOME, locale and temp dir are added, so the console scripts
installed beside Airflow are found, and NIVESH_LAUNCHER=local, so the step's MLflow runs say that
they ran outside the image their NIVESH_IMAGE names.
"""

import json
import logging
import os
import shlex
import subprocess
import tempfile
import time
from pathlib import Path

from kubernetes.client import models as k8s

from nivesh_contract.deployment import LAUNCHER_VARIABLE, RESULT_FILE, XCOM_DIR_VARIABLE

HOST_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
BASE_CONTAINER = "base"


def base_container(pod: k8s.V1Pod) -> k8s.V1Container:
    return next(container for container in pod.spec.containers if container.name == BASE_CONTAINER)


def pod_environment(container: k8s.V1Container) -> dict[str, str]:
    unresolvable = [var.name for var in container.env or [] if var.value_from is not None]
    if unresolvable or container.env_from:
        raise ValueError(f"launcher local cannot resolve env from Secrets or ConfigMaps: {unresolvable or 'envFrom'}")
    return {var.name: var.value or "" for var in container.env or []}


def run_pod_locally(pod: k8s.V1Pod, log: logging.Logger) -> tuple[int, dict | None]:
    """Run the pod's base container command: its exit code and XCom result (return.json, as the sidecar reads it)."""
    container = base_container(pod)
    command = [*(container.command or []), *(container.args or [])]
    with tempfile.TemporaryDirectory(prefix=f"{pod.metadata.name}-xcom-") as xcom_dir:
        environment = {name: os.environ[name] for name in HOST_VARIABLES if name in os.environ}
        environment |= pod_environment(container) | {XCOM_DIR_VARIABLE: xcom_dir, LAUNCHER_VARIABLE: "local"}
        log.info("launcher local: pod %s: %s", pod.metadata.name, shlex.join(command))
        process = subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        started = time.perf_counter()
        for line in process.stdout:
            log.info("%s", line.rstrip())
        exit_code = process.wait()
        log.info("launcher local: %s exited %d after %.2fs", command[0], exit_code, time.perf_counter() - started)
        result_file = Path(xcom_dir) / RESULT_FILE
        result = json.loads(result_file.read_text()) if result_file.exists() else None
    return exit_code, result
