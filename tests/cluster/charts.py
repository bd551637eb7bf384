"""Rendering our charts with the real Helm engine, and what the cluster runs (Kubernetes version, kind config)."""

import re
from pathlib import Path

import helm_python
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"
KIND_CONFIG = CHARTS / "kind" / "kind-config.yaml"


def kind_config() -> dict:
    return yaml.safe_load(KIND_CONFIG.read_text())


def kubernetes_version() -> str:
    """The Kubernetes minor version of the kind node image, e.g. `1.34`."""
    images = {node["image"] for node in kind_config()["nodes"]}
    (image,) = images
    return re.fullmatch(r"kindest/node:v(\d+\.\d+)\.\d+", image).group(1)


def chart_values(chart: str) -> dict:
    return yaml.safe_load((CHARTS / chart / "values.yaml").read_text())


def render(chart: str, values: dict | None = None, *, name: str, namespace: str) -> list[dict]:
    """Every manifest the chart renders, parsed."""
    manifests = helm_python.Chart.load(CHARTS / chart).render(values, name=name, namespace=namespace)
    return [doc for text in manifests.values() for doc in yaml.safe_load_all(text) if doc]


def validate(manifest: dict) -> None:
    """Strict validation against the Kubernetes schemas of the cluster's version (raises on error)."""
    kubernetes_validate.validate(manifest, kubernetes_version(), strict=True)


def find(manifests: list[dict], kind: str, name: str | None = None) -> dict:
    matches = [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]
    assert len(matches) == 1, f"{len(matches)} {kind} {name or ''} rendered"
    return matches[0]
