"""The staged rollout's nginx configuration, as nginx itself reads it, and what happens with no nginx."""

import shutil
import subprocess

import pytest

from nivesh_contract.rollout import Rollout
from nivesh_platform import rollout_router
from nivesh_platform.rollout_router import Backends, NoNginxError, nginx_command, nginx_config

BACKENDS = Backends("127.0.0.1:9001", "127.0.0.1:9002")


@pytest.mark.parametrize("strategy", ["canary", "shadow"])
def test_nginx_accepts_the_configuration_of_each_strategy(tmp_path, strategy):
    if not shutil.which("nginx", path=rollout_router.NGINX_SEARCH_PATH):
        pytest.skip("no nginx (apt-get install nginx-light)")
    config = tmp_path / "nginx.conf"
    config.write_text(nginx_config(Rollout(strategy=strategy, prediction="p"), BACKENDS, "127.0.0.1:9000", tmp_path))
    tested = subprocess.run([*nginx_command(config, tmp_path)[:7], "-t"], capture_output=True, text=True)
    assert tested.returncode == 0 and "test is successful" in tested.stderr, tested.stderr


def test_a_direct_rollout_has_nothing_to_split(tmp_path):
    with pytest.raises(ValueError, match="strategy direct: nothing to split"):
        nginx_config(Rollout(), BACKENDS, "127.0.0.1:9000", tmp_path)


def test_without_nginx_the_split_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(rollout_router, "NGINX_SEARCH_PATH", str(tmp_path))
    with pytest.raises(NoNginxError, match="apt-get install nginx-light"):
        nginx_command(tmp_path / "nginx.conf", tmp_path)
