"""CLI scaffolding: every image's console script is a Typer app whose commands are `@step`s.

A step returns a dict; the scaffolding adds `status` and `elapsed_s`, writes it as the XCom result
and maps the step library's errors to the contract's exit codes (0 done, 1 error, 2 bad input or
usage, 3 gate not passed), always with one readable line on stderr.
"""

import functools
import inspect
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any, is_typeddict

import typer
from typer.core import TyperGroup

from nivesh_common.errors import BadInputError, GateFailedError, PassingConditionError
from nivesh_common.logs import Stopwatch, configure_logging, redacted
from nivesh_common.result import emit_result
from nivesh_common.settings import XComSettings, apply_library_defaults
from nivesh_common.step_metrics import push_step_metrics
from nivesh_contract.exit_codes import ExitCode
from nivesh_contract.results import Status, missing_fields

log = logging.getLogger("nivesh")

StepFunction = Callable[..., dict[str, Any]]
REGISTRY_COMMANDS = ("register", "promote", "rollback", "smoke-test")


class StepCommands(TyperGroup):
    """`--help` lists the image's own steps first, as defined, and the registry commands last, in their order."""

    def list_commands(self, ctx) -> list[str]:
        order = {name: place for place, name in enumerate(REGISTRY_COMMANDS, start=1)}
        return sorted(super().list_commands(ctx), key=lambda name: order.get(name, 0))


def step_app(help_text: str) -> typer.Typer:
    app = typer.Typer(
        cls=StepCommands,
        help=help_text,
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def subcommands_always() -> None:
        """Keeps `IMAGE SUBCOMMAND` even for an image with a single subcommand."""

    return app


def step(fn: StepFunction) -> Callable[..., None]:
    """Wrap a step function with the result and exit-code contract.

    A step annotated to return a result shape of the contract (`-> Trained`) is checked against it.
    """
    shape = inspect.signature(fn).return_annotation

    @functools.wraps(fn)
    def run_step(*args: Any, **kwargs: Any) -> None:
        configure_logging()
        apply_library_defaults()
        xcom_dir = XComSettings().xcom_dir
        watch = Stopwatch()
        previous = signal.signal(signal.SIGTERM, _stop)
        try:
            result = {"status": Status.OK, **_checked(fn(*args, **kwargs), shape, fn.__name__)}
            exit_code = ExitCode.DONE
        except Exception as exc:  # noqa: BLE001 - every failure becomes the contract's result and exit code
            result, exit_code = _failure(exc)
        finally:
            signal.signal(signal.SIGTERM, previous)
        result["elapsed_s"] = watch.seconds
        emit_result(result, xcom_dir)
        push_step_metrics(result)
        if exit_code:
            raise typer.Exit(exit_code)

    return run_step


class Stopped(Exception):
    """SIGTERM: Airflow stops a pod so on a timeout or a task marked failed. Raised where the step is, so that its
    `finally` blocks run (a held registry lock is released) and its result says it was stopped."""


def _stop(signum: int, _frame) -> None:
    raise Stopped(f"stopped by {signal.Signals(signum).name} (a timeout, or the task marked failed)")


def _failure(exc: Exception) -> tuple[dict[str, Any], ExitCode]:
    """The result and exit code of a failed step, with one readable line on stderr (a traceback only for bugs)."""
    message = redacted(str(exc))
    if isinstance(exc, BadInputError):
        log.error("bad input: %s", message)
        return {"status": Status.BAD_INPUT, "error": message}, exc.exit_code
    if isinstance(exc, GateFailedError):
        log.error("quality gate not passed: %s", message)
        return {"status": Status.GATE_FAILED, "error": message, **exc.report}, exc.exit_code
    if isinstance(exc, Stopped):
        log.error("%s", message)
        return {"status": Status.ERROR, "error": message}, ExitCode.ERROR
    if not_the_steps_fault(exc):
        if not isinstance(exc, PassingConditionError):
            first_line = (message.splitlines() or [type(exc).__name__])[0]
            message = f"MLflow tracking server stopped answering ({first_line[:300]})"
        log.error("%s", message)
        return {"status": Status.ERROR, "error": message}, ExitCode.ERROR
    log.exception("step failed")
    log.error("error: %s: %s", type(exc).__name__, message)
    return {"status": Status.ERROR, "error": f"{type(exc).__name__}: {message}"}, ExitCode.ERROR


def not_the_steps_fault(exc: Exception) -> bool:
    """A passing condition (a busy registry) or a lost tracking server: exit 1, retried; never bad data or a bad
    model."""
    return isinstance(exc, PassingConditionError) or _lost_tracking(exc)


def _lost_tracking(exc: Exception) -> bool:
    """MLflow's REST client gave up on its server (refused, reset, timed out) after its bounded retries."""
    libraries = {cls.__module__.split(".")[0] for cls in type(exc).__mro__}
    text = str(exc)
    return bool({"requests", "urllib3"} & libraries) or ("API request to" in text and "failed with exception" in text)


def _checked(result: dict[str, Any], shape: Any, command: str) -> dict[str, Any]:
    if is_typeddict(shape) and (missing := missing_fields(result, shape)):
        raise TypeError(f"{command}'s result lacks {', '.join(missing)} of {shape.__name__}")
    return result


def run_app(app: typer.Typer, prog_name: str) -> None:
    """Console-script entry point: usage errors become one line and exit 2, not a usage banner."""
    command = typer.main.get_command(app)
    try:
        exit_code = command.main(prog_name=prog_name, standalone_mode=False)
    except typer.TyperException as exc:  # Typer's (vendored Click's) usage and parameter errors
        sys.stderr.write(f"{prog_name}: error: {exc.format_message()} (see '{prog_name} --help')\n")
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write(f"{prog_name}: aborted\n")
        sys.exit(1)
    sys.exit(exit_code if isinstance(exit_code, int) else 0)
