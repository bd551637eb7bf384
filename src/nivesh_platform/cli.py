"""`nivesh-platform`: the embedded default's commands (the Makefile calls these)."""

import logging
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Nivesh training platform on this machine: no cluster, no server.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

StateDir = Annotated[Path, typer.Option("--state-dir", envvar="NIVESH_STATE_DIR", help="Embedded state folder.")]


def _state(state_dir: Path):
    from nivesh_platform.state import EmbeddedState

    return EmbeddedState(state_dir.resolve())


@app.command()
def run(
    state_dir: StateDir = Path(".nivesh"),
    force: Annotated[bool, typer.Option("--force", help="Train even where data is unchanged and not drifted.")] = False,
) -> None:
    """Generate sample data, run every model DAG end to end with launcher `local`, print the registry."""
    from nivesh_pipelines.catalog import MODELS
    from nivesh_platform.embedded import run_embedded

    state = _state(state_dir)
    already_sent = state.notification_file.stat().st_size if state.notification_file.exists() else 0
    outcomes = run_embedded(state, MODELS, {"force": True} if force else None)
    with open(state.notification_file) as notifications:
        notifications.seek(already_sent)
        typer.echo(f"\nNotifications of this run ({state.notification_file}):\n{notifications.read()}")
    summary(state_dir)
    failed = [outcome for outcome in outcomes if not outcome.succeeded]
    for outcome in failed:
        typer.echo(f"DAG {outcome.dag_id} failed; its log: {outcome.log_file}", err=True)
    raise typer.Exit(1 if failed else 0)


@app.command()
def summary(state_dir: StateDir = Path(".nivesh")) -> None:
    """Print each model's newest version, key metrics, gates and production version."""
    from mlflow import MlflowClient

    from nivesh_pipelines.catalog import MODELS
    from nivesh_platform.summary import format_rows, registry_rows

    client = MlflowClient(_state(state_dir).tracking_uri)
    typer.echo(format_rows(registry_rows(client, [spec.registered_name for spec in MODELS])))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    app()
