"""The three Helm releases `make deploy` installs, rendered by the real Helm engine and checked without a cluster.

Rendering needs no cluster: `lookup` finds nothing, so generated passwords are new ones, as on a first install.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Release:
    name: str
    chart: str  # folder under charts/
    namespace: str


# In install order; the Makefile's deploy target installs exactly these (a test holds them equal).
RELEASES = (
    Release("mlflow", "mlflow", "nivesh-mlflow"),
    Release("nivesh-training", "nivesh-training", "nivesh-training"),
    Release("airflow", "airflow", "nivesh-airflow"),
)
# Applied before the releases: namespaces no chart owns (a `helm uninstall` must not delete them).
NAMESPACE_MANIFESTS = ("charts/nivesh-training/namespace.yaml", "charts/airflow/namespace.yaml")
KIND_CONFIG = "charts/kind/kind-config.yaml"


def release_named(name: str) -> Release:
    (release,) = [release for release in RELEASES if release.name == name]
    return release


def kind_config(root: Path) -> dict:
    return yaml.safe_load((root / KIND_CONFIG).read_text())


def kubernetes_version(root: Path) -> str:
    """The Kubernetes minor version of the kind node image, e.g. `1.34`."""
    (image,) = {node["image"] for node in kind_config(root)["nodes"]}
    return re.fullmatch(r"kindest/node:v(\d+\.\d+)\.\d+", image).group(1)


def chart_values(root: Path, chart: str) -> dict:
    return yaml.safe_load((root / "charts" / chart / "values.yaml").read_text())


def render(root: Path, release: Release, values: dict | None = None) -> list[dict]:
    """Every manifest the release's chart renders with its values.yaml (and `values` over them), parsed."""
    import helm_python

    chart = helm_python.Chart.load(root / "charts" / release.chart)
    manifests = chart.render(values, name=release.name, namespace=release.namespace)
    return [doc for text in manifests.values() for doc in yaml.safe_load_all(text) if doc]


def validate(manifest: dict, version: str) -> None:
    """Strict validation against the Kubernetes schemas of `version` (raises ValidationError)."""
    import kubernetes_validate

    kubernetes_validate.validate(manifest, version, strict=True)


def pod_specs(manifest: dict) -> list[dict]:
    """The pod spec of a Pod or of a workload's pod template (none for other kinds)."""
    if manifest["kind"] == "Pod":
        return [manifest["spec"]]
    if manifest["kind"] == "CronJob":
        return [manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    template = (manifest.get("spec") or {}).get("template")
    return [template["spec"]] if isinstance(template, dict) and "spec" in template else []


def container_images(manifests: list[dict]) -> set[str]:
    """Every image the manifests' pods run, init containers included."""
    return {
        container["image"]
        for manifest in manifests
        for spec in pod_specs(manifest)
        for container in spec.get("initContainers", []) + spec["containers"]
    }


def third_party_images(root: Path) -> set[str]:
    """What the nodes would pull for our releases and training pods: every image not ours (nivesh/*), rendered
    where possible.

    The official Airflow chart renders only once fetched; until then its PostgreSQL image is the one our
    values name (StatsD is off in them; the Airflow image is ours).
    """
    from nivesh_pipelines.pod_spec import XCOM_SIDECAR_IMAGE

    images = {XCOM_SIDECAR_IMAGE}  # every training pod's XCom sidecar
    for release in RELEASES:
        if release.chart != "airflow" or (root / "charts" / "airflow" / "charts").is_dir():
            images |= container_images(render(root, release))
    database = chart_values(root, "airflow")["airflow"]["postgresql"]["image"]
    images.add(f"{database['registry']}/{database['repository']}:{database['tag']}")
    return {image for image in images if not image.startswith("nivesh/")}
