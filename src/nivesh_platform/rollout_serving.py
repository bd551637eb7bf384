"""`make serve` for a model: its production version, and in a staged rollout its staging version behind the split.

Each alias is served by the model's own console script (`nivesh-<image> serve ALIAS`, MLflow's scoring app logging
every answer to the prediction logs); with a `staging` version and a declared shadow or canary rollout, nginx
(rollout_router) answers on the port the app calls and production and staging listen on the next two.
"""

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nivesh_contract.declaration import ModelDeclaration
from nivesh_contract.names import PRODUCTION, STAGING
from nivesh_platform.rollout_router import Backends, nginx_command, nginx_config
from nivesh_platform.services import Process
from nivesh_platform.serving import answers, wait_until_it_answers


@dataclass
class Serving:
    url: str  # what the app calls: the router in a staged rollout, else production
    servers: dict[str, str]  # alias -> its own URL
    processes: list[Process] = field(default_factory=list)
    dead_staging_reported: bool = False

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def staging_down_news(self) -> str | None:
        """A line the first time staging stops answering, and again when it answers again; else None."""
        if STAGING not in self.servers:
            return None
        down = not answers(f"{self.servers[STAGING]}/ping")
        if down == self.dead_staging_reported:
            return None
        self.dead_staging_reported = down
        if down:
            return f"staging server at {self.servers[STAGING]} does not answer: production answers every request"
        return f"staging server at {self.servers[STAGING]} answers again"


def served_aliases(tracking_uri: str, model: ModelDeclaration) -> dict[str, int]:
    """What `make serve` serves of the model: its production version, and staging's where its rollout is staged;
    empty where the store or the model is missing."""
    from mlflow import MlflowClient

    try:
        aliases = MlflowClient(tracking_uri, tracking_uri).get_registered_model(model.name).aliases
    except Exception:  # noqa: BLE001 (MLflow: no such model or store; both mean nothing to serve)
        return {}
    served = (PRODUCTION, STAGING) if model.rollout.staged else (PRODUCTION,)
    return {alias: int(version) for alias, version in aliases.items() if alias in served}


def start_serving(
    model: ModelDeclaration,
    tracking_uri: str,
    port: int,
    aliases: dict[str, int],
    log_dir: Path,
    run_dir: Path,
) -> Serving:
    """Production on `port`; with a staging version among `aliases` (served_aliases) the router on `port` and
    production and staging on `port`+1 and `port`+2. `log_dir`: the prediction logs; `run_dir`: the servers' own
    logs and the router's configuration."""
    run_dir.mkdir(parents=True, exist_ok=True)
    serving = Serving(url=f"http://127.0.0.1:{port}", servers={})
    try:
        if STAGING not in aliases:
            serving.processes.append(start_alias_server(model, PRODUCTION, tracking_uri, port, log_dir, run_dir))
            serving.servers[PRODUCTION] = serving.url
            return serving
        for alias, alias_port in ((PRODUCTION, port + 1), (STAGING, port + 2)):
            serving.processes.append(start_alias_server(model, alias, tracking_uri, alias_port, log_dir, run_dir))
            serving.servers[alias] = f"http://127.0.0.1:{alias_port}"
        backends = Backends(*(serving.servers[alias].removeprefix("http://") for alias in (PRODUCTION, STAGING)))
        serving.processes.append(start_router(model, port, backends, run_dir))
        return serving
    except BaseException:
        serving.stop()
        raise


def start_alias_server(
    model: ModelDeclaration, alias: str, tracking_uri: str, port: int, log_dir: Path, run_dir: Path
) -> Process:
    """`nivesh-<image> serve ALIAS` on 127.0.0.1:`port`, once it answers /ping."""
    venv_bin = Path(sys.executable).parent
    command = [str(venv_bin / model.image.console_script), "serve", alias, "--port", str(port)]
    command += ["--log-dir", str(log_dir)]
    environment = dict(os.environ) | {"MLFLOW_TRACKING_URI": tracking_uri, "MLFLOW_REGISTRY_URI": tracking_uri}
    server = Process.start(f"{model.name}@{alias} server", command, environment, run_dir / f"{alias}-{port}.log")
    wait_until_it_answers(server, f"http://127.0.0.1:{port}/ping")
    return server


def start_router(model: ModelDeclaration, port: int, backends: Backends, run_dir: Path) -> Process:
    """nginx on 127.0.0.1:`port`, splitting as the model's rollout declares, once it answers /ping."""
    prefix = run_dir / f"nginx-{port}"
    prefix.mkdir(exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(nginx_config(model.rollout, backends, f"127.0.0.1:{port}", prefix))
    router = Process.start(f"{model.name} router (nginx)", nginx_command(config, prefix), {}, prefix / "nginx.log")
    wait_until_it_answers(router, f"http://127.0.0.1:{port}/ping")
    return router
