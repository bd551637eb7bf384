"""`register`, `promote`, `rollback` and `smoke-test`: the same commands in every image, ruled by its declaration."""

from pathlib import Path
from pkgutil import resolve_name
from typing import Annotated

import typer

from nivesh_common.cli import step
from nivesh_common.errors import BadInputError
from nivesh_common.options import RunId, Version, setting_option
from nivesh_common.settings import load_tracking_settings
from nivesh_contract.declaration import ModelDeclaration
from nivesh_contract.names import PREVIOUS
from nivesh_contract.results import Promoted, Registered, RolledBack, RolloutEvaluated, SmokeTested


def add_registry_commands(app: typer.Typer, model: ModelDeclaration, scorer: str) -> None:
    """`scorer` names the model's promotion.Scorer as "module:function"; it is imported only by `promote`,
    and MLflow only by the commands: `--help` and the data steps start fast."""
    tolerance_setting = model.promotion.tolerance_setting
    _add_smoke_test(app, model)
    _add_serve(app, model)
    _add_rollout_evaluate(app, model)

    @app.command()
    @step
    def register(run_id: RunId) -> Registered:
        """Register the run's model (once per run) and give it the alias `candidate`."""
        from nivesh_common.registry import register_candidate
        from nivesh_common.tracking import connect

        client = connect(load_tracking_settings())
        return register_candidate(client, model, run_id)

    @app.command()
    @step
    def promote(
        version: Version,
        tolerance: Annotated[float, setting_option(tolerance_setting)] = tolerance_setting.default,
        allow_rolled_back: Annotated[
            bool, typer.Option(help="Promote a version that was rolled back (tag nivesh.rolled_back) again.")
        ] = False,
        dry_run: Annotated[
            bool, typer.Option(help="Judge only: say whether VERSION would be promoted, with the scores; move nothing.")
        ] = False,
    ) -> Promoted:
        """Move `production` to VERSION if its gates passed and it is not worse than production on either test split."""
        from nivesh_common.promotion import promote_candidate
        from nivesh_common.tracking import connect

        client = connect(load_tracking_settings())
        return promote_candidate(client, model, version, tolerance, resolve_name(scorer), allow_rolled_back, dry_run)

    @app.command()
    @step
    def rollback(
        to: Annotated[
            str,
            typer.Option(
                "--to",
                metavar="VERSION|previous",
                help="The version to return to (one that passed its gates), or the one that holds `previous`.",
            ),
        ] = PREVIOUS,
    ) -> RolledBack:
        """Move `production` back to the version that holds `previous`, or to VERSION."""
        from nivesh_common.registry import rollback_production
        from nivesh_common.tracking import connect

        to_version = _rollback_target(to)
        client = connect(load_tracking_settings())
        return rollback_production(client, model.name, to_version, model.gate_names)


def _add_serve(app: typer.Typer, model: ModelDeclaration) -> None:
    @app.command()
    def serve(
        alias: Annotated[str, typer.Argument(help="The alias whose version to serve: production or staging.")],
        log_dir: Annotated[Path, typer.Option(help="Where each answer is logged, for the rollout's evaluation.")],
        host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 in a pod).")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535)] = 8080,
        follow_every: Annotated[
            float,
            typer.Option(
                min=0,
                help="In a pod: wait for the alias, check it every this many seconds and stop when it moves "
                "(the restart serves what it names then); 0: serve what it names now, refuse a missing one.",
            ),
        ] = 0,
    ) -> None:
        """MLflow's scoring server for the version ALIAS names, logging each answer (not a step: runs until stopped)."""
        from nivesh_common.live_serving import serve_alias
        from nivesh_common.logs import configure_logging
        from nivesh_common.tracking import connect

        configure_logging()
        try:
            client = connect(load_tracking_settings())
            serve_alias(client, model.name, alias, host, port, log_dir, follow_every)
        except BadInputError as error:
            typer.echo(f"{model.image.console_script} serve: error: {error}", err=True)
            raise typer.Exit(error.exit_code) from None


def _add_rollout_evaluate(app: typer.Typer, model: ModelDeclaration) -> None:
    @app.command("rollout-evaluate")
    @step
    def rollout_evaluate(
        log_dir: Annotated[Path, typer.Option(help="The prediction logs the servers of the rollout write.")],
        approve: Annotated[
            bool, typer.Option(help="A person approves: promote a model that needs approval if staging passes.")
        ] = False,
    ) -> RolloutEvaluated:
        """Judge `staging` on the live requests it and production answered; promote it or roll it back when due."""
        from nivesh_common.rollout_evaluation import evaluate_staging
        from nivesh_common.tracking import connect

        return evaluate_staging(connect(load_tracking_settings()), model, log_dir, approve)


def _rollback_target(to: str) -> int | None:
    """`previous`, or a version number (what the rollback DAG's param renders: a number, or empty for previous)."""
    if to in (PREVIOUS, ""):
        return None
    if not to.isdigit() or int(to) < 1:
        raise BadInputError(f"--to {to[:40]!r}: a version number (1 or more) or {PREVIOUS!r}")
    return int(to)


def _add_smoke_test(app: typer.Typer, model: ModelDeclaration) -> None:
    @app.command("smoke-test")
    @step
    def smoke_test(version: Version) -> SmokeTested:
        """Load `production` as a consumer would, predict on its input example and check the answer against its
        signature, if production is VERSION (as promote left it); if that fails, roll production back and exit 3."""
        from nivesh_common.smoke_test import smoke_test_production
        from nivesh_common.tracking import connect

        client = connect(load_tracking_settings())
        return smoke_test_production(client, model.name, version)
