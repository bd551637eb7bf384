"""The step's result: one JSON object in $NIVESH_XCOM_DIR/return.json and as the last stdout line."""

import json
import logging
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def emit_result(result: dict[str, Any], xcom_dir: Path) -> None:
    text = json.dumps(result, sort_keys=True, default=str)
    try:
        xcom_dir.mkdir(parents=True, exist_ok=True)
        (xcom_dir / "return.json").write_text(text)
    except OSError as exc:
        # The printed line still carries the result; a read-only or missing XCom dir must not hide it.
        log.warning("could not write %s/return.json: %s", xcom_dir, exc)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
