"""The staged-rollout tests split requests with Debian's nginx: skipped without it, failed where CI requires it."""

import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def nginx():
    if shutil.which("nginx") or Path("/usr/sbin/nginx").exists():
        return
    if os.environ.get("NIVESH_REQUIRE_NGINX") == "1":
        pytest.fail("NIVESH_REQUIRE_NGINX=1 but no nginx (apt-get install nginx-light)")
    pytest.skip("no nginx (apt-get install nginx-light)")
