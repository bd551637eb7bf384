"""What `make deploy`, `make trigger` and `make smoke` would run, read from `make -n` (no cluster here)."""

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from charts import CHARTS, chart_values

from nivesh_platform.charts import NAMESPACE_MANIFESTS, RELEASES

AIRFLOW = chart_values("airflow")["airflow"]
RUN_BY_DEPLOY = ("helm", "kubectl", "nivesh-platform")
PLATFORM = str(Path(sys.executable).parent / "nivesh-platform")


def planned(target: str, *variables: str) -> list[list[str]]:
    """The helm, kubectl and nivesh-platform commands `make -n target` prints, split into words."""
    completed = subprocess.run(
        [shutil.which("make"), "-n", "--no-print-directory", "--old-file=.venv/.installed", target, *variables],
        cwd=CHARTS.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    commands = completed.stdout.replace("\\\n", " ").splitlines()
    return [shlex.split(line) for line in commands if line.split(" ")[0].endswith(RUN_BY_DEPLOY)]


def helm_installs(commands: list[list[str]]) -> list[list[str]]:
    return [words for words in commands if words[:1] == ["helm"] and "upgrade" in words]


def option(words: list[str], name: str) -> str:
    return words[words.index(name) + 1]


@pytest.fixture(scope="module")
def deploy() -> list[list[str]]:
    return planned("deploy")


def test_deploy_installs_each_release_into_its_namespace_in_order(deploy):
    installs = helm_installs(deploy)
    assert [
        (option(words, "--install"), words[words.index("--install") + 2], option(words, "--namespace"))
        for words in installs
    ] == [(release.name, f"charts/{release.chart}", release.namespace) for release in RELEASES]


def test_deploy_checks_first_and_applies_each_namespace_before_its_release(deploy):
    assert deploy[0][-2:] == ["deploy-check", "--require-official-chart"]
    for manifest in NAMESPACE_MANIFESTS:
        namespace = yaml.safe_load((CHARTS.parent / manifest).read_text())["metadata"]["name"]
        applied = next(i for i, words in enumerate(deploy) if "apply" in words and manifest in words)
        install = next(i for i, words in enumerate(deploy) if "upgrade" in words and namespace in words)
        assert applied < install, manifest
        assert "--create-namespace" not in deploy[install], "the namespace is applied, not the release's"


def test_keys_and_logins_are_made_before_the_releases_reading_them_and_the_training_pool_sized_after(deploy):
    made = next(i for i, words in enumerate(deploy) if words[1:3] == ["cluster", "secrets"])
    monitoring = next(i for i, words in enumerate(deploy) if "charts/monitoring" in words and "upgrade" in words)
    airflow = next(i for i, words in enumerate(deploy) if "charts/airflow" in words)
    sized = next(i for i, words in enumerate(deploy) if words[1:3] == ["cluster", "pool"])
    assert made < monitoring < airflow < sized


def test_no_release_waits_on_jobs_its_own_hooks_would_run_after_the_wait(deploy):
    """With --wait, Helm runs post-install hooks only once the pods are ready; Airflow's pods wait for migrations."""
    (airflow,) = [words for words in helm_installs(deploy) if "charts/airflow" in words]
    assert "--wait" in airflow
    for job in ("migrateDatabaseJob", "createUserJob"):
        assert AIRFLOW[job]["useHelmHooks"] is False, job
        assert AIRFLOW[job]["applyCustomEnv"] is False, job


def test_the_airflow_jobs_outlive_the_wait_that_waits_for_them(deploy):
    """`--wait-for-jobs` fails on a Job its TTL deleted while Helm still waited (the chart's default is 300 s)."""
    (airflow,) = [words for words in helm_installs(deploy) if "charts/airflow" in words]
    timeout = option(airflow, "--timeout")
    assert "--wait-for-jobs" in airflow and timeout.endswith("m")
    for job in ("migrateDatabaseJob", "createUserJob"):
        assert AIRFLOW[job]["ttlSecondsAfterFinished"] >= 2 * 60 * int(timeout[:-1]), job


def test_a_second_deploy_runs_the_airflow_jobs_again(deploy):
    """Finished Jobs from a deploy within their TTL are deleted before the upgrade, so that Helm makes and runs them
    anew (patched, they would not run: a newer Airflow on an unmigrated database; a new image: immutable template)."""
    airflow = next(i for i, words in enumerate(deploy) if "charts/airflow" in words and "upgrade" in words)
    deleted = [i for i, words in enumerate(deploy) if words[0] == "kubectl" and "delete" in words and "job" in words]
    assert deleted and deleted[-1] == airflow - 1
    words = deploy[deleted[-1]]
    assert option(words, "--namespace") == "nivesh-airflow" and "--ignore-not-found" in words
    # the labels the chart's two Job templates give their Jobs (charts/airflow/charts/airflow-*.tgz, templates/jobs)
    assert option(words, "--selector") == "release=airflow,component in (run-airflow-migrations,create-user-job)"


@pytest.mark.parametrize(("target", "variables"), [("trigger", ["DAG=master_training_pipeline"]), ("smoke", [])])
def test_trigger_and_smoke_go_through_the_rest_api_not_a_guessed_object_kind(target, variables):
    commands = planned(target, *variables)
    words = [word for command in commands for word in command]
    assert not [word for word in words if word.startswith(("deploy/", "statefulset/", "sts/"))]
    assert ["cluster", target] == commands[-1][1:3]


def test_make_trigger_passes_the_conf_as_one_argument():
    (command,) = planned("trigger", "DAG=credit_risk_training", 'CONF={"force": true}')[-1:]
    assert option(command, "--conf") == '{"force": true}'


# A Docker whose `save --help` lists --platform (28 and later) or not; `save` writes the archive it is given.
FAKE_DOCKER = """#!/bin/sh
echo "docker $*" >> "$CALLS"
if [ "$1 $2" = "image inspect" ]; then echo linux/arm64/v8; exit 0; fi
if [ "$1 $2" = "save --help" ]; then echo "$SAVE_HELP"; exit 0; fi
if [ "$1" = save ]; then
  while [ "$1" != --output ]; do shift; done
  echo "layers of $3" > "$2"
fi
"""
FAKE_KIND = """#!/bin/sh
echo "kind $* ($(cat "$5" 2>/dev/null || echo no archive))" >> "$CALLS"
"""
SAVE_HELPS = {
    "Docker 29": "  -o, --output string     Write to a file\n      --platform strings  Save only the given platform(s)",
    "Docker 20.10": "  -o, --output string   Write to a file, instead of STDOUT",
}


@pytest.mark.parametrize("docker", SAVE_HELPS)
def test_kind_load_goes_through_an_archive_of_the_host_s_platform_that_the_containerd_image_store_can_load(
    tmp_path, docker
):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in (("docker", FAKE_DOCKER), ("kind", FAKE_KIND)):
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / "calls"
    environment = os.environ | {"PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls)}
    environment["SAVE_HELP"] = SAVE_HELPS[docker]
    state = tmp_path / "state"
    command = ["make", "--no-print-directory", "--old-file=.venv/.installed", "kind-load", f"STATE_DIR={state}"]
    command.append(f"BIN={Path(PLATFORM).parent}")  # this environment's (a copy of the repository has no .venv)
    completed = subprocess.run(command, cwd=CHARTS.parent, env=environment, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    called = calls.read_text().splitlines()
    loads = [line for line in called if line.startswith("kind ")]
    images = subprocess.run([PLATFORM, "images"], capture_output=True, text=True, check=True).stdout.split()
    archive = state / "kind-load.tar"
    assert loads == [f"kind load image-archive --name nivesh {archive} (layers of {image})" for image in images]
    saves = [line for line in called if line.startswith("docker save --") and "--help" not in line]
    only_ours = "--platform linux/arm64/v8 " if docker == "Docker 29" else ""
    assert saves == [f"docker save {only_ours}--output {archive} {image}" for image in images]
    assert not archive.exists(), "each archive is deleted once loaded"
