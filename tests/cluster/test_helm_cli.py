"""Our charts through the real Helm CLI, the one `make deploy` runs (Helm 4.1, from tests/cluster/extract_clis.py,
which `make test` runs), beside the Helm SDK the other chart tests render with."""

import shutil
import subprocess
import sys
from pathlib import Path

import helm_python
import pytest
import yaml
from charts import CHARTS, render

from nivesh_platform.chart_values import ChartValuesError, check_dependency_values, pinned_dependencies
from nivesh_platform.charts import RELEASES

HELM = Path(sys.prefix) / "cluster-clis" / "helm"
OURS = [release for release in RELEASES if release.chart != "airflow"]
pytestmark = pytest.mark.skipif(not HELM.exists(), reason=f"no real Helm CLI at {HELM}: make test extracts it")


def with_stand_ins(release, tmp_path: Path) -> Path:
    """The release's chart; a wrapper's in a copy, its official charts stood in for by empty ones of the pinned
    name and version (they cannot be fetched here), so the CLI checks our own templates."""
    pinned = pinned_dependencies(CHARTS / release.chart)
    if not pinned:
        return CHARTS / release.chart
    chart = tmp_path / release.chart
    shutil.copytree(CHARTS / release.chart, chart, ignore=shutil.ignore_patterns("charts"))
    for dependency in pinned:
        stand_in = tmp_path / "stand-ins" / dependency["name"]
        stand_in.mkdir(parents=True)
        (stand_in / "Chart.yaml").write_text(
            f"apiVersion: v2\nname: {dependency['name']}\nversion: {dependency['version']}\n"
        )
        helm_python.package(stand_in, destination=chart / "charts")
    return chart


def helm(*args: str, home: Path) -> subprocess.CompletedProcess:
    """The Helm CLI with its configuration, cache and data under `home` (no user's repositories)."""
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    return subprocess.run([HELM, *map(str, args)], env=environment, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("release", OURS, ids=[release.name for release in OURS])
def test_each_chart_passes_helm_lint_strict(release, tmp_path):
    chart = with_stand_ins(release, tmp_path)
    linted = helm("lint", "--strict", chart, "--namespace", release.namespace, home=tmp_path)
    assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize("release", OURS, ids=[release.name for release in OURS])
def test_the_cli_renders_the_objects_the_sdk_renders(release, tmp_path):
    """`helm template` with the values `make deploy` installs (the chart's own) against the SDK's render."""
    chart = with_stand_ins(release, tmp_path)
    rendered = helm("template", release.name, chart, "--namespace", release.namespace, home=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    by_cli = {(doc["kind"], doc["metadata"]["name"]) for doc in yaml.safe_load_all(rendered.stdout) if doc}
    by_sdk = {
        (doc["kind"], doc["metadata"]["name"])
        for doc in render(release.chart, name=release.name, namespace=release.namespace)
    }
    assert by_cli == by_sdk and len(by_cli) > 3


def test_the_fetch_we_advise_is_what_the_real_helm_needs(tmp_path):
    wrapper = tmp_path / "airflow"
    wrapper.mkdir()
    for name in ("Chart.yaml", "Chart.lock", "values.yaml"):
        (wrapper / name).write_text((CHARTS / "airflow" / name).read_text())
    repository = pinned_dependencies(wrapper)[0]["repository"]
    bare = helm("dependency", "build", wrapper, home=tmp_path)
    assert bare.returncode != 0 and f"no repository definition for {repository}" in bare.stderr
    with pytest.raises(ChartValuesError) as advised:
        check_dependency_values(wrapper)
    assert f"helm repo add airflow {repository} && helm dependency build {wrapper}" in str(advised.value)
    # What `helm repo add` records (it also downloads the index, which needs the network): the refusal is gone,
    # and what is left is the fetch itself.
    repositories = tmp_path / ".config" / "helm" / "repositories.yaml"
    repositories.parent.mkdir(parents=True)
    repositories.write_text(
        yaml.safe_dump({"apiVersion": "", "repositories": [{"name": "airflow", "url": repository}]})
    )
    known = helm("dependency", "build", wrapper, home=tmp_path)
    assert "no repository definition" not in known.stderr, known.stderr
