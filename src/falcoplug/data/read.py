"""Events as Arrow record batches: one typed column per field, built from the framework's columns.

The framework extracts a field plan for a whole batch of events (for a C plugin, in the compiled
fast path; the values arrive as one Python list per field); this module only turns those lists
into Arrow arrays, once per host batch, and gathers them into record batches of ``batch_size``
rows, so that no Python object is made per event beyond the values themselves.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from ..filter import CompiledFilter, FilterError, compile_filter
from ..framework.fields import split_field_ref
from ..framework.heap import stepped
from ..framework.inspector import FieldPlan, Inspector, SourcedBatch
from ..framework.registry import BoundField, LenientFields, MissingField
from ..framework.values import FieldGroups
from ._deps import require
from .schema import field_schema, to_array
from .session import Input, PluginLike, as_spec, main_source, opened, with_input

DEFAULT_BATCH_SIZE = 65_536


class ColumnBuilder:
    """The columns of named fields, batch after batch, for every source a capture may mix."""

    def __init__(self, host: Inspector, fields: Sequence[str], condition: str | None = None) -> None:
        if not fields:
            raise ValueError("no field to read: give fields=['evt.num', ...]")
        self.host = host
        self.names = list(fields)
        self.source = main_source(host)
        resolver = host.output_resolver(self.source)
        # The main source must have every field (a misspelt field is an error, as with -o).
        self.bound = [resolver.resolve(*split_field_ref(name)) for name in self.names]
        self.schema = field_schema(self.names, [b.info for b in self.bound])
        self.condition: CompiledFilter | None = compile_filter(condition, resolver) if condition else None
        self._plans: dict[str | None, tuple[FieldPlan | None, list[int], FieldGroups | None, CompiledFilter | None]] = {}

    def _plan(self, source: str | None) -> tuple[FieldPlan | None, list[int], FieldGroups | None, CompiledFilter | None]:
        """For one source: the plan of the fields it has, which columns those are, and the filter."""
        cached = self._plans.get(source)
        if cached is not None:
            return cached
        key = source if source is not None else self.source
        lenient = LenientFields(self.host.output_resolver(key))
        bound: list[BoundField] = [lenient.resolve(*split_field_ref(name)) for name in self.names]
        cols = [i for i, b in enumerate(bound) if not isinstance(b, MissingField)]
        plan = self.host.plan(source, [bound[i] for i in cols]) if cols else None
        condition, groups = self.condition, None
        if condition is not None and key != self.source:
            try:
                condition = compile_filter(condition.text, lenient.inner)  # type: ignore[arg-type]
            except FilterError:  # a source that cannot compile the filter matches none of its events
                condition = _NOTHING
        if condition is not None and condition is not _NOTHING:
            groups = FieldGroups(self.host, source, condition.fields)
        entry = (plan, cols, groups, condition)
        self._plans[source] = entry
        return entry

    def columns(self, batch: SourcedBatch) -> list[list[Any]]:
        """The batch's kept events as one list of values per field."""
        plan, cols, groups, condition = self._plan(batch.source)
        n = len(batch)
        out: list[list[Any]] = [[None] * n for _ in self.names]
        if plan is not None:
            for col, values in zip(cols, plan.columns(batch)):
                out[col] = values
        if condition is None:
            return out
        if condition is _NOTHING or groups is None:
            return [[] for _ in self.names]
        values_source = groups.values(batch)
        keep = []
        for i in range(n):
            values_source.at(i)
            keep.append(condition.test(values_source.value))
        return [list(itertools.compress(column, keep)) for column in out]

    def record_batch(self, columns: Sequence[Sequence[Any]]) -> Any:
        pa = require("pyarrow")
        arrays = [to_array(b.info, column) for b, column in zip(self.bound, columns)]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


class _Nothing:
    """A filter a source's events can never match (it names fields that source lacks)."""

    fields: tuple[BoundField, ...] = ()

    def test(self, getter: Any) -> bool:
        return False


_NOTHING: Any = _Nothing()


