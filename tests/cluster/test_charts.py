"""Our charts rendered by the real Helm engine: lint, Kubernetes schemas, and what matters in them."""

import importlib.metadata

import helm_python
import jmespath
import pytest
import yaml
from charts import CHARTS, chart_values, find, kind_config, kubernetes_version, render, validate

from nivesh_pipelines.pod_spec import TRAINING_NAMESPACE
from nivesh_platform.chart_values import is_fetched, pinned_dependencies
from nivesh_platform.charts import RELEASES, pod_specs
from nivesh_platform.pod_security import restricted_violations

OUR_CHARTS = {release.chart: release.namespace for release in RELEASES if release.chart != "airflow"}


@pytest.fixture(scope="module")
def mlflow():
    return render("mlflow", name="mlflow", namespace="nivesh-mlflow")


@pytest.fixture(scope="module")
def training():
    return render("nivesh-training", name="nivesh-training", namespace="nivesh-training")


@pytest.mark.parametrize("chart", OUR_CHARTS)
def test_lint_is_clean(chart):
    """Clean, but for the official charts a wrapper pins where they are not fetched (no chart repository here)."""
    report = helm_python.lint(CHARTS / chart, strict=True, kube_version=f"v{kubernetes_version()}.0")
    unfetched = ",".join(d["name"] for d in pinned_dependencies(CHARTS / chart) if not is_fetched(CHARTS / chart))
    expected = [f"chart directory is missing these dependencies: {unfetched}"] if unfetched else []
    assert report["errors"] == expected
    assert [m["error"] for m in report["messages"] if m["severity"] > 1] == expected  # else info (an icon...)


@pytest.mark.parametrize("chart", OUR_CHARTS)
def test_every_manifest_is_valid_for_the_cluster_version(chart):
    manifests = render(chart, name=chart, namespace=OUR_CHARTS[chart])
    assert manifests
    for manifest in manifests:
        validate(manifest)


# Their keys are Kubernetes' own or another program's file (Grafana's provisioning), documented by the comment above.
DATA_MAPS = {"resources", "podLabels", "datasources.yaml", "dashboardproviders.yaml"}


def uncommented_keys(values_yaml: str) -> list[int]:
    """Line numbers of keys with no comment line right above them (list items and data maps excepted)."""
    lines, parents, missing = values_yaml.splitlines(), [], []
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        while parents and parents[-1][0] >= indent:
            parents.pop()
        if stripped.startswith("- "):
            parents.append((indent, "-"))
            continue
        key = stripped.split(":")[0]
        is_data = any(parent == "-" or parent in DATA_MAPS for _, parent in parents)
        if not is_data and not lines[number - 1].strip().startswith("#"):
            missing.append(number + 1)
        parents.append((indent, key))
    return missing


@pytest.mark.parametrize("chart", OUR_CHARTS)
def test_every_value_is_commented(chart):
    assert uncommented_keys((CHARTS / chart / "values.yaml").read_text()) == []


def test_an_uncommented_value_is_found():
    assert uncommented_keys("# a\na: 1\nb:\n  # c\n  c: 2\n  d: 3\n") == [3, 6]


@pytest.mark.parametrize(
    ("chart", "wrong", "named"),
    [
        ("mlflow", {"server": {"service": {"nodePort": 80}}}, "nodePort"),
        ("mlflow", {"server": {"image": {"pullPolicy": "Sometimes"}}}, "pullPolicy"),
        ("mlflow", {"postgresql": {"auth": {"pasword": "x"}}}, "pasword"),
        ("nivesh-training", {"data": {"hostPathNodeLabel": {"key": "a b", "value": "x"}}}, "key"),
        ("nivesh-training", {"quota": {"requestsCpu": "eight"}}, "requestsCpu"),
        ("nivesh-training", {"networkPolicy": {"clusterCidrs": ["10.0.0.0"]}}, "clusterCidrs"),
    ],
)
def test_values_schema_accepts_the_defaults_and_rejects_a_wrong_value(chart, wrong, named):
    loaded = helm_python.Chart.load(CHARTS / chart)
    loaded.validate_schema(chart_values(chart))
    with pytest.raises(helm_python.HelmValuesError, match=named):
        loaded.validate_schema(wrong)


