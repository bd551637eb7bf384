"""A model's training-data snapshots: extracted from the app's PostgreSQL in chunks, written once, never changed.

Under the model's folder of the data root (`<data root>/anomaly/`):

    incoming/<id>/    just extracted, until the model's own `validate` has judged it
    snapshots/<id>/   validated and announced: `data.parquet` (or `data.jsonl`) and `manifest.json`
    quarantine/<id>/  refused by `validate`, kept for inspection

`<id>` is `<window end, UTC>-<first 12 hex digits of the file's sha256>`. Heavy imports (pyarrow) stay inside the
functions: the DAG files that import this module must parse fast.
"""

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nivesh_contract.declaration import DataSource, ModelDeclaration
from nivesh_contract.names import SNAPSHOT_MANIFEST as MANIFEST

INCOMING, SNAPSHOTS, QUARANTINE = "incoming", "snapshots", "quarantine"
HASH_BLOCK = 1 << 20


class ExtractError(RuntimeError):
    """The source or its query failed: one line naming the query and what went wrong; never a password."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable  # the source may answer later (refused, timed out); bad SQL or no rows will not


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @classmethod
    def ending(cls, end: datetime, days: int) -> "Window":
        end = end.astimezone(UTC).replace(microsecond=0)
        return cls(end - timedelta(days=days), end)


def model_folder(data_root: str, model: ModelDeclaration) -> Path:
    return Path(data_root) / model.data_folder


def data_file_name(source: DataSource) -> str:
    return f"data.{source.format}"


def read_manifest(snapshot: Path) -> dict:
    """A snapshot's manifest; one line naming the file where it is not one (edited by hand, cut short)."""
    path = snapshot / MANIFEST
    try:
        manifest = json.loads(path.read_text())
        datetime.fromisoformat(manifest["extracted_at"])
        str(manifest["file"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: unreadable snapshot manifest ({type(error).__name__}: {error})") from None
    return manifest


def announced(folder: Path) -> list[Path]:
    """The model's announced snapshots, oldest first (by the time each was extracted)."""
    found = [path.parent for path in (folder / SNAPSHOTS).glob(f"*/{MANIFEST}")]
    return sorted(found, key=lambda snapshot: (read_manifest(snapshot)["extracted_at"], snapshot.name))


def newest_data_file(data_root: str, data_file: str) -> str:
    """The newest announced snapshot's data file of the model whose declared file is `data_file`; "" when it has
    none. A DAG macro: where no run names its data, the model's steps train on its newest snapshot."""
    snapshots = announced(Path(data_root) / data_file.rpartition("/")[0])
    if not snapshots:
        return ""
    newest = snapshots[-1]
    return str(newest / read_manifest(newest)["file"])


# --- extraction --------------------------------------------------------------------------------------------------


def extract_snapshot(connect: Callable, model: ModelDeclaration, window: Window, folder: Path) -> dict:
    """Runs the model's query over `window` on a connection from `connect()` (psycopg 3: the Postgres hook's
    get_conn; read-only, a server-side cursor fetched in chunks) into `folder/incoming/<id>/`; returns its manifest.
    Nothing is left behind when it fails."""
    source = model.source
    partial = folder / INCOMING / f".partial-{os.getpid()}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
    partial.mkdir(parents=True)
    try:
        target = partial / data_file_name(source)
        columns, rows = _write_rows(connect, source, window, target)
        sha256 = file_sha256(target)
        snapshot_id = f"{window.end:%Y%m%dT%H%M%SZ}-{sha256[:12]}"
        manifest = {
            "model": model.name,
            "snapshot": snapshot_id,
            "file": target.name,
            "format": source.format,
            "sha256": sha256,
            "rows": rows,
            "columns": columns,
            "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
            "query_file": source.query_file,
            "query_sha256": hashlib.sha256(source.query.encode()).hexdigest(),
            "extracted_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        final = folder / INCOMING / snapshot_id
        if final.exists():
            shutil.rmtree(final)  # an earlier try of the same extract that stopped before validation
        partial.rename(final)
        return manifest
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _write_rows(connect: Callable, source: DataSource, window: Window, target: Path) -> tuple[list[dict], int]:
    import psycopg
    from psycopg.types.numeric import FloatLoader

    named = f"query {source.query_file}"
    try:
        with connect() as connection, connection.transaction(), connection.cursor() as settings:
            # NUMERIC as float: Parquet and every model read numbers as float64, not Python Decimals.
            connection.adapters.register_loader("numeric", FloatLoader)
            settings.execute("SET TRANSACTION READ ONLY")  # a query can only read, whatever its file says
            settings.execute("SET LOCAL TIME ZONE 'UTC'")
            settings.execute(f"SET LOCAL statement_timeout = {source.timeout_s * 1000}")
            with connection.cursor(name="nivesh_snapshot") as cursor:
                cursor.itersize = source.chunk_rows
                cursor.execute(source.query, {"window_start": window.start, "window_end": window.end})
                columns = [(column.name, column.type_code) for column in cursor.description]
                for name, oid in columns:
                    _arrow_type(name, oid)  # refuses a type no snapshot holds before anything is fetched
                chunks = _chunks(cursor, source.chunk_rows)
                write = _write_parquet if source.format == "parquet" else _write_jsonl
                rows = write(target, columns, chunks, source.chunk_rows)
    except psycopg.errors.QueryCanceled:
        raise ExtractError(f"{named}: ran past its timeout of {source.timeout_s} s", retryable=True) from None
    except psycopg.OperationalError as error:
        raise ExtractError(f"{named}: the source did not answer: {_first_line(error)}", retryable=True) from None
    except psycopg.Error as error:
        raise ExtractError(f"{named}: {_first_line(error)}", retryable=False) from None
    if rows == 0:
        raise ExtractError(
            f"{named}: no rows between {window.start.isoformat()} and {window.end.isoformat()}", retryable=False
        )
    return [{"name": name, "postgres_type": type_name(oid)} for name, oid in columns], rows


def _chunks(cursor, size: int) -> Iterator[list[tuple]]:
    while rows := cursor.fetchmany(size):
        yield rows


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


# PostgreSQL type OIDs and the Arrow type of each; anything else must be cast in the query.
_BOOL, _INT2, _INT4, _INT8, _FLOAT4, _FLOAT8, _NUMERIC = 16, 21, 23, 20, 700, 701, 1700
_TEXT, _VARCHAR, _BPCHAR, _NAME, _DATE, _TIMESTAMP, _TIMESTAMPTZ, _JSON, _JSONB = (
    25,
    1043,
    1042,
    19,
    1082,
    1114,
    1184,
    114,
    3802,
)
_TYPE_NAMES = {
    _BOOL: "boolean",
    _INT2: "smallint",
    _INT4: "integer",
    _INT8: "bigint",
    _FLOAT4: "real",
    _FLOAT8: "double precision",
    _NUMERIC: "numeric",
    _TEXT: "text",
    _VARCHAR: "character varying",
    _BPCHAR: "character",
    _NAME: "name",
    _DATE: "date",
    _TIMESTAMP: "timestamp without time zone",
    _TIMESTAMPTZ: "timestamp with time zone",
    _JSON: "json",
    _JSONB: "jsonb",
}


def type_name(oid: int) -> str:
    return _TYPE_NAMES.get(oid, f"type oid {oid}")


def _arrow_type(name: str, oid: int):
    import pyarrow as pa

    types = {
        _BOOL: pa.bool_(),
        _INT2: pa.int64(),
        _INT4: pa.int64(),
        _INT8: pa.int64(),
        _FLOAT4: pa.float64(),
        _FLOAT8: pa.float64(),
        _NUMERIC: pa.float64(),
        _TEXT: pa.string(),
        _VARCHAR: pa.string(),
        _BPCHAR: pa.string(),
        _NAME: pa.string(),
        _DATE: pa.date32(),
        _TIMESTAMP: pa.timestamp("us"),
        _TIMESTAMPTZ: pa.timestamp("us", tz="UTC"),
        _JSON: pa.string(),
        _JSONB: pa.string(),
    }
    if oid not in types:
        raise ExtractError(
            f"column {name!r}: PostgreSQL {type_name(oid)} has no snapshot type; cast it in the query "
            "(to text, a number, a date or a timestamp)",
            retryable=False,
        )
    return types[oid]


def _write_parquet(target: Path, columns: Sequence[tuple[str, int]], chunks: Iterable[list[tuple]], size: int) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, _arrow_type(name, oid)) for name, oid in columns])
    as_json = [oid in (_JSON, _JSONB) for _, oid in columns]
    rows = 0
    with pq.ParquetWriter(target, schema, compression="zstd") as writer:
        for chunk in chunks:
            values = list(zip(*chunk, strict=True))
            arrays = [
                pa.array([_json_text(value) for value in column] if nested else column, type=field.type)
                for column, field, nested in zip(values, schema, as_json, strict=True)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema), row_group_size=size)
            rows += len(chunk)
    return rows


