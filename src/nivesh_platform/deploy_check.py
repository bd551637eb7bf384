"""`make deploy-check`: everything `make deploy` decides, checked without a cluster.

Fetch the official charts our wrapper charts pin (Airflow's; Prometheus's and Grafana's: where their repositories
answer), check our values against their schemas, render every release, validate every manifest against the kind
cluster's Kubernetes version and every pod of our charts against Pod Security `restricted`; with the official
Airflow chart rendered, check what our Makefile and values count on it to do; then the same releases through the
Helm CLI `make deploy` runs (`helm lint --strict`, `helm template`). Says what it skipped and why.
"""

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nivesh_platform import charts
from nivesh_platform.airflow_keys import unnamed_keys
from nivesh_platform.chart_values import ChartValuesError, check_dependency_values, is_fetched, pinned_dependencies
from nivesh_platform.cluster import ALERTS_SECRET  # optional: the Slack and SMTP connections (README)
from nivesh_platform.pod_security import restricted_violations

HOOK_ANNOTATION = "helm.sh/hook"
LOGS_FOLDER = "/opt/airflow/logs"  # the official image's AIRFLOW_HOME/logs, the chart's logs mount


@dataclass
class Report:
    checked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def fetch_official_charts(wrapper: Path) -> str | None:
    """`helm dependency build` of a wrapper chart from its Chart.lock, unless fetched; None, or why they are not
    here."""
    import helm_python

    if is_fetched(wrapper):
        return None
    try:
        helm_python.dependency_build(wrapper)
    except helm_python.HelmError as error:
        detail = " ".join(str(error).split())[:160]
        pinned = ", ".join(f"{d['name']} {d['version']} ({d['repository']})" for d in pinned_dependencies(wrapper))
        return f"the official charts {pinned} could not be fetched ({detail})"
    return None


def check_manifests(root: Path, source: str, manifests: list[dict], *, own_chart: bool) -> list[str]:
    """Kubernetes schema errors of every manifest; Pod Security `restricted` findings of our own charts' pods."""
    from kubernetes_validate import ValidationError

    version, problems = charts.kubernetes_version(root), []
    for manifest in manifests:
        where = f"{source}: {manifest['kind']} {manifest['metadata']['name']}"
        try:
            charts.validate(manifest, version)
        except ValidationError as error:
            problems.append(f"{where}: {' '.join(str(error).split())[:200]}")
        if own_chart:
            problems += [
                f"{where}: {finding}" for spec in charts.pod_specs(manifest) for finding in restricted_violations(spec)
            ]
    return problems


def official_chart_problems(root: Path, manifests: list[dict]) -> tuple[list[str], list[str]]:
    """What `make deploy` counts on in the rendered official chart: (facts found, problems)."""
    by_name = {(m["kind"], m["metadata"]["name"]): m for m in manifests}
    facts, problems = [], []
    hooked = [f"{kind} {name}" for (kind, name), m in by_name.items() if _runs_after_the_wait(m)]
    if hooked:
        problems.append(
            "Helm post-install/post-upgrade hooks run only once --wait sees every pod ready, and Airflow's pods "
            f"wait for what they do: a first `make deploy` would hang: {', '.join(hooked)}"
        )
    schedulers = [(kind, name) for kind, name in by_name if name == "airflow-scheduler" and kind != "ServiceAccount"]
    workloads = [f"{kind} {name}" for kind, name in schedulers if kind in ("Deployment", "StatefulSet")]
    facts.append(f"scheduler: {', '.join(workloads) or 'none rendered'} (make trigger/smoke use the REST API)")
    problems += _api_server_problems(root, by_name.get(("Service", "airflow-api-server")))
    scheduler = by_name.get(("StatefulSet", "airflow-scheduler")) or by_name.get(("Deployment", "airflow-scheduler"))
    if scheduler:
        problems += _scheduler_environment_problems(root, scheduler)
    problems += _task_log_problems(by_name, scheduler)
    return facts, problems


