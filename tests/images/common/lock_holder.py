"""A step that takes a model's registry lock and holds it until stopped: what `promote` does, made long."""

import sys
import time

from mlflow import MlflowClient

from nivesh_common.cli import run_app, step, step_app
from nivesh_common.registry_lock import registry_lock

app = step_app("holds the registry lock of a model")


@app.command()
@step
def hold(model: str) -> dict:
    with registry_lock(MlflowClient(), model):
        print("holding", flush=True, file=sys.stderr)
        time.sleep(600)
    return {}


if __name__ == "__main__":
    run_app(app, "lock-holder")
