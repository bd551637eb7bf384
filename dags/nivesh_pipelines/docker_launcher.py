"""Launcher `docker`: run the pod's base container on the local Docker engine, as the kubelet would.

Same image, command, arguments and environment as the pod spec; the pod's user, read-only root
filesystem, dropped capabilities and labels; the XCom dir mounted at /airflow/xcom; each emptyDir
volume a tmpfs; the data claim replaced by a host directory (NIVESH_DOCKER_DATA_DIR), and the prediction logs'
claim, which a rollout's evaluation mounts, by another (NIVESH_DOCKER_PREDICTIONS_DIR). Host networking, so a
tracking URI on 127.0.0.1 (an MLflow server beside Airflow) is reached as it is from the host.
Added for lineage: NIVESH_LAUNCHER=docker and the image's id as the engine reports it (NIVESH_IMAGE_DIGEST).
"""

import json
import logging
import os
import shlex
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from kubernetes.client import models as k8s

from nivesh_contract.deployment import (
    IMAGE_DIGEST_VARIABLE,
    LAUNCHER_VARIABLE,
    RESULT_FILE,
    XCOM_DIR,
    XCOM_DIR_VARIABLE,
)
from nivesh_pipelines.local_launcher import base_container, pod_environment
from nivesh_pipelines.pod_spec import DATA_CLAIM, GPU_RESOURCE, PREDICTIONS_CLAIM

DOCKER_SETTING = "NIVESH_DOCKER"  # the docker client to run (default: `docker` on PATH)
DATA_DIR_SETTING = "NIVESH_DOCKER_DATA_DIR"  # host directory that stands in for the data claim
PREDICTIONS_DIR_SETTING = "NIVESH_DOCKER_PREDICTIONS_DIR"  # ... and for the prediction logs' claim
CLAIM_SETTINGS = {DATA_CLAIM: DATA_DIR_SETTING, PREDICTIONS_CLAIM: PREDICTIONS_DIR_SETTING}


def docker_run_command(
    pod: k8s.V1Pod,
    xcom_dir: str,
    claim_dirs: dict[str, str],
    docker: str = "docker",
    image_digest: str | None = None,
) -> list[str]:
    """`docker run ...` for the pod's base container; `claim_dirs`: the host directory standing in for each
    claim (claim_dirs_from()); `image_digest` (image_digest()) passed on to the step."""
    container = base_container(pod)
    security = container.security_context or k8s.V1SecurityContext()
    pod_security = pod.spec.security_context or k8s.V1PodSecurityContext()
    user = security.run_as_user or pod_security.run_as_user
    group = security.run_as_group or pod_security.run_as_group
    command = [docker, "run", "--rm", "--name", f"{pod.metadata.name}-{uuid.uuid4().hex[:6]}", "--network", "host"]
    if user is not None:
        command += ["--user", f"{user}:{group}" if group is not None else str(user)]
    if security.read_only_root_filesystem:
        command.append("--read-only")
    if security.allow_privilege_escalation is False:
        command += ["--security-opt", "no-new-privileges"]
    for capability in (security.capabilities.drop if security.capabilities else None) or []:
        command += ["--cap-drop", capability]
    for name, value in sorted((pod.metadata.labels or {}).items()):
        command += ["--label", f"{name}={value}"]
    command += _mounts(pod, container, xcom_dir, claim_dirs)
    if GPU_RESOURCE in ((container.resources.limits if container.resources else None) or {}):
        command += ["--gpus", str(container.resources.limits[GPU_RESOURCE])]
    for name, value in pod_environment(container).items():
        command += ["--env", f"{name}={value}"]
    command += ["--env", f"{XCOM_DIR_VARIABLE}={XCOM_DIR}", "--env", f"{LAUNCHER_VARIABLE}=docker"]
    if image_digest:
        command += ["--env", f"{IMAGE_DIGEST_VARIABLE}={image_digest}"]
    if container.command:
        command += ["--entrypoint", container.command[0]]
    return [*command, container.image, *(container.command or [])[1:], *(container.args or [])]


def _mounts(pod: k8s.V1Pod, container: k8s.V1Container, xcom_dir: str, claim_dirs: dict[str, str]) -> list[str]:
    volumes = {volume.name: volume for volume in pod.spec.volumes or []}
    mounts = ["--volume", f"{xcom_dir}:{XCOM_DIR}"]
    for mount in container.volume_mounts or []:
        volume = volumes[mount.name]
        if mount.mount_path == XCOM_DIR:  # the operator's XCom emptyDir: the host dir above stands in
            continue
        if volume.empty_dir is not None:
            mounts += ["--tmpfs", f"{mount.mount_path}:exec,mode=1777"]
        elif volume.persistent_volume_claim is not None:
            claim = volume.persistent_volume_claim.claim_name
            if not claim_dirs.get(claim):
                setting = CLAIM_SETTINGS.get(claim, DATA_DIR_SETTING)
                raise ValueError(
                    f"launcher docker: pod {pod.metadata.name} mounts claim {claim} at {mount.mount_path}: "
                    f"set {setting} to the host directory that holds its data"
                )
            mode = ":ro" if mount.read_only else ""
            mounts += ["--volume", f"{Path(claim_dirs[claim]).resolve()}:{mount.mount_path}{mode}"]
    return mounts


def claim_dirs_from(environment: dict[str, str]) -> dict[str, str]:
    """Each claim's host directory, from NIVESH_DOCKER_DATA_DIR and NIVESH_DOCKER_PREDICTIONS_DIR where set."""
    return {claim: environment[setting] for claim, setting in CLAIM_SETTINGS.items() if environment.get(setting)}


def image_digest(image: str, docker: str = "docker") -> str | None:
    """The local image's id (`sha256:...`): the digest of its config, content-addressed, so the same id is the same
    image (a locally built image has no registry digest). None where the engine does not have the image."""
    try:
        inspected = subprocess.run(
            [docker, "image", "inspect", "--format", "{{.Id}}", image], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return None
    digest = inspected.stdout.strip()
    return digest if inspected.returncode == 0 and digest.startswith("sha256:") else None


def run_pod_in_docker(pod: k8s.V1Pod, log: logging.Logger) -> tuple[int, dict | None]:
    """Run the pod's base container on the local engine: its exit code and XCom result (return.json)."""
    docker = os.environ.get(DOCKER_SETTING, "docker")
    image = base_container(pod).image
    digest = image_digest(image, docker)
    if digest is None:
        log.warning("launcher docker: the engine has no image %s; its runs go without %s", image, IMAGE_DIGEST_VARIABLE)
    with tempfile.TemporaryDirectory(prefix=f"{pod.metadata.name}-xcom-") as xcom_dir:
        os.chmod(xcom_dir, 0o777)  # written by the container's own (non-root) user
        command = docker_run_command(pod, xcom_dir, claim_dirs_from(dict(os.environ)), docker, digest)
        log.info("launcher docker: pod %s: %s", pod.metadata.name, shlex.join(command))
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in process.stdout:
            log.info("%s", line.rstrip())
        exit_code = process.wait()
        elapsed = time.perf_counter() - started
        log.info("launcher docker: %s exited %d after %.2fs", pod.metadata.name, exit_code, elapsed)
        result_file = Path(xcom_dir) / RESULT_FILE
        result = json.loads(result_file.read_text()) if result_file.exists() else None
    return exit_code, result