def record_batches(
    host: Inspector,
    fields: Sequence[str],
    *,
    filter: str | None = None,  # noqa: A002 - the word the CLI and Falco use
    batch_size: int = DEFAULT_BATCH_SIZE,
    limit: int | None = None,
) -> Iterator[Any]:
    """The events of an open inspector as record batches of at most ``batch_size`` rows."""
    return _batches(ColumnBuilder(host, fields, filter), batch_size, limit)


def _batches(builder: ColumnBuilder, batch_size: int, limit: int | None) -> Iterator[Any]:
    """Record batches, each made with the collector tuned for an event loop (a host batch's
    extracted values are tens of thousands of objects, which full collections went over again and
    again: 15% of the time)."""
    return stepped(_build_batches(builder, batch_size, limit))


def _build_batches(builder: ColumnBuilder, batch_size: int, limit: int | None) -> Iterator[Any]:
    """Each host batch's columns become Arrow arrays at once (the extracted values are let go
    while they are hot in memory: holding 65 k rows of them cost 15% more), gathered into record
    batches of ``batch_size`` rows."""
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    pending: list[Any] = []  # record batches of the rows not given out yet
    rows = seen = 0
    for batch in builder.host.batches():
        if limit is not None and seen + len(batch) > limit:
            batch = batch.head(limit - seen)
        seen += len(batch)
        columns = builder.columns(batch)
        if columns[0]:
            pending.append(builder.record_batch(columns))
            rows += len(columns[0])
        while rows >= batch_size:
            out, pending = _split(builder, pending, batch_size)
            rows -= batch_size
            yield out
        if limit is not None and seen >= limit:
            break
    if rows:
        yield _split(builder, pending, rows)[0]


def _split(builder: ColumnBuilder, pending: list[Any], size: int) -> tuple[Any, list[Any]]:
    """The first ``size`` rows of ``pending`` as one record batch, and the rest."""
    pa = require("pyarrow")
    if len(pending) == 1 and pending[0].num_rows == size:
        return pending[0], []
    table = pa.Table.from_batches(pending, schema=builder.schema).combine_chunks()
    first = table.slice(0, size).to_batches()[0]
    return first, table.slice(size).to_batches()


def read(
    plugins: Sequence[PluginLike],
    *,
    fields: Sequence[str],
    open: str | None = None,  # noqa: A002 - the plugin API's word for the input's parameters
    capture: str | None = None,
    filter: str | None = None,  # noqa: A002
    batch_size: int = DEFAULT_BATCH_SIZE,
    limit: int | None = None,
) -> Iterator[Any]:
    """Run ``plugins`` over one input and yield ``pyarrow.RecordBatch`` es, one column per field.

    ``plugins`` are specs as ``falcoplug run -p`` takes them (``"k8saudit"``,
    ``"./libx.so|{config}"``, ``"lib.so|config|open params"``); ``open`` gives the input plugin's
    open params (a file, a folder, a URL, as the plugin reads them), or ``capture`` a ``.scap``
    file to replay. ``filter`` keeps the events a Falco condition matches; ``limit`` stops after
    that many events read. Column types are in :mod:`falcoplug.data.schema`.
    """
    require("pyarrow")
    specs = with_input([as_spec(p) for p in plugins], open)
    with opened(specs, Input(capture=capture, open_params=open)) as host:
        builder = ColumnBuilder(host, fields, filter)
        yield from _batches(builder, batch_size, limit)


def read_table(
    plugins: Sequence[PluginLike],
    *,
    fields: Sequence[str],
    open: str | None = None,  # noqa: A002
    capture: str | None = None,
    filter: str | None = None,  # noqa: A002
    limit: int | None = None,
) -> Any:
    """:func:`read` gathered into one ``pyarrow.Table`` (with its schema even when no row is kept)."""
    pa = require("pyarrow")
    specs = with_input([as_spec(p) for p in plugins], open)
    with opened(specs, Input(capture=capture, open_params=open)) as host:
        builder = ColumnBuilder(host, fields, filter)
        return pa.Table.from_batches(list(_batches(builder, DEFAULT_BATCH_SIZE, limit)), schema=builder.schema)
