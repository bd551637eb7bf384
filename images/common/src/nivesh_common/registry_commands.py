"""`register`, `promote` and `rollback`: the same three commands in every image, ruled by its declaration."""

from pkgutil import resolve_name
from typing import Annotated

import typer

from nivesh_common.cli import step
from nivesh_common.options import RunId, Version, setting_option
from nivesh_common.settings import load_tracking_settings
from nivesh_contract.declaration import ModelDeclaration
from nivesh_contract.results import Promoted, Registered, RolledBack


def add_registry_commands(app: typer.Typer, model: ModelDeclaration, scorer: str) -> None:
    """`scorer` names the model's promotion.Scorer as "module:function"; it is imported only by `promote`,
    and MLflow only by the commands: `--help` and the data steps start fast."""
    tolerance_setting = model.promotion.tolerance_setting

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
    ) -> Promoted:
        """Move `production` to VERSION if its gates passed and it is not worse than production on either test split."""
        from nivesh_common.promotion import promote_candidate
        from nivesh_common.tracking import connect

        client = connect(load_tracking_settings())
        return promote_candidate(client, model, version, tolerance, resolve_name(scorer), allow_rolled_back)

    @app.command()
    @step
    def rollback() -> RolledBack:
        """Move `production` back to the version that holds `previous`."""
        from nivesh_common.registry import rollback_production
        from nivesh_common.tracking import connect

        client = connect(load_tracking_settings())
        return rollback_production(client, model.name)
