"""Errors that map to the step contract's exit codes."""

from nivesh_contract.exit_codes import ExitCode


class BadInputError(Exception):
    """Bad data, flags or environment: exit 2 with one line naming the file, column, row or field."""

    exit_code = ExitCode.BAD_INPUT


class GateFailedError(Exception):
    """A quality gate did not pass: exit 3; `report` says which metric, value and threshold."""

    exit_code = ExitCode.GATE_FAILED

    def __init__(self, message: str, report: dict):
        super().__init__(message)
        self.report = report


class PassingConditionError(Exception):
    """Something that may pass on its own (a server down, a lock held): exit 1, so Airflow retries; one line,
    no traceback."""

    exit_code = ExitCode.ERROR


class TrackingUnavailableError(PassingConditionError):
    """The MLflow tracking store cannot be reached."""


class SourceUnreachableError(PassingConditionError):
    """A remote data source refused, timed out or answered 5xx: an outage, not bad input."""
