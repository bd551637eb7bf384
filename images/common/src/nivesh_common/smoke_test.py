"""`smoke-test`: after a deployment, load `production` as a consumer would and check that it answers as its signature
says; a version that does not is taken out of production at once.

The step runs in a fresh process of the model's own image, which is what a consumer is: code, artifacts and
dependencies that do not load or predict there (a broken pin, a missing file) fail here first. A version that
cannot be checked (logged without a signature or an input example) fails too: no consumer could check it either.
"""

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.types.schema import AnyType, Array, ColSpec, DataType, Schema

from nivesh_common.cli import not_the_steps_fault
from nivesh_common.errors import GateFailedError
from nivesh_common.logs import Stopwatch
from nivesh_common.registry import rollback_production, version_by_alias
from nivesh_common.registry_lock import registry_lock
from nivesh_contract.names import (
    GATE_FAILED,
    GATE_PASSED,
    PREVIOUS,
    PRODUCTION,
    ROLLED_BACK_TAG,
    SMOKE_TEST_TAG,
    STAGING,
)
from nivesh_contract.results import SmokeTested, SmokeTestFailed

log = logging.getLogger(__name__)

MAX_REASON = 300
WHOLE = frozenset({DataType.integer, DataType.long})
REAL = frozenset({DataType.float, DataType.double})


class Unfit(Exception):
    """What a consumer of the version would meet: it does not load, does not predict, or answers otherwise."""


def smoke_test_production(client: MlflowClient, name: str, version: int) -> SmokeTested:
    """Load `models:/<name>@production` if it is `version`, predict on its logged input example and check the
    answer against its signature; on failure roll production back (or remove it: `version` was the first) and
    raise GateFailedError."""
    production = version_by_alias(client, name, PRODUCTION)
    outcome = {"model": name, "version": version, "production_version": int(production.version) if production else None}
    if outcome["production_version"] != version:
        staging = version_by_alias(client, name, STAGING)
        if staging is not None and int(staging.version) == version:  # a staged rollout: about to meet users too
            return _smoke_test_staging(client, name, version, outcome)
        held = f"production is v{production.version}" if production else "no version is production"
        return {**outcome, "tested": False, "reason": f"{held}, not v{version}: nothing new to test"}
    try:
        rows, seconds = _load_and_predict(f"models:/{name}@{PRODUCTION}")
    except Unfit as unfit:
        raise _taken_out(client, name, version, str(unfit)) from unfit
    client.set_model_version_tag(name, str(version), SMOKE_TEST_TAG, GATE_PASSED)
    log.info("%s v%d loaded and predicted %d rows as its signature says in %.2f s", name, version, rows, seconds)
    return {**outcome, "tested": True, "rows": rows, "seconds": seconds}


def _smoke_test_staging(client: MlflowClient, name: str, version: int, outcome: dict) -> SmokeTested:
    """`staging` checked as production would be; one that fails leaves staging (production untouched)."""
    try:
        rows, seconds = _load_and_predict(f"models:/{name}@{STAGING}")
    except Unfit as unfit:
        failed = f"smoke test of {name} v{version} (staging) failed: {unfit}"
        with registry_lock(client, name):
            client.delete_registered_model_alias(name, STAGING)
            client.set_model_version_tag(name, str(version), SMOKE_TEST_TAG, GATE_FAILED)
            client.set_model_version_tag(name, str(version), ROLLED_BACK_TAG, "true")
        log.warning("%s; staging removed, production untouched", failed)
        report: SmokeTestFailed = {
            "smoke_test": GATE_FAILED,
            "model": name,
            "version": version,
            "rolled_back_version": version,
            "production_version": outcome["production_version"],
            "alias": STAGING,
        }
        raise GateFailedError(f"{failed}; staging removed, production untouched", dict(report)) from unfit
    client.set_model_version_tag(name, str(version), SMOKE_TEST_TAG, GATE_PASSED)
    return {**outcome, "tested": True, "rows": rows, "seconds": seconds, "staging_version": version}


def _load_and_predict(uri: str) -> tuple[int, float]:
    """Rows predicted and seconds taken: what a consumer does, from loading to checking the answer."""
    watch = Stopwatch()
    with _as_a_consumer_meets_it(f"cannot load {uri}"):
        served = mlflow.pyfunc.load_model(uri)
    example, outputs = served.input_example, served.metadata.get_output_schema()
    if example is None or outputs is None:
        missing = "an input example" if example is None else "a signature"
        raise Unfit(f"{uri} was logged without {missing}: no consumer could check it")
    log.info("loaded %s in %.2f s; predicting on its input example (%d rows)", uri, watch.seconds, len(example))
    with _as_a_consumer_meets_it(f"predict on the input example of {uri} failed"):
        answer = served.predict(example)
    rows = _check_answer(answer, outputs)
    return rows, watch.seconds


