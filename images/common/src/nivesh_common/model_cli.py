"""What every model image's command line shares: the app with its registry commands and its entry point, the
`sample-data` command, and the flags of its declared options."""

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nivesh_common.cli import run_app, step, step_app
from nivesh_common.options import OutPath, declared_option, declared_type
from nivesh_common.registry_commands import add_registry_commands
from nivesh_contract.declaration import ModelDeclaration

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("nivesh")


def model_app(model: ModelDeclaration, title: str, scorer: str) -> tuple[typer.Typer, Callable[[], None]]:
    """The model's Typer app, with `register`, `promote` and `rollback` (see registry_commands), and the console
    script's entry point (`nivesh-credit-risk = "nivesh_credit_risk.cli:main"`)."""
    app = step_app(f"{title}: data, training, gates and registry steps.")
    add_registry_commands(app, model, scorer)
    return app, lambda: run_app(app, model.image.console_script)


@dataclass(frozen=True)
class Sample:
    """Generated sample data, and what the result should say about it besides its path and rows."""

    table: "pd.DataFrame"
    details: dict[str, Any] = field(default_factory=dict)


def sample_data_command(app: typer.Typer) -> Callable[[Callable[..., Sample]], Callable[..., Sample]]:
    """Decorator: `def sample_data(**its options) -> Sample` becomes `sample-data --out PATH ...`, which
    writes the table there (CSV, Parquet or JSONL by suffix) and never overwrites a file."""

    def add(generate: Callable[..., Sample]) -> Callable[..., Sample]:
        def command(out: str, **options: Any) -> dict:
            from nivesh_common.data import write_table

            sample = generate(**options)
            write_table(sample.table, out)
            described = "".join(f"; {key}: {value}" for key, value in sample.details.items())
            log.info("wrote %d rows to %s%s", len(sample.table), out, described)
            return {"path": out, "rows": len(sample.table), **sample.details}

        out = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, annotation=OutPath)
        own = [parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY) for parameter in _parameters(generate)]
        command.__signature__ = inspect.Signature([out, *own], return_annotation=dict)
        command.__doc__ = generate.__doc__
        app.command("sample-data")(step(command))
        return generate

    return add


def declared_options(model: ModelDeclaration, subcommand: str) -> Callable[[Callable], Callable]:
    """Decorator: the model's declared options for `subcommand` (with their defaults, help, choices and
    ranges) become flags of the command, handed to its `**options` keyword arguments."""

    def add(command: Callable) -> Callable:
        flags = [
            inspect.Parameter(
                option.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=option.default,
                annotation=Annotated[declared_type(option), declared_option(option)],
            )
            for option in model.options_of(subcommand)
        ]
        own = [parameter for parameter in _parameters(command) if parameter.kind is not inspect.Parameter.VAR_KEYWORD]
        command.__signature__ = inspect.signature(command).replace(parameters=[*own, *flags])
        return command

    return add


def _parameters(function: Callable) -> list[inspect.Parameter]:
    return list(inspect.signature(function).parameters.values())
