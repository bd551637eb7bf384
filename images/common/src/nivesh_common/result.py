"""The step's result: one JSON object in $NIVESH_XCOM_DIR/return.json and as the last stdout line."""

import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

from nivesh_common.logs import redacted
from nivesh_contract.deployment import RESULT_FILE

log = logging.getLogger(__name__)


def emit_result(result: dict[str, Any], xcom_dir: Path) -> None:
    """Strict JSON (RFC 8259): a non-finite number is written as null, never as NaN or Infinity; a URL's
    credentials as `***` (a data URL is echoed as the result's `path`, which XCom and the Airflow UI show)."""
    text = json.dumps(_strict(result), sort_keys=True, default=str, allow_nan=False)
    _write_xcom(text, xcom_dir)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _write_xcom(text: str, xcom_dir: Path) -> None:
    # The printed line still carries the result; a read-only or missing XCom dir must not hide it.
    try:
        xcom_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        # An image run by hand: no XCom volume, a read-only root filesystem. Nothing is wrong.
        log.debug("no XCom dir %s: the result is only the last stdout line", xcom_dir)
        return
    try:
        (xcom_dir / RESULT_FILE).write_text(text)
    except OSError as exc:
        log.warning("could not write %s/%s: %s", xcom_dir, RESULT_FILE, exc)


def _strict(value: Any) -> Any:
    """Containers walked; NumPy scalars as Python numbers; NaN and infinities as None; credentials in text hidden."""
    if isinstance(value, dict):
        return {str(key): _strict(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(item) for item in value]
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return redacted(value)
    return value
