"""Where a step's code came from, as tags on every MLflow run it opens, and the way back to its Airflow run.

The image ref (every pod), the image's content digest (launcher docker only: on Kubernetes the kubelet resolves
it after the pod's environment is fixed), the launcher outside the cluster (local: no image ran), the source
revision (baked into the image by `make images`; else the checkout's, computed the same way), and the step's
package and version. Read from the environment inside the command, never at import time.
"""

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from nivesh_contract.catalog import STEP_IMAGES
from nivesh_contract.deployment import (
    AIRFLOW_BASE_URL_VARIABLE,
    IMAGE_DIGEST_VARIABLE,
    IMAGE_VARIABLE,
    LAUNCHER_VARIABLE,
    SOURCE_REVISION_VARIABLE,
)
from nivesh_contract.names import IMAGE_DIGEST_TAG, IMAGE_TAG, LAUNCHER_TAG, PACKAGE_TAG, SOURCE_REVISION_TAG

UNKNOWN = "unknown"
GIT_TIMEOUT_S = 10
FROM_THE_ENVIRONMENT = {
    IMAGE_TAG: IMAGE_VARIABLE,
    IMAGE_DIGEST_TAG: IMAGE_DIGEST_VARIABLE,
    LAUNCHER_TAG: LAUNCHER_VARIABLE,
}


def lineage_tags() -> dict[str, str]:
    """`nivesh.source_revision` always; `nivesh.package` when this process is a step's console script; the image,
    its digest and the launcher where the environment says them."""
    package = step_package()
    tags = {SOURCE_REVISION_TAG: source_revision(package[1] if package else Path(__file__).parent)}
    if package:
        tags[PACKAGE_TAG] = package[0]
    return tags | {
        tag: os.environ[variable] for tag, variable in FROM_THE_ENVIRONMENT.items() if os.environ.get(variable)
    }


def step_package() -> tuple[str, Path] | None:
    """("nivesh-credit-risk 0.1.0", its package's source dir) where this process is a step image's console script
    (the image's ENTRYPOINT, or the same script run by launcher local); None for anything else (a test, `python -c`)."""
    script = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    if script not in {image.console_script for image in STEP_IMAGES}:
        return None
    for entry_point in importlib.metadata.entry_points(group="console_scripts", name=script):
        spec = importlib.util.find_spec(entry_point.module.partition(".")[0])
        if entry_point.dist is None or spec is None or spec.origin is None:
            continue
        return f"{entry_point.dist.name} {entry_point.dist.version}", Path(spec.origin).parent
    return None


def source_revision(source_dir: Path) -> str:
    """The revision baked into the image (NIVESH_SOURCE_REVISION); else, as `make images` computes it, the git
    revision of the checkout `source_dir` is tracked in (12 hex digits, `-dirty` with uncommitted changes); else
    "unknown" (no git, no repository, or code installed by copy rather than run from the checkout)."""
    if baked := os.environ.get(SOURCE_REVISION_VARIABLE, "").strip():
        return baked
    try:
        # Tracked files under source_dir: code copied into a virtual environment inside the checkout is not the
        # checkout's, whatever its revision.
        _git(source_dir, "ls-files", "--error-unmatch", "--", ".")
        head = _git(source_dir, "rev-parse", "--short=12", "HEAD").strip()
        dirty = _git(source_dir, "status", "--porcelain").strip()
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    return f"{head}-dirty" if dirty else head


def _git(directory: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(directory), *arguments], capture_output=True, text=True, check=True, timeout=GIT_TIMEOUT_S
    ).stdout


def airflow_run_url(dag_id: str, run_id: str) -> str | None:
    """The Airflow 3 UI's page of a DAG run (`<base>/dags/<dag_id>/runs/<run_id>`, the run id URL-quoted: it holds
    `:` and `+`); None when the deployment did not say where Airflow is (NIVESH_AIRFLOW_BASE_URL)."""
    base = os.environ.get(AIRFLOW_BASE_URL_VARIABLE, "").strip().rstrip("/")
    if not (base and dag_id and run_id):
        return None
    return f"{base}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
