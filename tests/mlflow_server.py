"""A real `mlflow server` on 127.0.0.1 for a test: a SQLite store and served artifacts under `root`."""

import os
import time
import urllib.request
from pathlib import Path

from nivesh_platform.services import MLFLOW_SERVER_LEAN, Process, free_port
from steps import BIN


def start_mlflow_server(root: Path) -> tuple[str, Process]:
    """The server's URL once it answers, and its process (stop it, or kill it)."""
    port = free_port()
    command = [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination", str(root / "art")]
    server = Process.start("mlflow server", command, dict(os.environ) | MLFLOW_SERVER_LEAN, root / "server.log")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2)
            return url, server
        except OSError:
            server.check_alive()
            assert time.monotonic() < deadline, (root / "server.log").read_text()[-3000:]
            time.sleep(1)