def test_mlflow_server_serves_artifacts_on_postgresql_with_the_password_from_a_secret(mlflow):
    deployment = find(mlflow, "Deployment", "mlflow")
    server = jmespath.search("spec.template.spec.containers[?name=='mlflow'] | [0]", deployment)
    assert "--serve-artifacts" in server["args"] and "--artifacts-destination=/mlartifacts" in server["args"]
    backend = next(arg for arg in server["args"] if arg.startswith("--backend-store-uri="))
    assert backend == "--backend-store-uri=postgresql://mlflow@mlflow-postgresql:5432/mlflow"
    password = jmespath.search("env[?name=='PGPASSWORD'] | [0].valueFrom.secretKeyRef", server)
    assert password == {"name": "mlflow-postgresql", "key": "password"}  # libpq reads it: not in any argument
    assert find(mlflow, "Secret", "mlflow-postgresql")["data"]["password"]
    allowed = next(arg for arg in server["args"] if arg.startswith("--allowed-hosts=")).split("=", 1)[1].split(",")
    assert {"mlflow.nivesh-mlflow:*", "localhost:*"} <= set(allowed)
    assert jmespath.search("startupProbe.httpGet.path", server) == "/health"
    assert jmespath.search("readinessProbe.httpGet.path", server) == "/health"
    assert jmespath.search("livenessProbe.httpGet.path", server) == "/health"
    assert server["resources"]["limits"]["memory"]
    job_runner = jmespath.search("env[?name=='MLFLOW_SERVER_ENABLE_JOB_EXECUTION'] | [0].value", server)
    assert job_runner == "false"  # its seven processes would not fit in the memory limit beside the server
    waits = jmespath.search("spec.template.spec.initContainers[].args[0]", deployment)
    assert waits == [
        "until pg_isready -h mlflow-postgresql -p 5432 -U mlflow; do echo waiting for postgresql; sleep 2; done"
    ]
    assert restricted_violations(deployment["spec"]["template"]["spec"]) == []


def test_postgresql_keeps_its_data_on_a_volume_and_reads_the_same_secret(mlflow):
    statefulset = find(mlflow, "StatefulSet", "mlflow-postgresql")
    assert jmespath.search("spec.volumeClaimTemplates[0].spec.resources.requests.storage", statefulset) == "5Gi"
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    assert jmespath.search("env[?name=='POSTGRES_PASSWORD'] | [0].valueFrom.secretKeyRef.name", container) == (
        "mlflow-postgresql"
    )
    assert container["readinessProbe"]["exec"]["command"][0] == "pg_isready"
    assert restricted_violations(statefulset["spec"]["template"]["spec"]) == []


def test_an_existing_secret_replaces_the_generated_one():
    manifests = render(
        "mlflow", {"postgresql": {"auth": {"existingSecret": "db-password"}}}, name="mlflow", namespace="nivesh-mlflow"
    )
    assert not [m for m in manifests if m["kind"] == "Secret" and m["metadata"]["name"] == "mlflow-postgresql"]
    deployment = find(manifests, "Deployment", "mlflow")
    refs = jmespath.search("spec.template.spec.containers[].env[].valueFrom.secretKeyRef.name", deployment)
    assert refs == ["db-password", "mlflow-auth"]


def test_mlflow_is_published_on_the_node_port_kind_maps(mlflow):
    service = find(mlflow, "Service", "mlflow")
    assert jmespath.search("spec.ports[0].[port, nodePort]", service) == [5000, 30500]


def test_launcher_role_grants_exactly_what_the_pod_operator_needs(training):
    role = find(training, "Role", "nivesh-pod-launcher")
    verbs = {rule["resources"][0]: set(rule["verbs"]) for rule in role["rules"]}
    assert verbs == {
        "pods": {"create", "get", "list", "watch", "delete", "patch"},
        "pods/log": {"get"},
        "pods/exec": {"create", "get"},
        "events": {"list"},
    }
    binding = find(training, "RoleBinding", "nivesh-pod-launcher")
    assert binding["roleRef"]["name"] == "nivesh-pod-launcher"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "airflow-scheduler", "namespace": "nivesh-airflow"}
    ]


def test_the_training_namespace_is_no_release_s_and_enforces_restricted_pod_security(training):
    namespace = yaml.safe_load((CHARTS / "nivesh-training" / "namespace.yaml").read_text())
    validate(namespace)
    assert namespace["metadata"]["name"] == TRAINING_NAMESPACE
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert not [m for m in training if m["kind"] == "Namespace"], "helm uninstall would delete it with its pods"
    for manifest in training:
        if manifest["kind"] != "PersistentVolume":
            assert manifest["metadata"]["namespace"] == TRAINING_NAMESPACE, manifest["kind"]


