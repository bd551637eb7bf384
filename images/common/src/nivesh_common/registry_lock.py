"""One registry move of a model at a time, across processes and machines, made atomic by MLflow's own store.

A registered model's name is a unique key of the tracking database: of two processes that create
`<model>.lock` at once, exactly one succeeds and holds the lock; it deletes the lock when its move is done.
The others wait, then make their move against what the holder left. A lock left by a process that died
(a killed pod) is broken after STALE_AFTER_S, far longer than any promotion takes.
"""

import logging
import os
import random
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from nivesh_common.errors import PassingConditionError

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"
ACQUIRED_AT_TAG = "nivesh.lock.acquired_at"
STALE_AFTER_S = 900
WAIT_S = 180


class RegistryBusyError(PassingConditionError):
    """Another registry move of the model held the lock for longer than this one would wait."""


def lock_name(model: str) -> str:
    return f"{model}{LOCK_SUFFIX}"


@contextmanager
def registry_lock(client: MlflowClient, model: str, wait_s: float = WAIT_S) -> Iterator[None]:
    lock = lock_name(model)
    deadline = time.monotonic() + wait_s
    while not _acquire(client, lock, model):
        if _stale(client, lock):
            log.warning("breaking %s: held for more than %d s by a process that is gone", lock, STALE_AFTER_S)
            _release(client, lock)
        elif time.monotonic() > deadline:
            holder = _holder(client, lock)
            raise RegistryBusyError(
                f"{model}: another promotion or rollback holds {lock} ({holder}) after {wait_s:.0f} s; "
                f"try again later, or delete the registered model {lock} if none is running"
            )
        else:
            time.sleep(0.5 + random.random())  # spread the waiters out
    try:
        yield
    finally:
        _release(client, lock)


def _acquire(client: MlflowClient, lock: str, model: str) -> bool:
    holder = f"held by {socket.gethostname()} pid {os.getpid()} while it moves {model}'s aliases"
    try:
        client.create_registered_model(lock, tags={ACQUIRED_AT_TAG: str(time.time())}, description=holder)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_ALREADY_EXISTS":
            return False
        raise
    return True


def _stale(client: MlflowClient, lock: str) -> bool:
    try:
        acquired_at = float(client.get_registered_model(lock).tags.get(ACQUIRED_AT_TAG, "0"))
    except MlflowException:
        return False  # released meanwhile: the next attempt takes it
    return time.time() - acquired_at > STALE_AFTER_S


def _holder(client: MlflowClient, lock: str) -> str:
    try:
        return client.get_registered_model(lock).description or "unknown holder"
    except MlflowException:
        return "just released"


def _release(client: MlflowClient, lock: str) -> None:
    try:
        client.delete_registered_model(lock)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
