"""Tables to files, chosen by suffix: ``.parquet``, ``.csv``, ``.jsonl`` (``.ndjson``).

Parquet keeps every type (timestamps, durations, lists) and is read unchanged by pandas, polars
and DuckDB. CSV cannot nest: a list cell is written as its JSON array text. JSON lines write
timestamps as RFC 3339 text with nanoseconds (``2023-11-14T22:13:20.123456789Z``), durations as
nanoseconds, and lists as arrays.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from ..errors import ConfigError
from ._deps import require

SUFFIXES = (".parquet", ".csv", ".jsonl", ".ndjson")


def kind_of(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError(f"--out {path}: unknown file kind {suffix or '(no suffix)'!r}; use one of {', '.join(SUFFIXES)}")
    return "jsonl" if suffix == ".ndjson" else suffix[1:]


class TableWriter:
    """Record batches of one schema written one after the other into a file."""

    def __init__(self, path: str | os.PathLike[str], schema: Any) -> None:
        self.path = Path(path)
        self.kind = kind_of(path)
        self.schema = schema
        self.rows = 0
        self._sink: Any = None
        self._open()

    def _open(self) -> None:
        try:
            self._open_sink()
        except OSError as exc:
            raise ConfigError(f"--out {self.path}: cannot write it: {exc.strerror or exc}") from None

    def _open_sink(self) -> None:
        pa = require("pyarrow")
        if self.kind == "parquet":
            pq = require("pyarrow.parquet")
            self._sink = pq.ParquetWriter(str(self.path), self.schema)
        elif self.kind == "csv":
            csv = require("pyarrow.csv")
            self._sink = csv.CSVWriter(str(self.path), _flat_schema(self.schema, pa))
        else:
            self._sink = open(self.path, "wb")  # noqa: SIM115 - closed in close()

    def write(self, batch: Any) -> None:
        self.rows += batch.num_rows
        if self.kind == "parquet":
            self._sink.write_batch(batch)
        elif self.kind == "csv":
            self._sink.write_batch(_flatten(batch))
        else:
            self._sink.write(_json_lines(batch))

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_table(data: Any, path: str | os.PathLike[str]) -> int:
    """A ``pyarrow.Table`` (or an iterable of record batches with a ``schema``) to ``path``;
    returns the number of rows written."""
    batches: Iterable[Any] = data.to_batches() if hasattr(data, "to_batches") else data
    with TableWriter(path, data.schema) as writer:
        for batch in batches:
            writer.write(batch)
        return writer.rows


def _is_list(kind: Any, pa: Any) -> bool:
    return pa.types.is_list(kind) or pa.types.is_large_list(kind)


def _flat_schema(schema: Any, pa: Any) -> Any:
    return pa.schema([pa.field(f.name, pa.string()) if _is_list(f.type, pa) else f for f in schema])


def _flatten(batch: Any) -> Any:
    pa = require("pyarrow")
    arrays = []
    for column, f in zip(batch.columns, batch.schema):
        if _is_list(f.type, pa):
            cells = [None if v is None else orjson.dumps(v, default=str).decode() for v in column.to_pylist()]
            column = pa.array(cells, pa.string())
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, schema=_flat_schema(batch.schema, pa))


def _json_ready(column: Any, pa: Any, pc: Any) -> Any:
    kind = column.type
    if pa.types.is_timestamp(kind):
        return pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
    if pa.types.is_duration(kind):
        return column.cast(pa.int64())
    if _is_list(kind, pa) and (pa.types.is_timestamp(kind.value_type) or pa.types.is_duration(kind.value_type)):
        return column.cast(pa.list_(pa.int64()))
    return column


def _json_lines(batch: Any) -> bytes:
    pa, pc = require("pyarrow"), require("pyarrow.compute")
    names = batch.schema.names
    columns = [_json_ready(c, pa, pc).to_pylist() for c in batch.columns]
    out = bytearray()
    for row in zip(*columns):
        out += orjson.dumps(dict(zip(names, row)), default=_bytes_text)
        out += b"\n"
    return bytes(out)


def _bytes_text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
