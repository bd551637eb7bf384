"""Readable log lines on stderr: they are what `kubectl logs` and the Airflow task log show.

Credentials in URLs (`http://user:password@host`) never reach a log line, a result or an error message.
"""

import logging
import os
import re
import sys
import time

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# A URL's user-info: everything in its authority (which ends at /, ?, # or a space) up to the authority's LAST @, as
# URL parsers read it (urllib's hostname is what follows the last @): a password may contain @ unencoded.
_CREDENTIALS = re.compile(r"(?<=://)[^/?#\s]*@")


def redacted(text: str) -> str:
    """`http://user:secret@host/x` (and `http://user:se@cret@host/x`) as `http://***@host/x`."""
    return _CREDENTIALS.sub("***@", text)


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redacted(super().format(record))


def configure_logging(level: int = logging.INFO) -> None:
    # Progress bars are noise in `kubectl logs` and task logs; so is MLflow at INFO, which sets its loggers' level
    # when it is imported (often after this, inside a command) from this variable, not from what is set below.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    logging.basicConfig(level=level, format=_FORMAT, stream=sys.stderr, force=True)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_RedactingFormatter(_FORMAT))
    # MLflow and friends are chatty at INFO; their warnings still show.
    for noisy in ("mlflow", "alembic", "urllib3", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class Stopwatch:
    """Elapsed seconds since creation, for progress lines and the result's timings."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self._start, 3)
