"""`make deploy-check` without the chart repository (as here), and with a fetched chart that behaves as the
official one does in what we count on.

The official chart cannot be fetched here. Its stand-in below is written for these tests from what the
official templates do (read in apache/airflow chart/: jobs/migrate-database-job.yaml adds post-install hooks
when useHelmHooks; scheduler/scheduler-deployment.yaml is a StatefulSet with LocalExecutor and workers
persistence, and mounts the logs claim (`logs.persistence.existingClaim`, else `<release>-logs`) where
`logs.persistence.enabled`, an emptyDir otherwise; api-server/api-server-deployment.yaml mounts that claim only
where it is enabled; logs-persistent-volume-claim.yaml makes a ReadWriteMany claim where it is enabled with no
existingClaim; api-server/api-server-service.yaml copies every key of a port; _helpers.yaml renders `env` and the
templated `extraEnvFrom` into the scheduler container, and its fernet key from `fernetKeySecretName` or the
Secret secrets/fernetkey-secret.yaml makes as a pre-install hook where that value is unset).
"""

import shutil
import subprocess
import sys
from pathlib import Path

import helm_python
import pytest
import yaml
from charts import CHARTS

from nivesh_platform.charts import RELEASES
from nivesh_platform.deploy_check import run_deploy_check

PLATFORM = str(Path(sys.executable).parent / "nivesh-platform")
HELM = Path(sys.prefix) / "cluster-clis" / "helm"  # the real Helm CLI (make test extracts it)
STAND_IN = {
    "Chart.yaml": "apiVersion: v2\nname: airflow\nversion: 1.22.0\n",
    "values.schema.json": '{"type": "object"}',
    "values.yaml": """
executor: CeleryExecutor
fernetKeySecretName: ~
env: []
extraEnvFrom: ~
workers: {persistence: {enabled: true}}
logs: {persistence: {enabled: false, existingClaim: ~}}
migrateDatabaseJob: {useHelmHooks: true}
apiServer: {service: {type: ClusterIP, ports: [{name: api-server, port: 8080}]}}
""",
    "templates/migrate-job.yaml": """apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-run-airflow-migrations
  {{- if .Values.migrateDatabaseJob.useHelmHooks }}
  annotations:
    helm.sh/hook: post-install,post-upgrade
  {{- end }}
spec:
  template:
    spec:
      restartPolicy: OnFailure
      containers:
        - name: run-airflow-migrations
          image: apache/airflow:3.3.2
""",
    "templates/scheduler.yaml": """{{- $local := contains "Local" .Values.executor }}
{{- $stateful := and $local .Values.workers.persistence.enabled }}
apiVersion: apps/v1
kind: {{ if $stateful }}StatefulSet{{ else }}Deployment{{ end }}
metadata:
  name: {{ .Release.Name }}-scheduler
spec:
  {{- if $stateful }}
  serviceName: {{ .Release.Name }}-scheduler
  {{- end }}
  selector: {matchLabels: {component: scheduler}}
  template:
    metadata: {labels: {component: scheduler}}
    spec:
      containers:
        - name: scheduler
          image: apache/airflow:3.3.2
          env:
            - name: AIRFLOW__CORE__FERNET_KEY
              valueFrom:
                secretKeyRef:
                  name: {{ default (printf "%s-fernet-key" .Release.Name) .Values.fernetKeySecretName }}
                  key: fernet-key
            {{- range .Values.env }}
            - {name: {{ .name }}, value: {{ .value | quote }}}
            {{- end }}
          {{- with .Values.extraEnvFrom }}
          envFrom:
            {{- tpl . $ | nindent 12 }}
          {{- end }}
          volumeMounts:
            - {name: logs, mountPath: /opt/airflow/logs}
      volumes:
        {{- include "logs_volume" . | nindent 8 }}
""",
    "templates/_helpers.tpl": """{{- define "logs_volume" -}}
- name: logs
  {{- if .Values.logs.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ .Values.logs.persistence.existingClaim | default (printf "%s-logs" .Release.Name) }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}
""",
    "templates/logs-claim.yaml": """{{- with .Values.logs.persistence }}
{{- if and .enabled (not .existingClaim) }}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ $.Release.Name }}-logs
spec:
  accessModes: ["ReadWriteMany"]
  resources: {requests: {storage: 100Gi}}
{{- end }}
{{- end }}
""",
    "templates/api-server.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-api-server
spec:
  selector: {matchLabels: {component: api-server}}
  template:
    metadata: {labels: {component: api-server}}
    spec:
      containers:
        - name: api-server
          image: apache/airflow:3.3.2
          {{- if .Values.logs.persistence.enabled }}
          volumeMounts:
            - {name: logs, mountPath: /opt/airflow/logs}
          {{- end }}
      {{- if .Values.logs.persistence.enabled }}
      volumes:
        {{- include "logs_volume" . | nindent 8 }}
      {{- end }}
""",
    "templates/fernet-key-secret.yaml": """{{- if not .Values.fernetKeySecretName }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-fernet-key
  annotations:
    helm.sh/hook: pre-install
    helm.sh/hook-delete-policy: before-hook-creation
data:
  fernet-key: {{ randAlphaNum 32 | b64enc | b64enc | quote }}
{{- end }}
""",
    "templates/api-server-service.yaml": """apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-api-server
spec:
  type: {{ .Values.apiServer.service.type }}
  selector: {component: api-server}
  ports:
  {{- range .Values.apiServer.service.ports }}
    -
      {{- range $key, $val := . }}
      {{ $key }}: {{ $val }}
      {{- end }}
  {{- end }}
""",
}


def _fetched(tmp_path: Path, wrapper: Path, stand_in: dict[str, str]) -> None:
    """A stand-in of one official chart where `helm dependency build` would leave it."""
    source = tmp_path / "stand-ins" / yaml.safe_load(stand_in["Chart.yaml"])["name"]
    for name, text in stand_in.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    (wrapper / "charts").mkdir(exist_ok=True)
    helm_python.package(source, destination=wrapper / "charts")


def _repository_with(tmp_path: Path, stand_in: dict[str, str] | None) -> Path:
    """charts/ of this repository in a copy, with the official charts fetched (the Airflow stand-in; Prometheus's
    and Grafana's render nothing, so only our monitoring templates are checked) or not fetched."""
    root = tmp_path / "repository"
    shutil.copytree(CHARTS, root / "charts", ignore=shutil.ignore_patterns("charts"))
    if stand_in is not None:
        _fetched(tmp_path, root / "charts" / "airflow", stand_in)
        for name, version in (("prometheus", "27.19.0"), ("grafana", "8.8.2")):
            _fetched(
                tmp_path,
                root / "charts" / "monitoring",
                {"Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\n"},
            )
    return root


def _override_our_values(root: Path, **changes) -> None:
    path = root / "charts" / "airflow" / "values.yaml"
    values = yaml.safe_load(path.read_text())
    values["airflow"].update(changes)
    path.write_text(yaml.safe_dump(values))


def test_without_the_chart_repository_it_passes_and_says_what_it_skipped(tmp_path):
    root = _repository_with(tmp_path, None)
    completed = subprocess.run([PLATFORM, "deploy-check", "--root", str(root)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert "skipped: values schema check and rendering of release airflow" in completed.stdout
    assert "skipped: values schema check and rendering of release monitoring" in completed.stdout
    assert "checked: release mlflow" in completed.stdout and "checked: release nivesh-training" in completed.stdout
    required = [PLATFORM, "deploy-check", "--root", str(root), "--require-official-chart"]
    assert subprocess.run(required, capture_output=True, text=True).returncode == 2  # what make deploy runs


def test_with_the_chart_fetched_our_values_meet_what_make_deploy_counts_on(tmp_path):
    report = run_deploy_check(_repository_with(tmp_path, STAND_IN), str(HELM))
    assert report.problems == [] and report.skipped == []
    for release in RELEASES:  # the real Helm CLI, which make deploy installs with, agrees with the SDK
        assert f"release {release.name}: helm lint --strict and helm template ({HELM}) agree" in report.checked
    assert "scheduler: Deployment airflow-scheduler (make trigger/smoke use the REST API)" in report.checked
    assert "release airflow: 5 manifests rendered and valid" in report.checked  # our task-logs claim too
    assert (
        "charts/monitoring/values.yaml against prometheus 27.19.0 (ships no values schema), "
        "grafana 8.8.2 (ships no values schema)"
    ) in report.checked
    assert "release monitoring: 5 manifests rendered and valid" in report.checked  # rules, boards, 3 policies


@pytest.mark.skipif(not HELM.exists(), reason=f"no real Helm CLI at {HELM}: make test extracts it")
def test_what_only_the_helm_cli_refuses_is_a_problem(tmp_path):
    """An object name Kubernetes would refuse: the schemas do not say, `helm lint --strict` does."""
    root = _repository_with(tmp_path, STAND_IN)
    template = root / "charts" / "mlflow" / "templates" / "named.yaml"
    template.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Name\ndata:\n  a: b\n")
    problems = run_deploy_check(root, str(HELM)).problems
    (problem,) = problems
    assert problem.startswith("release mlflow: helm lint --strict: ") and '"Not_A_Name"' in problem, problems


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"migrateDatabaseJob": {"useHelmHooks": True}}, "hooks run only once --wait sees every pod ready"),
        ({"fernetKeySecretName": None}, "fernetKeySecretName unset: the chart would make those keys itself"),
        (
            {"apiServer": {"service": {"type": "NodePort", "ports": [{"name": "api-server", "port": 8080}]}}},
            "node ports",
        ),
        ({"extraEnvFrom": None}, "does not read Secret nivesh-alerts"),
        ({"logs": {"persistence": {"enabled": False}}}, "task logs: the scheduler and the api-server must mount"),
        ({"logs": {"persistence": {"enabled": True}}}, "claim airflow-logs asks ReadWriteMany, which kind's"),
    ],
)
def test_a_value_the_chart_would_act_on_badly_is_a_problem(tmp_path, changes, problem):
    root = _repository_with(tmp_path, STAND_IN)
    _override_our_values(root, **changes)
    report = run_deploy_check(root)
    assert [line for line in report.problems if problem in line], report.problems


def test_a_key_the_chart_makes_as_a_pre_install_hook_blocks_nothing_but_is_not_the_one_deploy_keeps(tmp_path):
    root = _repository_with(tmp_path, STAND_IN)
    _override_our_values(root, fernetKeySecretName=None)
    problems = run_deploy_check(root).problems
    assert not [line for line in problems if "hooks" in line], "a pre-install Secret does not hang --wait"
    assert [line for line in problems if "reads its fernet key from airflow-fernet-key" in line], problems


def test_a_manifest_invalid_for_the_cluster_version_is_a_problem(tmp_path):
    root = _repository_with(tmp_path, None)
    deployment = root / "charts" / "mlflow" / "templates" / "mlflow-deployment.yaml"
    deployment.write_text(deployment.read_text().replace("replicas: {{ .Values.server.replicas }}", "replicas: two"))
    assert [line for line in run_deploy_check(root).problems if "Deployment mlflow" in line]
