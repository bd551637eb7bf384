"""Debian's Prometheus and Pushgateway, started by the tests on free loopback ports (`.ci/run` installs them and sets
NIVESH_REQUIRE_PROMETHEUS=1; elsewhere the tests that need them skip, saying how to install them)."""

import os
import shutil

import pytest

from nivesh_platform import prometheus as servers
from nivesh_platform.services import free_port


def _installed_or_skip() -> None:
    if missing := servers.missing_binaries():
        if os.environ.get("NIVESH_REQUIRE_PROMETHEUS") == "1":
            pytest.fail(f"NIVESH_REQUIRE_PROMETHEUS=1 but no {', '.join(missing)} ({servers.INSTALL_HINT})")
        pytest.skip(f"no {', '.join(missing)}: {servers.INSTALL_HINT}")


@pytest.fixture
def pushgateway(tmp_path) -> str:
    _installed_or_skip()
    with servers.pushgateway(free_port(), tmp_path / "pushgateway", tmp_path) as url:
        yield url


@pytest.fixture
def promtool() -> str:
    _installed_or_skip()
    return shutil.which("promtool")
