"""Data quality against production, before training: new data must cover the classes production serves."""

import logging

import pandas as pd
from mlflow.entities.model_registry import ModelVersion

from nivesh_common.coverage import class_counts, coverage_problems, describe, trained_class_counts
from nivesh_common.errors import BadInputError, GateFailedError
from nivesh_contract.catalog import model_named

log = logging.getLogger(__name__)


def require_coverage(model: str, production: ModelVersion, table: pd.DataFrame, source: str) -> None:
    """Exit 3 (GateFailedError) naming each class production was trained on that the new data lacks."""
    rule = model_named(model).coverage
    trained_on = trained_class_counts(production.run_id)
    if trained_on is None:
        log.warning(
            "production v%s logged no class counts (trained before they were): coverage not checked", production.version
        )
        return
    column = trained_on["column"]
    if column not in table:
        raise BadInputError(f"{source}: missing column {column}, whose classes production v{production.version} knows")
    problems = coverage_problems(class_counts(table, column, rule.spans), trained_on["counts"], rule)
    if problems:
        raise GateFailedError(
            f"{source}: column {column} does not cover what production v{production.version} was trained on: "
            f"{describe(problems)}",
            {"coverage": {"column": column, "problems": problems}, "production_version": int(production.version)},
        )
