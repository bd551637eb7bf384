"""Step console scripts run in processes forked from a warm interpreter: the libraries every step imports (MLflow,
pandas, scikit-learn, Evidently...) are imported once per test worker instead of once per step, 2-6 CPU seconds of
each of the ~300 steps the tests run.

Each step is still a process of its own: its argv, environment, working directory, stdout and stderr files, exit
code, exit handlers and non-daemon threads are a fresh interpreter's. What it shares with the server is what was
decided at the server's start: the modules imported here (with the server's own minimal environment, as a step's
before its variables), the hash seed and OpenMP's thread count. A test that is about those (reproducibility across
processes, OMP_NUM_THREADS) runs the script in a fresh interpreter instead (`run_step(..., fresh=True)`). The
project reads settings inside commands, never at import (nivesh_common.settings), which is what makes this sound.

Run as a script, this module is the server: `python step_forkserver.py SOCKET`. It forks a waiter per request (the
server stays single-threaded, so that forking it is safe); the waiter forks the step, sends its pid, waits for it
and sends its exit code as the shell reports it (negative: the signal that ended it).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# The third-party modules steps import; not the project's (imported by each step, as they read nothing at import
# anyway) and not torch or transformers (they read HF_* variables at import, which the intent tests set).
WARM_MODULES = (
    "mlflow",
    "mlflow.tracking",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "mlflow.pyfunc",
    "pandas",
    "pyarrow",
    "pyarrow.parquet",
    "sklearn.base",
    "sklearn.metrics",
    "scipy.stats",
    "evidently",
    "typer",
    "pydantic_settings",
)


def _run_as_step(request: dict) -> None:
    """In the forked step: become the console script's process, run it as its interpreter would, exit."""
    import atexit
    import runpy

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path in ((0, os.devnull), (1, request["stdout"]), (2, request["stderr"])):
        opened = os.open(path, os.O_RDONLY if fd == 0 else os.O_WRONLY)
        os.dup2(opened, fd)
        os.close(opened)
    sys.argv = list(request["argv"])
    code = 0
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            code = exit.code or 0
        else:
            print(exit.code, file=sys.stderr)
            code = 1
    except BaseException as uncaught:  # noqa: BLE001 (what the interpreter does with an exception nothing caught)
        sys.excepthook(type(uncaught), uncaught, uncaught.__traceback__)
        code = 1
    threading._shutdown()  # as the interpreter does at exit: non-daemon threads finish, then exit handlers run
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _wait_for_step(connection: socket.socket) -> None:
    """In the waiter: fork the step, say its pid, wait for it, say its exit code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the server reaps waiters automatically; steps must be waited for
    with connection.makefile("r") as reader:
        request = json.loads(reader.readline())
    step = os.fork()
    if step == 0:
        connection.close()
        _run_as_step(request)
    connection.sendall(f"{step}\n".encode())
    _, status = os.waitpid(step, 0)
    connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())


def serve(socket_path: str) -> None:
    import gc
    import importlib
    import selectors

    for module in WARM_MODULES:
        importlib.import_module(module)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(16)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    gc.freeze()  # what was imported stays in pages the forks share instead of copying them at their first collection
    print("ready", flush=True)
    waiting = selectors.DefaultSelector()
    waiting.register(listener, selectors.EVENT_READ)
    waiting.register(sys.stdin, selectors.EVENT_READ)  # closed when the test worker that started us ends
    while True:
        for key, _ in waiting.select():
            if key.fileobj is sys.stdin:
                return
            connection, _ = listener.accept()
            if os.fork() == 0:
                listener.close()
                _wait_for_step(connection)
                os._exit(0)
            connection.close()


class StepForkServer:
    """The client: a server started for this process, and `run`, which has subprocess.run's contract."""

    def __init__(self, environment: dict[str, str]) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="nivesh-step-forks-"))
        self._socket = str(self._folder / "server.sock")
        self._server = subprocess.Popen(
            [sys.executable, __file__, self._socket], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment
        )
        if self._server.stdout.readline() != b"ready\n":
            raise RuntimeError(f"the step fork server did not start (exit {self._server.wait()})")

    def run(self, argv: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory(dir=self._folder) as outputs:
            stdout, stderr = Path(outputs, "stdout"), Path(outputs, "stderr")
            stdout.touch()
            stderr.touch()
            request = {"argv": argv, "env": env, "cwd": os.getcwd(), "stdout": str(stdout), "stderr": str(stderr)}
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.connect(self._socket)
                connection.sendall(json.dumps(request).encode() + b"\n")
                connection.settimeout(timeout)
                with connection.makefile("r") as replies:
                    pid = int(replies.readline())
                    try:
                        exit_code = int(replies.readline())
                    except TimeoutError:
                        os.kill(pid, signal.SIGKILL)
                        raise subprocess.TimeoutExpired(argv, timeout, stdout.read_text(), stderr.read_text()) from None
            return subprocess.CompletedProcess(argv, exit_code, stdout.read_text(), stderr.read_text())

    def stop(self) -> None:
        self._server.stdin.close()
        self._server.wait(30)


if __name__ == "__main__":
    serve(sys.argv[1])
