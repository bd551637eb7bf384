"""A throwaway PostgreSQL server (Debian's `postgresql` package) under a directory: the app's database as the tests
and the refresh benchmark see it. Listens on 127.0.0.1 only, on a free port; password login over TCP."""

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from nivesh_platform.services import free_port

PG_BIN = Path(os.environ.get("NIVESH_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVICE_USER = "postgres"  # initdb refuses root: as root, the server runs as the package's own user


class PostgresMissing(RuntimeError):
    """Debian's postgresql is not installed here."""


@dataclass(frozen=True)
class LocalPostgres:
    directory: Path
    port: int
    user: str
    password: str
    database: str

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def stop(self) -> None:
        _run_as_owner([str(PG_BIN / "pg_ctl"), "stop", "-D", str(self.directory / "data"), "-m", "immediate"])


def start_local_postgres(directory: Path, user: str = "nivesh", password: str = "nivesh-secret") -> LocalPostgres:
    """initdb, start and a database `app` owned by `user` (who logs in with `password`)."""
    if not (PG_BIN / "initdb").exists():
        raise PostgresMissing(f"{PG_BIN / 'initdb'} not found: apt-get install postgresql (or set NIVESH_PG_BIN)")
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(directory, SERVICE_USER)
    data, port = directory / "data", free_port()
    password_file = directory / "superuser-password"
    password_file.write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(password_file, SERVICE_USER)
    _run_as_owner(
        [
            str(PG_BIN / "initdb"),
            "-D",
            str(data),
            "-U",
            user,
            f"--pwfile={password_file}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {directory} -c fsync=off -c synchronous_commit=off"
    _run_as_owner(
        [str(PG_BIN / "pg_ctl"), "start", "-w", "-D", str(data), "-l", str(directory / "server.log"), "-o", options]
    )
    _run_as_owner([str(PG_BIN / "createdb"), "-h", str(directory), "-p", str(port), "-U", user, "app"])
    return LocalPostgres(directory, port, user, password, "app")


def _run_as_owner(command: list[str]) -> None:
    if os.geteuid() == 0:
        command = ["runuser", "-u", SERVICE_USER, "--", *command]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: exit {completed.returncode}: {completed.stderr[-2000:]}")
