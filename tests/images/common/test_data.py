import os
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nivesh_common.data import read_table, require_columns, table_sha256, write_table
from nivesh_common.errors import BadInputError, SourceUnreachableError

TABLE = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})


@pytest.mark.parametrize("name", ["t.csv", "t.parquet", "no-suffix"])
def test_round_trip_by_content_not_suffix(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".parquet"):
        TABLE.to_parquet(path)
    else:
        TABLE.to_csv(path, index=False)
    pd.testing.assert_frame_equal(read_table(str(path)), TABLE, check_dtype=False)


def test_fsspec_urls_are_read(tmp_path):
    path = tmp_path / "t.csv"
    TABLE.to_csv(path, index=False)
    assert len(read_table(f"file://{path}")) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "file is empty"), (b"   \n", "file is empty"), (b"a,b\n", "no data rows"), (b"\xff\xfe\x00", "byte 0")],
)
def test_unreadable_content_is_one_line_bad_input(tmp_path, content, message):
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    with pytest.raises(BadInputError, match=message) as raised:
        read_table(str(path))
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def _parquet_with_a_repeated_name(path):
    pq.write_table(pa.table([pa.array([1, 2]), pa.array([3, 4])], names=["amount", "amount"]), path)


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda path: path.write_text("id,amount,amount\n1,2,3\n"), "the header: column 'amount' appears 2 times"),
        (_parquet_with_a_repeated_name, "the schema: column 'amount' appears 2 times (columns 1, 2)"),
        (lambda path: path.write_text('{"id": 1, "amount": 2, "amount": 3}\n'), "line 1: key 'amount' appears 2"),
        (lambda path: path.write_text('[{"id": 1}, {"id": 2, "id": 3}]'), "a JSON object: key 'id' appears 2"),
    ],
    ids=["CSV header", "Parquet schema", "JSONL record", "JSON array item"],
)
def test_a_column_named_twice_is_refused_not_renamed(tmp_path, write, message):
    """pandas would read a repeated CSV name as `amount.1`, and JSON keeps the last of two keys, silently."""
    path = tmp_path / "t"
    write(path)
    with pytest.raises(BadInputError, match=re.escape(message)):
        read_table(str(path))


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(BadInputError, match="is a directory"):
        read_table(str(tmp_path))
    with pytest.raises(BadInputError, match=r"file not found$"):
        read_table(str(tmp_path / "missing.csv"))


def test_a_fifo_is_refused_at_once_not_read_forever(tmp_path):
    fifo = tmp_path / "transactions.csv"
    os.mkfifo(fifo)
    with pytest.raises(BadInputError, match="not a regular file"):
        read_table(str(fifo))  # opening a FIFO without a writer blocks: before, this never returned


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_a_byte_order_mark_is_not_content(tmp_path, suffix):
    """Excel and Windows tools write UTF-8 with a BOM: a JSONL file was sniffed as CSV because of it."""
    content = {".jsonl": '{"a": 1, "b": "x"}\n', ".json": '[{"a": 1, "b": "x"}]', ".csv": "a,b\n1,x\n"}[suffix]
    path = tmp_path / f"t{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + content.encode())
    assert list(read_table(str(path)).columns) == ["a", "b"]


class _Answering(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503 if self.path.startswith("/busy") else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def web_source(monkeypatch):
    monkeypatch.setenv("NIVESH_DATA_SCHEMES", "http")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answering)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_an_outage_of_a_remote_source_is_retried_and_a_missing_file_is_bad_input(web_source):
    """A refused connection and a 5xx are exit 1 (Airflow retries); only a 404 is exit 2, the file missing."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{closed.getsockname()[1]}/x.csv"  # bound, never listening: refused
        with pytest.raises(SourceUnreachableError, match=r"127\.0\.0\.1 did not answer \(ClientConnectorError"):
            read_table(refused)
    with pytest.raises(SourceUnreachableError, match=r"did not answer \(HTTP 503\)"):
        read_table(f"{web_source}/busy/x.csv")
    with pytest.raises(BadInputError, match="file not found"):
        read_table(f"{web_source}/missing.csv")


def test_a_missing_directory_is_named_with_how_to_mount_it(tmp_path):
    unmounted = tmp_path / "data"
    with pytest.raises(BadInputError) as raised:
        read_table(str(unmounted / "credit.csv"))
    assert str(raised.value) == (
        f"{unmounted}/credit.csv: file not found; directory {unmounted} does not exist here "
        f"(in a container: -v HOST_DIR:{unmounted})"
    )


def test_write_table_never_overwrites(tmp_path):
    path = str(tmp_path / "sub" / "t.parquet")
    write_table(TABLE, path)
    with pytest.raises(BadInputError, match="refusing to overwrite"):
        write_table(TABLE.head(1), path)
    assert len(read_table(path)) == 3


def test_hash_follows_content():
    assert table_sha256(TABLE) == table_sha256(TABLE.copy())
    assert table_sha256(TABLE) != table_sha256(TABLE.assign(a=[1, 2, 4]))
    assert table_sha256(TABLE) != table_sha256(TABLE.rename(columns={"a": "c"}))


def test_require_columns_names_missing_and_found():
    with pytest.raises(BadInputError, match="missing column\\(s\\) c; found a, b"):
        require_columns(TABLE, ["a", "c"], "t.csv")
