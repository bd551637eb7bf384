"""A model's declaration file (`models/<name>.toml`) read into a ModelDeclaration, strictly: a missing,
unknown or ill-typed key is an error naming the file.

TOML has no null: an unbounded setting says `maximum = inf` (or `minimum = -inf`).
"""

import math
import tomllib
from pathlib import Path

from nivesh_contract.declaration import (
    EVALUATE_GATE,
    Coverage,
    DataCheck,
    DataSource,
    DatePart,
    Gate,
    ModelDeclaration,
    Option,
    Promotion,
    StepImage,
    TableDrift,
    TextDrift,
    Threshold,
    at_least,
    at_most,
)
from nivesh_contract.rollout import Rollout


class DeclarationError(ValueError):
    """A declaration file that does not say what a model needs."""


def load_declaration(path: Path) -> ModelDeclaration:
    try:
        with path.open("rb") as handle:
            return _model(tomllib.load(handle), path.parent)
    except KeyError as exc:
        raise DeclarationError(f"{path}: missing key {exc}") from None
    except (OSError, tomllib.TOMLDecodeError, TypeError, ValueError) as exc:
        raise DeclarationError(f"{path}: {exc}") from None


def _model(data: dict, folder: Path) -> ModelDeclaration:
    data = dict(data)
    source = data.pop("source", None)
    return ModelDeclaration(
        source=_source(folder, **source) if source is not None else None,
        image=StepImage(**data.pop("image")),
        thresholds=tuple(_threshold(**each) for each in data.pop("thresholds")),
        promotion=Promotion(**data.pop("promotion")),
        rollout=Rollout(**data.pop("rollout", {})),
        drift=_drift(**data.pop("drift", {})),
        coverage=Coverage(**data.pop("coverage", {})),
        summary_metrics=tuple(data.pop("summary_metrics")),
        quick_sample=tuple(data.pop("quick_sample", ())),
        gates=tuple(Gate(**each) for each in data.pop("gates", ())) or (EVALUATE_GATE,),
        options=tuple(_option(**each) for each in data.pop("options", ())),
        data_checks=tuple(DataCheck(**each) for each in data.pop("data_checks", ())),
        **data,
    )


def _bounds(bounds: dict[str, float]) -> dict[str, float | None]:
    return {name: None if math.isinf(value) else value for name, value in bounds.items()}


def _threshold(metric: str, **details) -> Threshold:
    """`at_least = 0.75` or `at_most = 0.25`; optional `name`, `gate`, `minimum`, `maximum`."""
    limits = {key: details.pop(key) for key in ("at_least", "at_most") if key in details}
    if len(limits) != 1:
        raise ValueError(f"threshold on {metric}: give exactly one of at_least, at_most")
    ((direction, default),) = limits.items()
    bounds = _bounds({key: details.pop(key) for key in ("minimum", "maximum") if key in details})
    make = at_least if direction == "at_least" else at_most
    return make(metric, default, **details, **bounds)


def _option(subcommands: list[str] = ("validate", "train"), choices: list[str] = (), **details) -> Option:
    return Option(subcommands=tuple(subcommands), choices=tuple(choices), **details)


def _drift(kind: str = "table", date_parts: list[dict] = (), ignore: list[str] = (), **text) -> TableDrift | TextDrift:
    if kind == "text":
        return TextDrift(**text)
    if kind != "table" or text:
        raise ValueError(f"drift: kind {kind!r} with keys {', '.join(text) or 'none'}: expected table or text")
    return TableDrift(ignore=tuple(ignore), date_parts=tuple(DatePart(**part) for part in date_parts))


def _source(folder: Path, query: str, **details) -> DataSource:
    """`query = "anomaly.sql"`: a file beside the declaration, read here (the Airflow side needs no file access)."""
    if "/" in query or not query.endswith(".sql"):
        raise ValueError(f"source: query {query!r}: the name of a .sql file beside the declaration")
    return DataSource(query_file=query, query=(folder / query).read_text(encoding="utf-8"), **details)
