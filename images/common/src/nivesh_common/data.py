"""Tables in: a local path or any URL fsspec opens; CSV, Parquet, JSON or JSONL, told apart by content."""

import csv
import errno
import hashlib
import io
import json
import socket
import stat
from collections import Counter
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import fsspec
import pandas as pd
import pyarrow.parquet as pq

from nivesh_common.errors import BadInputError, SourceUnreachableError
from nivesh_common.settings import DataSettings
from nivesh_contract.deployment import DATA_ROOT_VARIABLE, DATA_SCHEMES_VARIABLE

_PARQUET_MAGIC = b"PAR1"


def read_table(path: str) -> pd.DataFrame:
    """Read a CSV, Parquet, JSON (array of objects) or JSONL table; failures are one-line BadInputErrors."""
    table = _parse(path, _read_bytes(path))
    _refuse_duplicate_columns(path, list(map(str, table.columns)))
    if table.empty or len(table.columns) == 0:
        raise BadInputError(f"{path}: no data rows")
    return table


def read_records(path: str) -> list[tuple[str, dict]]:
    """The objects of a JSON array or JSONL file, each with where it is ("line 3", "item 3") for errors."""
    raw = _read_bytes(path)
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Excel, Windows tools) is not part of the content
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{path}: not a JSON or JSONL file (byte {exc.start} is not UTF-8 text)") from None
    if text.lstrip()[:1] not in ("[", "{"):
        raise BadInputError(f"{path}: not a JSON or JSONL file (expected objects, one per line)")
    return _json_records(path, text)


def _read_bytes(path: str) -> bytes:
    check_data_path(path)
    _refuse_special_file(path)
    try:
        with fsspec.open(path, "rb") as handle:
            raw = handle.read()
    except Exception as exc:  # fsspec's backends raise their own types: sorted out below
        if reason := _unreachable(exc):
            host = urlsplit(path).hostname or path
            raise SourceUnreachableError(
                f"{path}: {host} did not answer ({reason}); exit 1 so that it is retried"
            ) from None
        if isinstance(exc, FileNotFoundError):
            raise BadInputError(_file_not_found(path)) from None
        if isinstance(exc, IsADirectoryError):
            raise BadInputError(f"{path}: is a directory, expected a data file") from None
        if isinstance(exc, OSError | ValueError):
            raise BadInputError(f"{path}: cannot be opened: {exc}") from None
        raise
    if not raw.strip():
        raise BadInputError(f"{path}: file is empty")
    return raw


def check_data_path(path: str) -> None:
    """Refuse a path outside the data root or a URL of a scheme not allowed (settings.DataSettings)."""
    settings = DataSettings()
    # fsspec's own reading of the protocol, so that what it would open is what is checked: `data:...` (no //) is
    # its inline-bytes protocol, which a split on :// took for a local file name.
    scheme = fsspec.core.split_protocol(path)[0] or "file"
    if scheme not in settings.allowed_schemes:
        allowed = ", ".join(sorted(settings.allowed_schemes))
        shown = f"{scheme}://" if "://" in path else f"{scheme}:"
        raise BadInputError(
            f"{path}: {shown} is not an allowed source here (allowed: {allowed}; {DATA_SCHEMES_VARIABLE})"
        )
    if settings.data_root and not _within(path, settings.data_root):
        raise BadInputError(f"{path}: outside the data root {settings.data_root} ({DATA_ROOT_VARIABLE})")


_UNREACHABLE_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT}


def _unreachable(exc: BaseException | None) -> str | None:
    """Why a remote source did not answer (refused, unreachable, timed out, HTTP 5xx), found in `exc` or what caused
    it: fsspec's HTTP backend reports a refused connection as FileNotFoundError. None where it answered (a 404 is a
    missing file: bad input)."""
    while exc is not None:
        status = getattr(exc, "status", None)
        if isinstance(status, int) and status >= 500:
            return f"HTTP {status}"
        if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror) or (
            getattr(exc, "errno", None) in _UNREACHABLE_ERRNOS
        ):
            return f"{type(exc).__name__}: {exc}"[:200]
        exc = exc.__cause__ or exc.__context__
    return None


def _refuse_special_file(path: str) -> None:
    """A FIFO, socket or device would block the read, or never end: in a pod, a step stuck until its timeout."""
    if "://" in path.removeprefix("file://"):
        return
    try:
        mode = Path(path.removeprefix("file://")).stat().st_mode
    except OSError:
        return  # missing or unreadable: the read says which
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise BadInputError(f"{path}: not a regular file (a FIFO, socket or device); expected a data file")


def _within(path: str, root: str) -> bool:
    if "://" in root:
        prefix = root.rstrip("/") + "/"
        return path.startswith(prefix) and ".." not in PurePosixPath(path.removeprefix(prefix)).parts
    local = Path(path.removeprefix("file://"))
    return "://" not in path.removeprefix("file://") and local.resolve().is_relative_to(Path(root).resolve())


def _file_not_found(path: str) -> str:
    """Names the missing directory when there is one: in a container, that is usually an unmounted volume."""
    directory = PurePosixPath(path).parent
    if "://" in path or Path(directory).is_dir():
        return f"{path}: file not found"
    mount = f"in a container: -v HOST_DIR:{directory}"
    return f"{path}: file not found; directory {directory} does not exist here ({mount})"