def _runs_after_the_wait(manifest: dict) -> bool:
    """A hook Helm runs after installing (pre-install ones, e.g. a Secret, run before and block nothing)."""
    hooks = (manifest["metadata"].get("annotations") or {}).get(HOOK_ANNOTATION, "")
    return bool({"post-install", "post-upgrade"} & {hook.strip() for hook in hooks.split(",")})


def _api_server_problems(root: Path, service: dict | None) -> list[str]:
    if service is None:
        return ["no Service airflow-api-server rendered: the UI and `make trigger` have nothing to reach"]
    (control_plane,) = [node for node in charts.kind_config(root)["nodes"] if node["role"] == "control-plane"]
    mapped = {mapping["containerPort"] for mapping in control_plane.get("extraPortMappings", [])}
    node_ports = {port.get("nodePort") for port in service["spec"]["ports"]}
    if not node_ports & mapped:
        return [f"Service airflow-api-server has node ports {sorted(map(str, node_ports))}, kind maps {sorted(mapped)}"]
    return []


def _scheduler_environment_problems(root: Path, scheduler: dict) -> list[str]:
    """Our `env` values, the fernet key's Secret and the optional alerts Secret must reach the container that
    runs the tasks."""
    values = charts.chart_values(root, "airflow")["airflow"]
    containers = scheduler["spec"]["template"]["spec"]["containers"]
    (container,) = [c for c in containers if c["name"] == "scheduler"]
    environment = {item["name"]: item for item in container.get("env") or []}
    missing = sorted({item["name"] for item in values["env"]} - set(environment))
    problems = [f"scheduler container lacks {', '.join(missing)} from our env values"] if missing else []
    fernet = (environment.get("AIRFLOW__CORE__FERNET_KEY", {}).get("valueFrom") or {}).get("secretKeyRef") or {}
    if fernet.get("name") != values.get("fernetKeySecretName"):
        problems.append(f"scheduler reads its fernet key from {fernet.get('name')}, not the Secret make deploy makes")
    secrets = {(source.get("secretRef") or {}).get("name") for source in container.get("envFrom") or []}
    if ALERTS_SECRET not in secrets:
        problems.append(f"scheduler container does not read Secret {ALERTS_SECRET} (alert connections)")
    return problems


def _task_log_problems(by_name: dict, scheduler: dict | None) -> list[str]:
    """The scheduler writes task logs (its tasks run there) and the api-server reads them for the UI: both must
    mount one claim the release makes, or a log is gone from the UI when the scheduler restarts."""
    api_server = by_name.get(("Deployment", "airflow-api-server"))
    claims = {name for kind, name in by_name if kind == "PersistentVolumeClaim"}
    mounted = {
        component: _logs_claim(workload)
        for component, workload in (("scheduler", scheduler), ("api-server", api_server))
    }
    if None in mounted.values() or len(set(mounted.values())) != 1 or not set(mounted.values()) <= claims:
        found = ", ".join(f"{component}: {claim or 'no claim'}" for component, claim in mounted.items())
        return [
            f"task logs: the scheduler and the api-server must mount one claim the release makes ({found}; made: "
            f"{', '.join(sorted(claims)) or 'none'}): the UI loses a task's log when the scheduler restarts"
        ]
    (claim,) = set(mounted.values())
    modes = by_name[("PersistentVolumeClaim", claim)]["spec"].get("accessModes") or []
    if "ReadWriteMany" in modes:
        return [
            f"task logs: claim {claim} asks ReadWriteMany, which kind's local-path storage cannot provide (it would "
            "stay Pending, and every Airflow pod with it): name a ReadWriteOnce claim of ours (existingClaim)"
        ]
    return []


