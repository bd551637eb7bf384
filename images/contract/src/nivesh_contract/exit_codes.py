"""Exit codes of every step command, and which of them Airflow must not retry."""

from enum import IntEnum


class ExitCode(IntEnum):
    DONE = 0
    ERROR = 1  # anything else, an unreachable MLflow server included: retried
    BAD_INPUT = 2  # one line names the file, column, row or field
    GATE_FAILED = 3  # the result names the metric, value and threshold


# The same input gives the same answer: a retry cannot help.
NOT_RETRIED = {ExitCode.BAD_INPUT: "bad input", ExitCode.GATE_FAILED: "quality gate not passed"}