def _parse(path: str, raw: bytes) -> pd.DataFrame:
    if raw[:4] == _PARQUET_MAGIC:
        try:
            names = pq.read_schema(io.BytesIO(raw)).names
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for corrupt files
            raise BadInputError(f"{path}: unreadable Parquet file: {exc}") from None
        _refuse_duplicate_columns(path, names, "the schema")
        try:
            # Read and converted on this thread, Arrow's thread pools never started: with them, a step that exits at
            # once (bad input) was once aborted at interpreter exit ("terminate called without an active exception",
            # exit -6, so retried; apache/arrow#34314).
            table = pq.read_table(io.BytesIO(raw), use_threads=False, pre_buffer=False)
            return table.to_pandas(use_threads=False)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for corrupt files
            raise BadInputError(f"{path}: unreadable Parquet file: {exc}") from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Excel, Windows tools) is not part of the content
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{path}: not a CSV, JSON or Parquet file (byte {exc.start} is not UTF-8 text)") from None
    if text.lstrip()[:1] in ("[", "{"):
        return pd.DataFrame.from_records([record for _, record in _json_records(path, text)])
    # pandas renames a repeated header name (`age`, `age.1`): the header itself is checked first.
    _refuse_duplicate_columns(path, next(csv.reader(io.StringIO(text)), []))
    try:
        return pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise BadInputError(f"{path}: unreadable CSV: {str(exc).strip()}") from None


def _refuse_duplicate_columns(path: str, names: list[str], where: str = "the header", kind: str = "column") -> None:
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        positions = [str(number) for number, name in enumerate(names, start=1) if name == repeated[0]]
        raise BadInputError(
            f"{path}: {where}: {kind} {repeated[0]!r} appears {len(positions)} times "
            f"({kind}s {', '.join(positions)}); each {kind} must be named once"
        )


def _unique_keys(path: str, where: str) -> Callable[[list[tuple[str, object]]], dict]:
    """json.loads' object hook that refuses a repeated key (json keeps the last one silently)."""

    def as_dict(pairs: list[tuple[str, object]]) -> dict:
        _refuse_duplicate_columns(path, [key for key, _ in pairs], where, "key")
        return dict(pairs)

    return as_dict


def _json_records(path: str, text: str) -> list[tuple[str, dict]]:
    """A JSON array of objects, or JSON Lines (one object per line); errors name the line."""
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text, object_pairs_hook=_unique_keys(path, "a JSON object"))
        except json.JSONDecodeError as exc:
            raise BadInputError(f"{path}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
        numbered = list(enumerate(records, start=1))
        where = "item"
    else:
        numbered = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    numbered.append((number, json.loads(line, object_pairs_hook=_unique_keys(path, f"line {number}"))))
                except json.JSONDecodeError as exc:
                    raise BadInputError(f"{path}: line {number}: invalid JSON: {exc.msg}") from None
        where = "line"
    for number, record in numbered:
        if not isinstance(record, dict):
            raise BadInputError(f"{path}: {where} {number}: expected a JSON object, got {type(record).__name__}")
    return [(f"{where} {number}", record) for number, record in numbered]


def write_table(table: pd.DataFrame, path: str) -> None:
    """Write CSV, Parquet or JSONL by the path's suffix; refuses to overwrite an existing file."""
    fs, fs_path = fsspec.core.url_to_fs(path)
    if fs.exists(fs_path):
        raise BadInputError(f"{path}: already exists; refusing to overwrite data (remove it first)")
    parent = fs._parent(fs_path)
    if parent:
        fs.makedirs(parent, exist_ok=True)
    with fsspec.open(path, "wb") as handle:
        if path.endswith(".parquet"):
            table.to_parquet(handle, index=False)
        elif path.endswith(".jsonl"):
            handle.write(table.to_json(orient="records", lines=True, force_ascii=False).encode())
        else:
            handle.write(table.to_csv(index=False).encode())


def table_sha256(table: pd.DataFrame) -> str:
    """Content hash of a table, independent of file format: same rows and columns, same hash."""
    digest = hashlib.sha256()
    digest.update(",".join(map(str, table.columns)).encode())
    digest.update(pd.util.hash_pandas_object(flattened(table), index=False).to_numpy().tobytes())
    return digest.hexdigest()


def flattened(table: pd.DataFrame) -> pd.DataFrame:
    """Nested values (a JSON record's arrays and objects) as JSON text: hashable, and storable as Parquet."""

    def as_text(value):
        return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value

    def is_nested(column: pd.Series) -> bool:
        return column.dtype == object and column.map(lambda value: isinstance(value, list | dict)).any()

    return table.assign(**{name: table[name].map(as_text) for name in table.columns if is_nested(table[name])})


def require_columns(table: pd.DataFrame, columns: list[str], source: str) -> None:
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise BadInputError(f"{source}: missing column(s) {', '.join(missing)}; found {_shown(table.columns)}")


def _shown(columns: pd.Index, most: int = 12, width: int = 40) -> str:
    """Column names for an error line, cut short: a wrong file's first line is not worth repeating whole."""
    names = [name if len(name) <= width else f"{name[:width]}..." for name in map(str, columns[:most])]
    return ", ".join(names) + (f" and {len(columns) - most} more" if len(columns) > most else "")
