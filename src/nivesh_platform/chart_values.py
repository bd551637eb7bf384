"""Our values for a dependency chart, checked against that chart's own `values.schema.json`.

The official Airflow chart is fetched by `helm repo add airflow https://airflow.apache.org && helm dependency
build charts/airflow` (no chart repository is reachable on the build machines); `make deploy` runs this check
before installing anything.
"""

from pathlib import Path

import yaml


class ChartValuesError(Exception):
    """The dependency is missing, is not the pinned version, or our values break its schema."""


def pinned_dependency(wrapper_dir: Path) -> dict:
    """The single dependency the wrapper chart's Chart.yaml pins (name, version, repository)."""
    dependencies = yaml.safe_load((wrapper_dir / "Chart.yaml").read_text()).get("dependencies") or []
    if len(dependencies) != 1:
        raise ChartValuesError(f"{wrapper_dir / 'Chart.yaml'}: expected exactly one dependency")
    return dependencies[0]


def fetch_command(wrapper_dir: Path) -> str:
    """What fetches the dependency with the Helm CLI: it builds dependencies only from repositories it knows."""
    dependency = pinned_dependency(wrapper_dir)
    return f"helm repo add {dependency['name']} {dependency['repository']} && helm dependency build {wrapper_dir}"


def check_dependency_values(wrapper_dir: Path) -> str:
    """Validate `values.yaml`'s section for the dependency against the fetched chart's schema; returns it."""
    import helm_python

    dependency = pinned_dependency(wrapper_dir)
    archive = wrapper_dir / "charts" / f"{dependency['name']}-{dependency['version']}.tgz"
    if not archive.exists():
        raise ChartValuesError(f"{archive}: not fetched; run `{fetch_command(wrapper_dir)}`")
    chart = helm_python.Chart.load_archive(archive.read_bytes())
    if chart.schema is None:
        raise ChartValuesError(f"{archive}: the chart has no values.schema.json to check against")
    values = yaml.safe_load((wrapper_dir / "values.yaml").read_text()) or {}
    try:
        chart.validate_schema(values.get(dependency["name"], {}))
    except helm_python.HelmValuesError as error:
        raise ChartValuesError(f"{wrapper_dir / 'values.yaml'}: {' '.join(str(error).split())}") from None
    return f"{chart.name} {chart.version}"
