"""`make summary`'s table says each model's rollout stage, read from a real MLflow store."""

from mlflow import MlflowClient

from live_registry import MODEL, live_store, log_version
from nivesh_contract.catalog import MODELS, model_named
from nivesh_contract.names import PRODUCTION, STAGING
from nivesh_platform.summary import format_rows, registry_rows


def test_the_summary_shows_each_model_s_rollout_stage(tmp_path):
    uri = live_store(tmp_path)
    versions = [log_version(uri, tmp_path, factor=factor) for factor in (1.0, 1.1)]
    client = MlflowClient(uri, uri)
    client.set_registered_model_alias(MODEL, PRODUCTION, versions[0])
    assert {row["model"]: row["rollout"] for row in registry_rows(client, MODELS)} == {
        model.name: "canary 10%: nothing staged" if model.name == MODEL else "direct" for model in MODELS
    }
    client.set_registered_model_alias(MODEL, STAGING, versions[1])
    (row,) = registry_rows(client, (model_named(MODEL),))
    assert (row["production"], row["rollout"]) == (1, "canary 10%: staging v2")
    table = format_rows([row]).splitlines()
    assert table[0].split()[-1] == "rollout" and table[-1].endswith("canary 10%: staging v2")