def test_quota_limits_configmap_and_data_volume(training):
    quota = find(training, "ResourceQuota")["spec"]["hard"]
    assert quota["requests.nvidia.com/gpu"] == "1" and quota["pods"] == "20"
    limits = find(training, "LimitRange")["spec"]["limits"][0]
    assert limits["defaultRequest"]["memory"] == "1Gi" and limits["max"]["memory"] == "16Gi"
    assert find(training, "ConfigMap")["data"]["MLFLOW_TRACKING_URI"] == "http://mlflow.nivesh-mlflow:5000"
    claim = find(training, "PersistentVolumeClaim", "nivesh-training-data")
    volume = find(training, "PersistentVolume")
    assert claim["spec"]["volumeName"] == volume["metadata"]["name"]
    assert volume["spec"]["hostPath"]["path"] == "/nivesh-data" and volume["spec"]["accessModes"] == ["ReadOnlyMany"]
    assert find(training, "ServiceAccount")["automountServiceAccountToken"] is False


def test_network_policy_lets_training_pods_reach_mlflow_the_pushgateway_and_dns_only_inside_the_cluster(training):
    policy = find(training, "NetworkPolicy")["spec"]
    assert policy["podSelector"] == {} and set(policy["policyTypes"]) == {"Ingress", "Egress"}
    assert policy["ingress"] == []
    mlflow, pushgateway, dns, external = policy["egress"]
    assert mlflow["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "nivesh-mlflow"}
    assert mlflow["to"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "mlflow"}
    assert mlflow["ports"] == [{"protocol": "TCP", "port": 5000}]
    assert pushgateway["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "nivesh-monitoring"
    }
    assert pushgateway["to"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus-pushgateway"}
    assert pushgateway["ports"] == [{"protocol": "TCP", "port": 9091}]
    assert {port["port"] for port in dns["ports"]} == {53}
    blocked = external["to"][0]["ipBlock"]["except"]
    assert blocked[:3] == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]  # the cluster
    assert {"169.254.0.0/16", "127.0.0.0/8", "100.64.0.0/10"} <= set(blocked)  # cloud metadata, loopback, CGNAT


def test_network_policy_without_external_egress_or_the_pushgateway_leaves_mlflow_and_dns():
    values = {"networkPolicy": {"allowExternalEgress": False}, "pushgateway": {"enabled": False}}
    manifests = render("nivesh-training", values, name="nivesh-training", namespace="nivesh-training")
    egress = find(manifests, "NetworkPolicy")["spec"]["egress"]
    assert [rule["ports"][0]["port"] for rule in egress] == [5000, 53]


def test_a_cluster_without_host_paths_gets_a_provisioned_claim():
    values = {"data": {"hostPath": "", "storageClassName": "standard"}}
    manifests = render("nivesh-training", values, name="nivesh-training", namespace="nivesh-training")
    assert not [m for m in manifests if m["kind"] == "PersistentVolume"]
    assert find(manifests, "PersistentVolumeClaim")["spec"]["storageClassName"] == "standard"


def test_mlflow_asks_for_a_login_with_a_generated_admin_password(mlflow):
    server = jmespath.search("spec.template.spec.containers[?name=='mlflow'] | [0]", find(mlflow, "Deployment"))
    assert "--app-name=basic-auth" in server["args"]
    password = jmespath.search("env[?name=='MLFLOW_AUTH_ADMIN_PASSWORD'] | [0].valueFrom.secretKeyRef", server)
    assert password == {"name": "mlflow-auth", "key": "password"}
    assert jmespath.search("env[?name=='MLFLOW_AUTH_CONFIG_PATH'] | [0].value", server) == (
        "/etc/mlflow-auth/basic_auth.ini"
    )
    settings = find(mlflow, "ConfigMap", "mlflow-auth")["data"]["basic_auth.ini"]
    assert "admin_username = admin" in settings and "default_permission = READ" in settings
    assert "admin_password" not in settings, "the password lives in the Secret only"
    secret = find(mlflow, "Secret", "mlflow-auth")["data"]
    assert set(secret) == {"username", "password"} and len(secret["password"]) >= 24
    assert jmespath.search("startupProbe.httpGet.path", server) == "/health"  # MLflow's auth leaves /health open


def test_the_mlflow_image_carries_what_its_login_needs():
    """The basic-auth app needs MLflow's `auth` extra (Flask-WTF): the official image's `-full` variant installs
    it (docker/Dockerfile.full), the plain one does not; and the server is the MLflow the steps log with."""
    image = chart_values("mlflow")["server"]["image"]
    assert image["tag"] == f"v{importlib.metadata.version('mlflow')}-full"
    assert 'Flask-WTF<2; extra == "auth"' in importlib.metadata.metadata("mlflow").get_all("Requires-Dist")


def test_mlflow_without_a_login_renders_none_of_it():
    manifests = render("mlflow", {"auth": {"enabled": False}}, name="mlflow", namespace="nivesh-mlflow")
    server = jmespath.search("spec.template.spec.containers[?name=='mlflow'] | [0]", find(manifests, "Deployment"))
    assert "--app-name=basic-auth" not in server["args"]
    assert not [m for m in manifests if m["metadata"]["name"] == "mlflow-auth"]


def test_only_airflow_the_training_pods_and_the_ui_reach_mlflow_and_only_mlflow_reaches_postgresql(mlflow):
    server = find(mlflow, "NetworkPolicy", "mlflow")["spec"]
    assert server["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "mlflow"
    sources = server["ingress"][0]["from"]
    namespaces = [s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for s in sources[:2]]
    assert namespaces == ["nivesh-airflow", "nivesh-training"]
    # the UI through the node port from kind's Docker network, whichever private range Docker gave it
    assert sources[2:] == [{"ipBlock": {"cidr": cidr}} for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
    assert server["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 5000}]
    database = find(mlflow, "NetworkPolicy", "mlflow-postgresql")["spec"]
    assert database["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "postgresql"
    assert database["ingress"][0]["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "mlflow", "app.kubernetes.io/instance": "mlflow"}}}
    ]


def test_the_training_steps_get_the_mlflow_login_as_a_secret(training):
    assert not [m for m in training if m["kind"] == "Secret"], "no cluster to read the login from, none given"
    values = {"mlflow": {"credentials": {"username": "admin", "password": "pw"}}}
    secret = find(render("nivesh-training", values, name="nivesh-training", namespace="nivesh-training"), "Secret")
    assert secret["metadata"] == secret["metadata"] | {
        "name": "nivesh-mlflow-credentials",
        "namespace": "nivesh-training",
    }
    assert set(secret["data"]) == {"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"}


def test_no_secret_reaches_a_command_line_where_ps_would_show_it(mlflow):
    for manifest in mlflow:
        for spec in pod_specs(manifest):
            for container in spec.get("initContainers", []) + spec["containers"]:
                secret_variables = {
                    item["name"] for item in container.get("env", []) if "secretKeyRef" in item.get("valueFrom", {})
                }
                words = " ".join(container.get("command", []) + container.get("args", []))
                assert not [name for name in secret_variables if f"$({name})" in words], container["name"]
                assert "password" not in words.lower(), container["name"]


def test_mlflow_stops_its_old_pod_before_the_new_one_mounts_the_artifacts_volume(mlflow):
    claim = find(mlflow, "PersistentVolumeClaim", "mlflow-artifacts")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert find(mlflow, "Deployment", "mlflow")["spec"]["strategy"] == {"type": "Recreate"}


def test_what_outlives_uninstall_keeps_what_it_needs(mlflow):
    """The database's claim (a StatefulSet's) survives `helm uninstall`: so must its password and the artifacts."""
    assert find(mlflow, "StatefulSet", "mlflow-postgresql")["spec"]["volumeClaimTemplates"]
    for kind, name in [("Secret", "mlflow-postgresql"), ("Secret", "mlflow-auth"), ("PersistentVolumeClaim", None)]:
        annotations = find(mlflow, kind, name)["metadata"].get("annotations") or {}
        assert annotations.get("helm.sh/resource-policy") == "keep", (kind, name)


def test_the_postgresql_statefulset_is_governed_by_a_headless_service(mlflow):
    statefulset = find(mlflow, "StatefulSet", "mlflow-postgresql")
    governing = find(mlflow, "Service", statefulset["spec"]["serviceName"])
    assert governing["spec"]["clusterIP"] == "None"
    assert governing["spec"]["selector"].items() <= statefulset["spec"]["template"]["metadata"]["labels"].items()


def test_the_data_volume_is_placed_on_the_nodes_that_mount_it(training):
    volume = find(training, "PersistentVolume")
    (term,) = volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    (expression,) = term["matchExpressions"]
    mounting = [
        node
        for node in kind_config()["nodes"]
        if any(mount["containerPath"] == volume["spec"]["hostPath"]["path"] for mount in node.get("extraMounts", []))
    ]
    assert mounting, "no kind node mounts the data"
    for node in kind_config()["nodes"]:
        assert (node.get("labels", {}).get(expression["key"]) in expression["values"]) == (node in mounting)
    assert volume["spec"]["claimRef"]["namespace"] == TRAINING_NAMESPACE
