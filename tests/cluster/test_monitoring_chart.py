"""The monitoring release: our objects around the official Prometheus and Grafana charts (rendered by the real Helm
engine; the official charts themselves are not fetched here), and how the rest of the cluster finds it.

Service names follow the official charts' fullname helpers for a release named `monitoring` (read in
prometheus-community/helm-charts charts/prometheus and charts/prometheus-pushgateway, grafana/helm-charts
charts/grafana: `<release>-<chart>`, the server `<release>-prometheus-server`, each Service on port 80 but the
gateway's on 9091).
"""

import json
from urllib.parse import urlsplit

import pytest
from charts import CHARTS, chart_values, find, render

from nivesh_contract.deployment import PUSHGATEWAY_AIRFLOW_VARIABLE
from nivesh_platform.charts import release_named

RELEASE = release_named("monitoring")
VALUES = chart_values("monitoring")
AIRFLOW_ENV = {item["name"]: item["value"] for item in chart_values("airflow")["airflow"]["env"]}


@pytest.fixture(scope="module")
def monitoring() -> list[dict]:
    return render("monitoring", name=RELEASE.name, namespace=RELEASE.namespace)


def test_prometheus_evaluates_the_rules_promtool_tests_and_reloads_them_on_change(monitoring):
    name = VALUES["alertRules"]["configMapName"]
    rules = find(monitoring, "ConfigMap", name)["data"]
    assert rules == {"nivesh-alerts.yml": (CHARTS / "monitoring" / "rules" / "nivesh-alerts.yml").read_text()}
    server = VALUES["prometheus"]["server"]
    (mount,) = [m for m in server["extraConfigmapMounts"] if m["configMap"] == name]
    assert (
        f"{mount['mountPath']}/nivesh-alerts.yml" in VALUES["prometheus"]["serverFiles"]["prometheus.yml"]["rule_files"]
    )
    reloader = VALUES["prometheus"]["configmapReload"]["prometheus"]
    assert mount["mountPath"] in reloader["extraVolumeDirs"]
    assert [m["mountPath"] for m in reloader["extraConfigmapMounts"] if m["configMap"] == name] == [mount["mountPath"]]


def test_grafana_is_provisioned_with_every_committed_board_reading_the_prometheus_server(monitoring):
    boards = find(monitoring, "ConfigMap", VALUES["dashboards"]["configMapName"])["data"]
    committed = sorted((CHARTS / "monitoring" / "dashboards").glob("*.json"))
    assert len(committed) == 2 and sorted(boards) == [path.name for path in committed]
    for path in committed:
        assert json.loads(boards[path.name]) == json.loads(path.read_text())
    grafana = VALUES["grafana"]
    ((provider_name, config_map),) = grafana["dashboardsConfigMaps"].items()
    assert config_map == VALUES["dashboards"]["configMapName"]
    (provider,) = grafana["dashboardProviders"]["dashboardproviders.yaml"]["providers"]
    # the chart mounts each ConfigMap of dashboardsConfigMaps at /var/lib/grafana/dashboards/<provider name>
    assert (
        provider["name"] == provider_name
        and provider["options"]["path"] == f"/var/lib/grafana/dashboards/{provider_name}"
    )
    (source,) = grafana["datasources"]["datasources.yaml"]["datasources"]
    assert source["type"] == "prometheus" and source["isDefault"] is True
    assert source["url"] == f"http://{RELEASE.name}-prometheus-server"
    assert grafana["testFramework"]["enabled"] is False, "its test pod is a Helm hook"


def test_steps_and_pipelines_push_to_the_gateway_whose_policies_let_them_through(monitoring):
    url = urlsplit(AIRFLOW_ENV[f"AIRFLOW_VAR_{PUSHGATEWAY_AIRFLOW_VARIABLE.upper()}"])
    gateway = VALUES["networkPolicy"]["pushgateway"]
    assert url.hostname == f"{RELEASE.name}-prometheus-pushgateway.{RELEASE.namespace}" and url.port == gateway["port"]
    pushers = {"nivesh-training", "nivesh-airflow"}  # the training pods' namespace, Airflow's (the scheduler)
    policy = find(monitoring, "NetworkPolicy", "prometheus-pushgateway")["spec"]
    assert policy["podSelector"]["matchLabels"] == gateway["podLabels"]
    (rule,) = policy["ingress"]
    admitted = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in rule["from"][:-1]}
    assert admitted == pushers
    assert rule["from"][-1] == {"podSelector": {"matchLabels": VALUES["networkPolicy"]["prometheus"]["podLabels"]}}
    assert rule["ports"] == [{"protocol": "TCP", "port": gateway["port"]}]
    # the training pods' own egress policy names the same pods
    training = chart_values("nivesh-training")["pushgateway"]
    assert (training["namespace"], training["podLabels"], training["port"]) == (
        RELEASE.namespace,
        gateway["podLabels"],
        gateway["port"],
    )
    # and the prometheus chart scrapes the gateway it runs (its scrape job keeps Services annotated so)
    assert VALUES["prometheus"]["prometheus-pushgateway"]["enabled"] is True


def test_only_grafana_reaches_prometheus_and_nothing_reaches_grafana_but_a_port_forward(monitoring):
    prometheus = find(monitoring, "NetworkPolicy", "prometheus-server")["spec"]
    grafana_labels = VALUES["networkPolicy"]["grafana"]["podLabels"]
    assert prometheus["ingress"] == [
        {"from": [{"podSelector": {"matchLabels": grafana_labels}}], "ports": [{"protocol": "TCP", "port": 9090}]}
    ]
    grafana = find(monitoring, "NetworkPolicy", "grafana")["spec"]
    assert grafana["podSelector"]["matchLabels"] == grafana_labels and grafana["ingress"] == []
