"""Tables in: a local path or any URL fsspec opens; CSV or Parquet, told apart by content."""

import hashlib
import io

import fsspec
import pandas as pd

from nivesh_common.errors import BadInputError

_PARQUET_MAGIC = b"PAR1"


def read_table(path: str) -> pd.DataFrame:
    """Read a CSV or Parquet table; every failure is a one-line BadInputError naming the file."""
    try:
        with fsspec.open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise BadInputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise BadInputError(f"{path}: is a directory, expected a CSV or Parquet file") from None
    except (OSError, ValueError) as exc:
        raise BadInputError(f"{path}: cannot be opened: {exc}") from None
    if not raw.strip():
        raise BadInputError(f"{path}: file is empty")
    table = _parse(path, raw)
    if table.empty or len(table.columns) == 0:
        raise BadInputError(f"{path}: no data rows")
    return table


def _parse(path: str, raw: bytes) -> pd.DataFrame:
    if raw[:4] == _PARQUET_MAGIC:
        try:
            return pd.read_parquet(io.BytesIO(raw))
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for corrupt files
            raise BadInputError(f"{path}: unreadable Parquet file: {exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{path}: not a CSV or Parquet file (byte {exc.start} is not UTF-8 text)") from None
    try:
        return pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise BadInputError(f"{path}: unreadable CSV: {str(exc).strip()}") from None


def write_table(table: pd.DataFrame, path: str) -> None:
    """Write CSV or Parquet by the path's suffix; refuses to overwrite an existing file."""
    fs, fs_path = fsspec.core.url_to_fs(path)
    if fs.exists(fs_path):
        raise BadInputError(f"{path}: already exists; refusing to overwrite data (remove it first)")
    parent = fs._parent(fs_path)
    if parent:
        fs.makedirs(parent, exist_ok=True)
    with fsspec.open(path, "wb") as handle:
        if path.endswith(".parquet"):
            table.to_parquet(handle, index=False)
        else:
            handle.write(table.to_csv(index=False).encode())


def table_sha256(table: pd.DataFrame) -> str:
    """Content hash of a table, independent of file format: same rows and columns, same hash."""
    digest = hashlib.sha256()
    digest.update(",".join(map(str, table.columns)).encode())
    digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def require_columns(table: pd.DataFrame, columns: list[str], source: str) -> None:
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise BadInputError(
            f"{source}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, table.columns))}"
        )
