"""The Docker engine and step images the container tests need: skipped where absent, failed where required.

`.ci/run` starts an engine and builds the images, then sets NIVESH_REQUIRE_DOCKER=1, so a broken engine or a
missing image fails CI instead of skipping its tests.
"""

import os
import shutil
import subprocess

import pytest

DOCKER = os.environ.get("NIVESH_DOCKER", "docker")


def missing_images(images: list[str]) -> str | None:
    """Why `images` cannot run here (no client, no engine, an image not built), or None."""
    if shutil.which(DOCKER) is None:
        return f"no docker client ({DOCKER})"
    if subprocess.run([DOCKER, "info"], capture_output=True).returncode != 0:
        return "no Docker engine running"
    for image in images:
        if subprocess.run([DOCKER, "image", "inspect", image], capture_output=True).returncode != 0:
            return f"image {image} not built (make images)"
    return None


def require_images(images: list[str]) -> None:
    missing = missing_images(images)
    if missing and os.environ.get("NIVESH_REQUIRE_DOCKER") == "1":
        pytest.fail(f"NIVESH_REQUIRE_DOCKER=1 but {missing}")
    if missing:
        pytest.skip(missing)
