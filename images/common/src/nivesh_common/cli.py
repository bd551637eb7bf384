"""CLI scaffolding: every image's console script is a Typer app whose commands are `@step`s.

A step returns a dict; the scaffolding adds `status` and `elapsed_s`, writes it as the XCom result
and maps the step library's errors to the contract's exit codes (0 done, 1 error, 2 bad input or
usage, 3 gate not passed), always with one readable line on stderr.
"""

import functools
import inspect
import logging
import sys
from collections.abc import Callable
from typing import Any, is_typeddict

import typer
from typer.core import TyperGroup

from nivesh_common.errors import BadInputError, GateFailedError, TrackingUnavailableError
from nivesh_common.logs import Stopwatch, configure_logging
from nivesh_common.result import emit_result
from nivesh_common.settings import XComSettings
from nivesh_contract.exit_codes import ExitCode
from nivesh_contract.results import Status, missing_fields

log = logging.getLogger("nivesh")

StepFunction = Callable[..., dict[str, Any]]
REGISTRY_COMMANDS = ("register", "promote", "rollback")


class StepCommands(TyperGroup):
    """`--help` lists the image's own steps first, as defined, and the registry commands last."""

    def list_commands(self, ctx) -> list[str]:
        return sorted(super().list_commands(ctx), key=lambda name: name in REGISTRY_COMMANDS)


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
        xcom_dir = XComSettings().xcom_dir
        watch = Stopwatch()
        try:
            result = {"status": Status.OK, **_checked(fn(*args, **kwargs), shape, fn.__name__)}
            exit_code = ExitCode.DONE
        except BadInputError as exc:
            log.error("bad input: %s", exc)
            result, exit_code = {"status": Status.BAD_INPUT, "error": str(exc)}, exc.exit_code
        except GateFailedError as exc:
            log.error("quality gate not passed: %s", exc)
            result = {"status": Status.GATE_FAILED, "error": str(exc), **exc.report}
            exit_code = exc.exit_code
        except TrackingUnavailableError as exc:
            log.error("%s", exc)
            result, exit_code = {"status": Status.ERROR, "error": str(exc)}, exc.exit_code
        except Exception as exc:
            log.exception("step failed")
            log.error("error: %s: %s", type(exc).__name__, exc)
            result, exit_code = {"status": Status.ERROR, "error": f"{type(exc).__name__}: {exc}"}, ExitCode.ERROR
        result["elapsed_s"] = watch.seconds
        emit_result(result, xcom_dir)
        if exit_code:
            raise typer.Exit(exit_code)

    return run_step


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
