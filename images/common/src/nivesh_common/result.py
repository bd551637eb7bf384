"""The step's result: one JSON object in $NIVESH_XCOM_DIR/return.json and as the last stdout line."""

import json
import logging
import sys
from pathlib import Path
from typing import Any

from nivesh_contract.deployment import RESULT_FILE

log = logging.getLogger(__name__)


def emit_result(result: dict[str, Any], xcom_dir: Path) -> None:
    text = json.dumps(result, sort_keys=True, default=str)
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