def _json_text(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _write_jsonl(target: Path, columns: Sequence[tuple[str, int]], chunks: Iterable[list[tuple]], size: int) -> int:
    names = [name for name, _ in columns]
    rows = 0
    with target.open("w", encoding="utf-8") as handle:
        for chunk in chunks:
            for row in chunk:
                handle.write(json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False, default=_iso) + "\n")
            rows += len(chunk)
    return rows


def _iso(value) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


# --- what happens to an extract ----------------------------------------------------------------------------------


def is_unchanged(folder: Path, manifest: dict) -> bool:
    """The newest announced snapshot holds the same bytes: nothing new to announce."""
    snapshots = announced(folder)
    return bool(snapshots) and read_manifest(snapshots[-1])["sha256"] == manifest["sha256"]


def discard(folder: Path, snapshot_id: str) -> None:
    shutil.rmtree(folder / INCOMING / snapshot_id, ignore_errors=True)


def move(folder: Path, snapshot_id: str, to: str) -> Path:
    """incoming/<id> to snapshots/<id> or quarantine/<id>, in one rename (the same file system)."""
    target, incoming = folder / to / snapshot_id, folder / INCOMING / snapshot_id
    if target.exists() and not incoming.exists():
        return target  # moved by an earlier try of the same task
    target.parent.mkdir(exist_ok=True)
    if target.exists():
        shutil.rmtree(target)  # the same bytes over the same window, quarantined or announced before
    incoming.rename(target)
    return target


def prune(folder: Path, keep: int, trained_on: set[str]) -> list[str]:
    """Deletes the announced snapshots older than the newest `keep`, except any a production or previous version was
    trained on: `trained_on` holds their runs' `nivesh.data.source` tags, matched by snapshot id (the data root is
    mounted at another path in the pods than where this runs); the ids deleted."""
    snapshots = announced(folder)
    deleted = []
    for snapshot in snapshots[: max(len(snapshots) - keep, 0)]:
        if any(f"/{SNAPSHOTS}/{snapshot.name}/" in source for source in trained_on):
            continue
        shutil.rmtree(snapshot)
        deleted.append(snapshot.name)
    return deleted
