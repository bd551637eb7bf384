"""A real serving pair on loopback: production and staging each behind the model's own `serve` command (MLflow's
scoring app, logging every answer), nginx splitting as the declared rollout says, a load of requests."""

import dataclasses
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient
from prometheus_client.parser import text_string_to_metric_families

from live_registry import MODEL, live_store, log_version
from nivesh_common.rollout_evaluation import evaluate_staging, read_answers
from nivesh_contract.catalog import model_named
from nivesh_contract.names import PRODUCTION, ROLLED_BACK_TAG, ROLLOUT_TAG, STAGING
from nivesh_contract.rollout import Rollout
from nivesh_platform.rollout_router import Backends
from nivesh_platform.rollout_serving import Serving, start_alias_server, start_router
from nivesh_platform.services import free_port

pytestmark = pytest.mark.slow  # real servers and nginx: seconds each

SHARE = 10.0
USERS = 2000


def declared(strategy: str, **rollout):
    """anomaly_detector declared with a staged rollout."""
    settings = {"share_percent": SHARE, "prediction": "anomaly_score", "evaluate_after_requests": 100} | rollout
    return dataclasses.replace(model_named(MODEL), rollout=Rollout(strategy=strategy, **settings))


class Pair:
    """A store with production v1 and staging v2 of a tiny model; alias servers started on demand."""

    def __init__(self, folder: Path):
        self.folder, self.uri, self.logs = folder, live_store(folder), folder / "predictions"
        self.client = MlflowClient(self.uri, registry_uri=self.uri)
        self.ports: dict[str, int] = {}
        self.processes = []
        for alias, factor in ((PRODUCTION, 1.0), (STAGING, 1.02)):
            self.client.set_registered_model_alias(MODEL, alias, log_version(self.uri, folder, factor=factor))

    def serve(self, alias: str) -> None:
        port = free_port()
        self.processes.append(start_alias_server(declared("canary"), alias, self.uri, port, self.logs, self.folder))
        self.ports[alias] = port

    def router(self, model, staging_port: int | None = None) -> str:
        port = free_port()
        staging = staging_port or self.ports[STAGING]
        backends = Backends(f"127.0.0.1:{self.ports[PRODUCTION]}", f"127.0.0.1:{staging}")
        self.processes.append(start_router(model, port, backends, self.folder))
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    served = Pair(tmp_path_factory.mktemp("pair"))
    served.serve(PRODUCTION)
    served.serve(STAGING)
    yield served
    served.stop()


def body(number: int) -> dict:
    return {"dataframe_records": [{"amount": 100.0 + number, "request_number": number}]}


def ask(client: httpx.Client, url: str, number: int, user: str | None) -> httpx.Response:
    headers = {"X-User-Id": user} if user else {}
    return client.post(f"{url}/invocations", json=body(number), headers=headers)


def test_the_canary_share_is_kept_and_sticky_per_user(pair):
    router = pair.router(declared("canary"))
    with httpx.Client(timeout=30) as client:
        first = {f"U{n:05d}": ask(client, router, n, f"U{n:05d}") for n in range(USERS)}
        assert {response.status_code for response in first.values()} == {200}
        staged = {user for user, response in first.items() if response.headers["X-Nivesh-Alias"] == STAGING}
        share = 100 * len(staged) / USERS
        assert SHARE - 3 <= share <= SHARE + 3, f"{share:.1f}% of {USERS} users answered by staging"
        again = {user: ask(client, router, 7, user).headers["X-Nivesh-Alias"] for user in list(first)[:300]}
        assert {user for user, alias in again.items() if alias == STAGING} == staged & set(again)
        anonymous = {ask(client, router, n, None).headers["X-Nivesh-Alias"] for n in range(50)}
        assert anonymous == {PRODUCTION}  # no user id: production


