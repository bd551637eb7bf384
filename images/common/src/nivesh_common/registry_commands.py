"""`register`, `promote` and `rollback`: the same three commands in every image."""

import dataclasses
from pkgutil import resolve_name

import typer

from nivesh_common.cli import step
from nivesh_common.options import RunId, Tolerance, Version
from nivesh_common.registry import (
    PromotionPolicy,
    promote_candidate,
    register_candidate,
    rollback_production,
)
from nivesh_common.settings import load_tracking_settings
from nivesh_common.tracking import connect


def add_registry_commands(
    app: typer.Typer,
    model_name: str,
    policy: PromotionPolicy,
    champion_scorer: str,
) -> None:
    """`champion_scorer` names a ChampionScorer as "module:function"; it is imported only by `promote`,
    so the CLI's --help does not import the model library."""

    @app.command()
    @step
    def register(run_id: RunId) -> dict:
        """Register the run's model (once per run) and give it the alias `candidate`."""
        client = connect(load_tracking_settings())
        return register_candidate(client, model_name, run_id, policy.required_gates)

    @app.command()
    @step
    def promote(version: Version, tolerance: Tolerance = policy.tolerance) -> dict:
        """Move `production` to VERSION if its gates passed and it is not worse than production."""
        client = connect(load_tracking_settings())
        chosen = dataclasses.replace(policy, tolerance=tolerance)
        return promote_candidate(client, model_name, version, chosen, resolve_name(champion_scorer))

    @app.command()
    @step
    def rollback() -> dict:
        """Move `production` back to the version that holds `previous`."""
        client = connect(load_tracking_settings())
        return rollback_production(client, model_name)
