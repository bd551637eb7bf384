"""Command-line options every image shares, so flags read the same in every step."""

import inspect
from enum import StrEnum
from typing import Annotated

import typer

from nivesh_contract.declaration import Option, Setting

DataPath = Annotated[str, typer.Option("--data", help="Local path or fsspec URL of a CSV or Parquet table.")]
OutPath = Annotated[
    str, typer.Option("--out", help="Where to write the data (.csv, .parquet or .jsonl); never overwritten.")
]
RunId = Annotated[str, typer.Option("--run-id", help="MLflow run id, as returned by `train`.")]
Version = Annotated[
    int,
    # MLflow keeps versions as 32-bit integers: a larger number is a typo, not a version.
    typer.Option("--version", min=1, max=2**31 - 1, help="Registered model version, as returned by `register`."),
]
Seed = Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same data.")]


def setting_option(setting: Setting):
    """The flag of a declared setting (`--min-accuracy`), with its range and help."""
    return typer.Option(setting.flag, min=setting.minimum, max=setting.maximum, help=setting.help)


def declared_option(option: Option):
    """The flag of a declared option (`--target`, `--tune-trials`), with its range."""
    return typer.Option(option.flag, help=option.help, min=option.minimum, max=option.maximum)


def declared_type(option: Option) -> type:
    """The option's type: its default's, or an enumeration of its choices (typer lists and checks them)."""
    return StrEnum(option.name, {choice: choice for choice in option.choices}) if option.choices else option.kind


def setting_parameter(setting: Setting) -> inspect.Parameter:
    """A declared setting as a keyword parameter of a generated command, defaulting to the declared value."""
    return inspect.Parameter(
        setting.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=setting.default,
        annotation=Annotated[float, setting_option(setting)],
    )
