"""Command-line options every image shares, so flags read the same in every step."""

from typing import Annotated

import typer

DataPath = Annotated[str, typer.Option("--data", help="Local path or fsspec URL of a CSV or Parquet table.")]
OutPath = Annotated[str, typer.Option("--out", help="Where to write the data (.csv or .parquet); never overwritten.")]
RunId = Annotated[str, typer.Option("--run-id", help="MLflow run id, as returned by `train`.")]
Version = Annotated[int, typer.Option("--version", min=1, help="Registered model version, as returned by `register`.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same data.")]
Tolerance = Annotated[
    float,
    typer.Option("--tolerance", min=0.0, help="How far the candidate may trail production on the promotion metric."),
]