def test_shadow_never_changes_a_response_and_staging_sees_every_request(pair):
    router = pair.router(declared("shadow"))
    production = f"http://127.0.0.1:{pair.ports[PRODUCTION]}"
    ids = [f"shadow-{n}" for n in range(200)]
    with httpx.Client(timeout=30) as client:
        for n, request_id in enumerate(ids):
            headers = {"X-User-Id": f"U{n}", "X-Request-Id": request_id}
            routed = client.post(f"{router}/invocations", json=body(n), headers=headers)
            direct = client.post(f"{production}/invocations", json=body(n))
            assert routed.status_code == 200 and routed.headers["X-Nivesh-Alias"] == PRODUCTION
            assert routed.json() == direct.json()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the copies are sent asynchronously
        shadowed = {a["request_id"] for a in read_answers(pair.logs, MODEL) if a["alias"] == STAGING}
        if set(ids) <= shadowed:
            break
        time.sleep(0.2)
    assert set(ids) <= shadowed
    staged = [a for a in read_answers(pair.logs, MODEL) if a["request_id"] in set(ids) and a["alias"] == STAGING]
    assert {a["version"] for a in staged} == {"2"} and all(a["latency_ms"] > 0 for a in staged)


def test_a_dead_staging_server_leaves_production_answering_and_is_reported_once(pair):
    dead = free_port()
    router = pair.router(declared("canary", share_percent=50.0), staging_port=dead)
    with httpx.Client(timeout=30) as client:
        answers = [ask(client, router, n, f"D{n}") for n in range(100)]
    assert {(a.status_code, a.headers["X-Nivesh-Alias"]) for a in answers} == {(200, PRODUCTION)}
    serving = Serving(url=router, servers={PRODUCTION: "", STAGING: f"http://127.0.0.1:{dead}"})
    news = [serving.staging_down_news() for _ in range(3)]
    assert news[0].startswith(f"staging server at http://127.0.0.1:{dead} does not answer") and news[1:] == [None, None]


def test_a_staging_version_failing_5_percent_of_requests_is_rolled_back_production_untouched(tmp_path):
    broken = Pair(tmp_path)
    version = log_version(broken.uri, tmp_path, factor=1.0, fail_every=20)
    broken.client.set_registered_model_alias(MODEL, STAGING, version)
    production_before = broken.client.get_model_version_by_alias(MODEL, PRODUCTION).version
    model = declared("canary", share_percent=50.0, evaluate_after_requests=200)
    try:
        broken.serve(PRODUCTION)
        broken.serve(STAGING)
        router = broken.router(model)
        with httpx.Client(timeout=30) as client:
            statuses = [ask(client, router, n, f"B{n}").status_code for n in range(600)]
            scraped = client.get(f"http://127.0.0.1:{broken.ports[STAGING]}/metrics").text
    finally:
        broken.stop()
    assert statuses.count(200) < 600  # the canary's users met staging's errors
    # what Prometheus scrapes from the staging server is what it logged
    logged = Counter(str(a["status"]) for a in read_answers(broken.logs, MODEL) if a["alias"] == STAGING)
    (requests,) = [
        family for family in text_string_to_metric_families(scraped) if family.name == "nivesh_serving_requests"
    ]
    counted = {s.labels["status"]: s.value for s in requests.samples if s.name.endswith("_total")}
    assert counted == logged and len(counted) == 2, scraped
    assert {s.labels["version"] for s in requests.samples} == {version}
    judged = evaluate_staging(broken.client, model, broken.logs, approved=False)
    assert judged["decision"] == "rolled_back" and "error rate" in judged["reason"], judged
    assert broken.client.get_model_version_by_alias(MODEL, PRODUCTION).version == production_before
    assert STAGING not in broken.client.get_registered_model(MODEL).aliases
    staged = broken.client.get_model_version(MODEL, version)
    assert staged.tags[ROLLOUT_TAG] == "rolled_back" and staged.tags[ROLLED_BACK_TAG] == "true"
    assert "Live comparison (canary)" in staged.description and "error rate" in staged.description
