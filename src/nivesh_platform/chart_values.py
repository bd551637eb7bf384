"""Our values for the official charts a wrapper chart pins, checked against each chart's `values.schema.json`.

The official charts are fetched by `helm repo add <name> <repository> && helm dependency build charts/<wrapper>`
(no chart repository is reachable on the build machines); `make deploy` runs this check before installing
anything.
"""

from pathlib import Path

import yaml


class ChartValuesError(Exception):
    """The dependency is missing, is not the pinned version, or our values break its schema."""


def pinned_dependencies(chart_dir: Path) -> list[dict]:
    """The dependencies the chart's Chart.yaml pins (name, version, repository); none for a chart of our own."""
    return yaml.safe_load((chart_dir / "Chart.yaml").read_text()).get("dependencies") or []


def archive_path(wrapper_dir: Path, dependency: dict) -> Path:
    """Where `helm dependency build` leaves the dependency."""
    return wrapper_dir / "charts" / f"{dependency['name']}-{dependency['version']}.tgz"


def is_fetched(wrapper_dir: Path) -> bool:
    return all(archive_path(wrapper_dir, dependency).exists() for dependency in pinned_dependencies(wrapper_dir))


def fetch_command(wrapper_dir: Path) -> str:
    """What fetches the dependencies with the Helm CLI: it builds dependencies only from repositories it knows."""
    adds = [f"helm repo add {d['name']} {d['repository']}" for d in pinned_dependencies(wrapper_dir)]
    return " && ".join([*adds, f"helm dependency build {wrapper_dir}"])


def check_dependency_values(wrapper_dir: Path) -> str:
    """Validate each dependency's section of `values.yaml` against the fetched chart's schema; returns what was
    checked (a chart that ships no schema is named as such)."""
    import helm_python

    values = yaml.safe_load((wrapper_dir / "values.yaml").read_text()) or {}
    checked = []
    for dependency in pinned_dependencies(wrapper_dir):
        archive = archive_path(wrapper_dir, dependency)
        if not archive.exists():
            raise ChartValuesError(f"{archive}: not fetched; run `{fetch_command(wrapper_dir)}`")
        chart = helm_python.Chart.load_archive(archive.read_bytes())
        if chart.schema is None:
            checked.append(f"{chart.name} {chart.version} (ships no values schema)")
            continue
        try:
            chart.validate_schema(values.get(dependency["name"], {}))
        except helm_python.HelmValuesError as error:
            raise ChartValuesError(f"{wrapper_dir / 'values.yaml'}: {' '.join(str(error).split())}") from None
        checked.append(f"{chart.name} {chart.version}")
    return ", ".join(checked)