@contextmanager
def _as_a_consumer_meets_it(doing: str) -> Iterator[None]:
    """Any failure inside becomes Unfit("<doing>: <Error>: <its first line>"); but a tracking server that stopped
    answering stays what it is (exit 1, retried): the version is not at fault."""
    try:
        yield
    except Exception as exc:  # whatever a consumer would meet fails the version
        if not_the_steps_fault(exc):
            raise
        raise Unfit(f"{doing}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    """The root cause (MLflow wraps a models-from-code import error in its own) as `Error: first line`, short."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = (str(exc).strip().splitlines() or [""])[0]
    described = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return described if len(described) <= MAX_REASON else f"{described[: MAX_REASON - 3]}..."


def _check_answer(answer, outputs: Schema) -> int:
    """Every output column of the signature in the answer, each with a type a consumer can read as declared; the
    number of rows answered. An unnamed output (a tensor) is checked for rows only."""
    try:
        table = answer if isinstance(answer, pd.DataFrame) else pd.DataFrame(answer)
    except (TypeError, ValueError):
        raise Unfit(f"its answer is a {type(answer).__name__}, not a table of its signature's outputs") from None
    if not outputs.has_input_names():
        return len(table)
    missing = [spec.name for spec in outputs.inputs if spec.required and spec.name not in table.columns]
    if missing:
        shown = ", ".join(map(str, table.columns)) or "none"
        raise Unfit(
            f"its answer lacks output column(s) {', '.join(missing)} of its signature (it has {shown})"[:MAX_REASON]
        )
    wrong = [_mismatch(spec, table[spec.name]) for spec in outputs.inputs if spec.name in table.columns and len(table)]
    if any(wrong):
        raise Unfit(
            f"output column(s) of another type than its signature says: {'; '.join(filter(None, wrong))}"[:MAX_REASON]
        )
    return len(table)


def _mismatch(spec: ColSpec, column: pd.Series) -> str | None:
    actual = _type_of(column)
    if _readable_as(spec.type, actual):
        return None
    shown = repr(actual) if actual is not None else "of a type MLflow cannot tell"
    return f"{spec.name} is {shown}, not {spec.type!r}"


def _type_of(column: pd.Series):
    """The type MLflow would declare for the column (as it did for the logged output), None where it cannot tell."""
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hints on integer columns; a failure to infer is answered below
        try:
            inferred = infer_signature(column.to_frame()).inputs
        except Exception:  # noqa: BLE001 - a column MLflow cannot describe is a mismatch, reported by name
            return None
    return inferred.inputs[0].type if inferred is not None and inferred.inputs else None


def _readable_as(declared, actual) -> bool:
    """A consumer reading `declared` can read `actual`: the same type, any on either side, a narrower number of the
    same kind, or whole numbers where decimals are declared."""
    if actual is None:
        return False
    if declared == actual or isinstance(declared, AnyType) or isinstance(actual, AnyType):
        return True
    if isinstance(declared, Array) and isinstance(actual, Array):
        return _readable_as(declared.dtype, actual.dtype)
    if not isinstance(declared, DataType) or not isinstance(actual, DataType):
        return type(declared) is type(actual)  # objects and maps: their shape is the model's own business
    return (declared in WHOLE and actual in WHOLE) or (declared in REAL and actual in WHOLE | REAL)


def _taken_out(client: MlflowClient, name: str, version: int, why: str) -> GateFailedError:
    """Take the failed `version` out of production; the error to raise, saying why and what happened."""
    failed = f"smoke test of {name} v{version} failed: {why}"
    client.set_model_version_tag(name, str(version), SMOKE_TEST_TAG, GATE_FAILED)
    production_version, rolled_back, happened = _out_of_production(client, name, version)
    log.warning("%s; %s", failed, happened)
    report: SmokeTestFailed = {
        "smoke_test": GATE_FAILED,
        "model": name,
        "version": version,
        "rolled_back_version": rolled_back,
        "production_version": production_version,
    }
    return GateFailedError(f"{failed}; {happened}", dict(report))


def _out_of_production(client: MlflowClient, name: str, version: int) -> tuple[int | None, int | None, str]:
    """Back to `previous`, or no production at all where `version` was the first (as before its promotion: a
    production that cannot load is worse than none); left alone if production moved meanwhile.
    (production version after, the version taken out, what happened)."""
    if moved := _moved(client, name, version):
        return moved
    if version_by_alias(client, name, PREVIOUS) is not None:
        back = rollback_production(client, name)["production_version"]
        return back, version, f"production rolled back to v{back}"
    with registry_lock(client, name):
        if moved := _moved(client, name, version):
            return moved
        client.delete_registered_model_alias(name, PRODUCTION)
        client.set_model_version_tag(name, str(version), ROLLED_BACK_TAG, "true")
    return None, version, f"production removed: v{version} was {name}'s first production version"


def _moved(client: MlflowClient, name: str, version: int) -> tuple[int | None, None, str] | None:
    production = version_by_alias(client, name, PRODUCTION)
    if production is not None and int(production.version) == version:
        return None
    now = int(production.version) if production else None
    return now, None, f"production moved to {f'v{now}' if now else 'none'} meanwhile and was left alone"