def _logs_claim(workload: dict | None) -> str | None:
    """The claim mounted at Airflow's logs folder, /opt/airflow/logs."""
    if workload is None:
        return None
    spec = workload["spec"]["template"]["spec"]
    claims = {v["name"]: (v.get("persistentVolumeClaim") or {}).get("claimName") for v in spec.get("volumes") or []}
    mounts = [m for c in spec["containers"] for m in c.get("volumeMounts") or [] if m["mountPath"] == LOGS_FOLDER]
    return next((claims.get(mount["name"]) for mount in mounts if claims.get(mount["name"])), None)


def helm_cli_problems(helm: str, root: Path, release: charts.Release, rendered: list[dict]) -> list[str]:
    """`helm lint --strict` and `helm template` of the release through the Helm CLI: it must pass, and render the
    objects the SDK rendered (the SDK is Helm's Go library; the CLI is what `make deploy` installs with)."""
    chart, where = str(root / "charts" / release.chart), f"release {release.name}"
    namespace = ["--namespace", release.namespace]
    lint = subprocess.run([helm, "lint", "--strict", chart, *namespace], capture_output=True, text=True)
    if lint.returncode:
        findings = [line for line in lint.stdout.splitlines() if line.startswith(("[WARNING]", "[ERROR]"))]
        return [f"{where}: helm lint --strict: {'; '.join(findings or [lint.stderr.strip()])[:400]}"]
    template = subprocess.run([helm, "template", release.name, chart, *namespace], capture_output=True, text=True)
    if template.returncode:
        return [f"{where}: helm template: {' '.join(template.stderr.split())[-300:]}"]
    objects = {(m["kind"], m["metadata"]["name"]) for m in yaml.safe_load_all(template.stdout) if m}
    expected = {(m["kind"], m["metadata"]["name"]) for m in rendered}
    if objects != expected:
        differ = sorted(f"{kind} {name}" for kind, name in objects ^ expected)
        return [f"{where}: the Helm CLI and the SDK render different objects: {', '.join(differ)[:300]}"]
    return []


def run_deploy_check(root: Path, helm: str | None = None) -> Report:
    """`helm`: the Helm CLI to check each release with too (None: that check is skipped, said so)."""
    report = Report()
    if helm is None:
        report.skipped.append("helm lint and helm template through the Helm CLI: none found (make deploy needs one)")
    if unnamed := unnamed_keys(charts.chart_values(root, "airflow")["airflow"]):
        report.problems.append(
            f"charts/airflow/values.yaml: {', '.join(unnamed)} unset: the chart would make those keys itself "
            "(the API and JWT keys anew on every upgrade), not read the Secrets make deploy makes"
        )
    for manifest_path in charts.NAMESPACE_MANIFESTS:
        manifest = yaml.safe_load((root / manifest_path).read_text())
        report.problems += check_manifests(root, manifest_path, [manifest], own_chart=True)
        report.checked.append(manifest_path)
    for release in charts.RELEASES:
        wrapper = root / "charts" / release.chart
        official = bool(pinned_dependencies(wrapper))
        if official and (not_fetched := fetch_official_charts(wrapper)):
            report.skipped.append(f"values schema check and rendering of release {release.name}: {not_fetched}")
            continue
        if official:
            try:
                report.checked.append(f"charts/{release.chart}/values.yaml against {check_dependency_values(wrapper)}")
            except ChartValuesError as error:
                report.problems.append(str(error))
                continue
        manifests = charts.render(root, release)
        report.problems += check_manifests(root, f"release {release.name}", manifests, own_chart=not official)
        report.checked.append(f"release {release.name}: {len(manifests)} manifests rendered and valid")
        if helm is not None:
            cli_problems = helm_cli_problems(helm, root, release, manifests)
            report.problems += cli_problems
            if not cli_problems:
                report.checked.append(f"release {release.name}: helm lint --strict and helm template ({helm}) agree")
        if release.chart == "airflow":
            facts, problems = official_chart_problems(root, manifests)
            report.checked += facts
            report.problems += problems
    return report
