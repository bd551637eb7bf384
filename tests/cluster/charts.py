"""Our charts rendered by the real Helm engine, and what the cluster runs, for the tests (the repository's own)."""

from pathlib import Path

from nivesh_platform import charts
from nivesh_platform.charts import Release

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"
KIND_CONFIG = ROOT / charts.KIND_CONFIG


def kind_config() -> dict:
    return charts.kind_config(ROOT)


def kubernetes_version() -> str:
    return charts.kubernetes_version(ROOT)


def chart_values(chart: str) -> dict:
    return charts.chart_values(ROOT, chart)


def render(chart: str, values: dict | None = None, *, name: str, namespace: str) -> list[dict]:
    return charts.render(ROOT, Release(name, chart, namespace), values)


def validate(manifest: dict) -> None:
    charts.validate(manifest, kubernetes_version())


def find(manifests: list[dict], kind: str, name: str | None = None) -> dict:
    matches = [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]
    assert len(matches) == 1, f"{len(matches)} {kind} {name or ''} rendered"
    return matches[0]
