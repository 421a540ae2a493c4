"""The inspector: open a source, pull batches of events, number them, and extract their fields.

This is what ``sinsp`` does for plugin sources, reshaped for Python: the unit of work is a batch
(events laid end to end, as the plugin returned them), and fields are extracted for a whole batch
with one plugin call per event carrying every field that plugin must give.

Between reading and extraction the inspector does what ``sinsp::next`` does to an event: async
events queued by plugins are merged in timestamp order (live inputs only), the ``threads`` table
learns the thread of every ``syscall`` event, and every parsing plugin parses the event, in
registration order, whatever a filter later decides. Where an extractor may read state that
parsers write (an extractor that parses too, or that took a state table), events are handed out
one at a time, each right after it was parsed, so that a field extracted for event *n* sees the
state as parsers left it after event *n* and not later ones (libsinsp's order). Elsewhere a whole
batch is parsed, then handed out, which is much faster. ``parse_mode`` forces either way:
``"event"`` or ``"batch"`` (default ``"auto"``).
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..abi.async_queue import owner_handle
from ..abi.constants import Rc
from ..abi.scan import uniform_source_key
from ..backend import AsyncEventRejected, Metric, Parser
from ..errors import FalcoplugError, PluginError, PluginLoadError
from ..events import PPME_ASYNCEVENT_E, PPME_PLUGINEVENT_E, Event, EventBatch
from .async_queue import DEFAULT_QUEUE_SIZE, TS_NONE, drain, last_ts_of, merge, new_async_queue, set_plugin_id
from .generic import GenericContext, plugin_info_text
from .listen import RoutinePool
from .loading import load_backend
from .manager import PluginManager
from .plugin import ALL_EVENT_TYPES, SYSCALL_SOURCE, Plugin
from .registry import BoundField, BoundGeneric, PluginField, SourceFields
from .fields import split_field_ref
from .tables import TableRegistry
from .threads import ThreadsTable

log = logging.getLogger("falcoplug.inspector")
_TID = struct.Struct("<Q")
_STID = struct.Struct("<q")
PARSE_MODES = ("auto", "event", "batch")

_TIMEOUT_SLEEP_MIN = 0.0005
_TIMEOUT_SLEEP_MAX = 0.02


class SourcedBatch:
    """A batch of events of one source, numbered from ``first_num``."""

    __slots__ = ("events", "first_num", "source", "host", "_nums")

    def __init__(self, events: EventBatch, first_num: int, source: str | None, host: Inspector) -> None:
        self.events = events
        self.first_num = first_num
        self.source = source
        self.host = host
        self._nums: array | None = None

    def __len__(self) -> int:
        return len(self.events)

    @property
    def evtnums(self) -> array:
        if self._nums is None:
            self._nums = array("Q", range(self.first_num, self.first_num + len(self.events)))
        return self._nums

    def event(self, i: int) -> Event:
        return Event(self.events.data, self.events.offsets[i], self.first_num + i, self.source, self.host)

    def __iter__(self) -> Iterator[Event]:
        data, source, host, num = self.events.data, self.source, self.host, self.first_num
        for i, off in enumerate(self.events.offsets):
            yield Event(data, off, num + i, source, host)

    def head(self, n: int) -> SourcedBatch:
        """The first ``n`` events of the batch (``-n``: a run that stops inside a batch)."""
        events = self.events
        payloads = None if events.payloads is None else events.payloads[:n]
        return SourcedBatch(EventBatch(events.data, events.offsets[:n], payloads), self.first_num, self.source, self.host)

    def singles(self) -> Iterator[SourcedBatch]:
        """The batch cut into one-event batches."""
        data, offsets = self.events.data, self.events.offsets
        for i in range(len(offsets)):
            yield SourcedBatch(EventBatch(data, offsets[i : i + 1]), self.first_num + i, self.source, self.host)


class FieldPlan:
    """A fixed list of fields of one source, extracted together batch after batch."""

    def __init__(self, host: Inspector, source: str | None, fields: Sequence[BoundField]) -> None:
        self.host = host
        self.source = source
        self.fields = list(fields)
        groups: dict[int, tuple[Plugin, list[int]]] = {}
        self._generic: list[tuple[int, BoundGeneric]] = []
        for col, bound in enumerate(self.fields):
            if isinstance(bound, PluginField):
                groups.setdefault(id(bound.plugin), (bound.plugin, []))[1].append(col)
            else:
                self._generic.append((col, bound))
        self._extractors = []
        for plugin, cols in groups.values():
            requests = [self.fields[c].request for c in cols]  # type: ignore[union-attr]
            types = None if plugin.extract_event_types is ALL_EVENT_TYPES else plugin.extract_event_types
            self._extractors.append((plugin, plugin.backend.extractor(requests), cols, types))

    def columns(self, batch: SourcedBatch) -> list[list[Any]]:
        """One list of values per field, one value per event (``None``: no value)."""
        n = len(batch)
        cols: list[list[Any]] = [[]] * len(self.fields)
        for plugin, extractor, idxs, types in self._extractors:
            if batch.source is None or not plugin.is_extract_compatible(batch.source):
                values: list[list[Any]] = [[None] * n for _ in idxs]
            else:
                values = extractor.extract_batch(batch.events, batch.evtnums, batch.source, types)
            for col, column in zip(idxs, values):
                cols[col] = column
        if self._generic:
            events: list[Event] | None = None
            for col, bound in self._generic:
                if bound.text == "evt.num":  # the numbers of a batch are a range: no event objects
                    cols[col] = list(range(batch.first_num, batch.first_num + n))
                    continue
                if events is None:
                    events = list(batch)
                get = bound.generic.get
                cols[col] = [get(self.host, e) for e in events]
        return cols

    def text_renderer(self, tokens: Sequence[tuple[str, BoundField | None, int]],
                      require_all: bool = False) -> Callable[[SourcedBatch], str | None] | None:  # fmt: skip
        """A renderer of a batch's lines made by the compiled core, for a format of ``tokens``
        (``(literal, None, 0)`` or ``("", field, width)``, every field one of this plan's): possible
        when the plan is ``evt.num`` and fields of one C plugin (see ``abi/render.py``). The
        renderer gives ``None`` for a batch it cannot render (another source, invalid UTF-8).
        ``require_all``: an event with a missing value gets no line (a format without ``*``)."""
        if len(self._extractors) != 1 or any(bound.text != "evt.num" for _, bound in self._generic):
            return None
        plugin, extractor, cols, types = self._extractors[0]
        make = getattr(extractor, "batch_renderer", None)
        if make is None:
            return None
        columns = {id(self.fields[c]): k for k, c in enumerate(cols)}
        spec = [
            (literal, None if f is None else "evt.num" if isinstance(f, BoundGeneric) else id(f), width)
            for literal, f, width in tokens
        ]
        renderer = make(spec, columns, require_all)
        if renderer is None:
            return None

        def render(batch: SourcedBatch) -> str | None:
            if batch.source is None or not plugin.is_extract_compatible(batch.source):
                return None
            return renderer.render(batch.events, batch.evtnums, batch.first_num, batch.source, types)

        return render

    def rows(self, batch: SourcedBatch) -> Iterator[tuple[Event, list[Any]]]:
        cols = self.columns(batch)
        for i, event in enumerate(batch):
            yield event, [c[i] for c in cols]


class Inspector(GenericContext):
    """Plugins registered together, one open input, and the events it produces.

    ``tables`` is the state-table registry the plugins share (with the host's ``threads``
    table); ``routines`` runs capture-listening plugins' routines; ``async_queue`` holds async
    events waiting to enter the stream (``async_queue_size`` of them at most, as libsinsp's
    bounded queue).
    """

    def __init__(
        self,
        *,
        hostname: str | None = None,
        parse_mode: str = "auto",
        async_queue_size: int = DEFAULT_QUEUE_SIZE,
        routine_workers: int | None = None,
    ) -> None:
        if parse_mode not in PARSE_MODES:
            raise ValueError(f"parse_mode must be one of {PARSE_MODES}, not {parse_mode!r}")
        self.manager = PluginManager()
        self.hostname = hostname or os.environ.get("FALCO_HOSTNAME") or socket.gethostname()
        self.first_ts: int | None = None
        self.parse_mode = parse_mode
        self.tables = TableRegistry()
        self.threads = ThreadsTable()
        self.tables.add(self.threads)
        self.routines = RoutinePool(routine_workers)
        self.async_queue = new_async_queue(async_queue_size)
        self._resolvers: dict[str, SourceFields] = {}
        self._single: dict[tuple[object, ...], Any] = {}
        self._parsers: dict[str | None, tuple[list[tuple[Plugin, Parser, bytes | None]], bool]] = {}
        self._input: Plugin | None = None
        self._handle: Any = None
        self._capture: Any = None  # the CaptureReader being replayed
        self._replaying = False  # the last input opened is a capture (it stays so once it ends)
        self._live = False
        self._open_source = SYSCALL_SOURCE
        self._open_plugin_id = 0
        self._async_plugins: list[Plugin] = []
        self._listeners: list[Plugin] = []
        self._last_ts = 0
        self._num = 0
        self._eof = False
        self._interrupted = False

    # -- plugins ------------------------------------------------------------------------------
    def register(self, plugin: Plugin | str | os.PathLike[str]) -> Plugin:
        """Register a plugin (or load one from a library path / SDK reference) without initializing it."""
        if not isinstance(plugin, Plugin):
            try:
                backend = load_backend(plugin)
            except PluginLoadError as exc:
                if str(exc).startswith("cannot load plugin"):  # the loader already said which plugin
                    raise
                raise PluginLoadError(f"cannot load plugin {os.fspath(plugin)}: {exc}", plugin=os.fspath(plugin)) from None
            plugin = Plugin(backend)
        self.manager.add(plugin)
        plugin.owner.tables = self.tables
        plugin.owner.routines = self.routines
        self._resolvers.clear()
        self._parsers.clear()
        return plugin

    def load(
        self, location: Plugin | str | os.PathLike[str], config: str | Mapping[str, Any] | None = None
    ) -> Plugin:
        """Register and initialize a plugin."""
        plugin = self.register(location)
        plugin.init(config)
        return plugin

    @property
    def plugins(self) -> list[Plugin]:
        return self.manager.plugins

    def plugin(self, name: str) -> Plugin:
        found = self.manager.get(name)
        if found is None:
            raise PluginError(f"plugin {name} does not exist", plugin=name)
        return found

    # -- fields ---------------------------------------------------------------------------------
    def resolver(self, source: str) -> SourceFields:
        """The fields available on ``source``."""
        fields = self._resolvers.get(source)
        if fields is None:
            fields = self._resolvers[source] = SourceFields(source, self.manager.plugins)
        return fields

    def output_resolver(self, source: str) -> SourceFields:
        """The fields an output format or a condition may name on ``source``: those of every
        extraction plugin, the incompatible ones having no value (see :class:`SourceFields`)."""
        key = "\0every\0" + source
        fields = self._resolvers.get(key)
        if fields is None:
            fields = self._resolvers[key] = SourceFields(source, self.manager.plugins, every_plugin=True)
        return fields

    def plan(self, source: str | None, fields: Iterable[str | BoundField]) -> FieldPlan:
        """Fields (by name, ``name[arg]`` or already bound) to extract batch after batch."""
        resolver = self.output_resolver(source or "")
        bound = [resolver.resolve(*split_field_ref(f)) if isinstance(f, str) else f for f in fields]
        return FieldPlan(self, source, bound)

    def field_value(self, event: Event, text: str) -> Any:
        """The value of one field for one event (``None`` when it has none)."""
        if event.source is None:
            name, arg = split_field_ref(text)
            bound = self.output_resolver("").resolve(name, arg)
            if isinstance(bound, PluginField):
                return None
        else:
            bound = self.output_resolver(event.source).resolve(*split_field_ref(text))
        if isinstance(bound, BoundGeneric):
            return bound.generic.get(self, event)
        return self.bound_value(event, bound)

    def bound_value(self, event: Event, bound: PluginField) -> Any:
        """One plugin field's value for one event (``None`` when it has none or is not compatible)."""
        plugin = bound.plugin
        if event.source is None or not plugin.extract_event_types[event.type]:
            return None
        if not plugin.is_extract_compatible(event.source):
            return None
        extractor = self._single.get(bound.key)
        if extractor is None:
            extractor = self._single[bound.key] = plugin.backend.extractor([bound.request])
        return extractor.extract_event(event.buf, event.offset, event.num, event.source)[0]

    def value_offsets(self, event: Event, fields: Sequence[str]) -> list[tuple[Any, tuple[int, int] | None]]:
        """Plugin fields' values with their ``(start, length)`` in the event, as the plugin reports them
        (API 3.11 value offsets; ``None`` where the plugin reports none)."""
        resolver = self.output_resolver(event.source or "")
        bound = [resolver.resolve(*split_field_ref(f)) for f in fields]
        out: list[tuple[Any, tuple[int, int] | None]] = []
        for b in bound:
            if not isinstance(b, PluginField):
                out.append((b.generic.get(self, event), None))
                continue
            extractor = b.plugin.backend.extractor([b.request])
            if not hasattr(extractor, "extract_offsets"):
                out.append((self.field_value(event, b.text), None))
                continue
            out.append(extractor.extract_offsets(event.buf, event.offset, event.num, event.source)[0])
        return out

    # -- generic-field context ----------------------------------------------------------------------
    def plugin_for_event(self, event: Event) -> Plugin | None:
        plugin_id = event.plugin_id
        return None if plugin_id is None else self.manager.by_id(plugin_id)

    def plugin_info(self, event: Event) -> str | None:
        if event.type != PPME_PLUGINEVENT_E:
            return None
        plugin = self.plugin_for_event(event)
        if plugin is None:
            return None
        text = None
        if plugin.initialized and plugin.backend.has("event_to_string"):
            text = plugin.backend.event_to_string(
                event.buf[event.offset : event.offset + event.len], event.num, event.source
            )
        return text or plugin_info_text(event.payload)

    def source_of(self, event_type: int, plugin_id: int | None) -> str | None:
        """libsinsp's event source of an event: a plugin event's source is its plugin's, else syscall."""
        if event_type in (PPME_PLUGINEVENT_E, PPME_ASYNCEVENT_E) and plugin_id:
            plugin = self.manager.by_id(plugin_id)
            return plugin.event_source if plugin is not None else None
        return SYSCALL_SOURCE

    # -- state ----------------------------------------------------------------------------------
    def table(self, name: str) -> Any:
        """A state table by name (``threads``, or one a plugin added)."""
        return self.tables[name]

    def async_event_names(self) -> frozenset[str]:
        """Every async event name a registered plugin declares (valid ``evt.type`` values)."""
        names: set[str] = set()
        for plugin in self.manager.plugins:
            names |= plugin.async_events
        return frozenset(names)

    # -- live input -----------------------------------------------------------------------------
    def open(self, plugin: Plugin | str | None = None, params: str = "") -> None:
        """Open a sourcing plugin as the input (the only sourcing plugin when none is named).

        As libsinsp's live open: every async plugin then gets its event handler and every
        capture-listening plugin its ``capture_open``; a failure closes everything again. An
        input already open is closed first.
        """
        source = self._input_plugin(plugin)
        self.close()
        if not source.initialized:
            source.init(None)
        handle, rc = source.backend.open(params)
        if rc != Rc.SUCCESS or handle is None:
            source.backend.close(handle) if handle is not None else None
            raise PluginError(f"could not open plugin {source.name}: {source.last_error()}", plugin=source.name)
        self._input, self._handle, self._eof, self._interrupted = source, handle, False, False
        self._live, self._last_ts, self._replaying = True, 0, False
        self._new_stream()
        self._open_plugin_id = source.id
        self._open_source = source.source_name
        self._start_session()

    def open_capture(self, path: str | os.PathLike[str]) -> None:
        """Replay a ``.scap`` capture as the input: events keep the sources their plugin IDs give,
        parsers parse them, and no async event is delivered (the capture has them already)."""
        from ..capture import CaptureReader

        self.close()
        reader = CaptureReader(path)
        if reader.hostname:
            self.hostname = reader.hostname
        self._new_stream()
        self._capture, self._eof, self._live, self._last_ts = reader, False, False, 0
        self._replaying = True
        self._interrupted = False
        try:
            self._start_session()
        except BaseException:
            self._capture = None
            reader.close()
            raise

    def _new_stream(self) -> None:
        """As libsinsp's ``init`` at every open: ``evt.num`` counts from 1 again and
        ``evt.reltime`` from the new input's first event."""
        self._num, self.first_ts = 0, None

    def _start_session(self) -> None:
        """Handlers for async plugins (live only) and ``capture_open`` for listeners."""
        self._parsers.clear()  # plugins registered or initialized since the last session count
        try:
            for plugin in self.manager.plugins:
                if self._live and plugin.has_async:
                    self._require_init(plugin)
                    self._register_async(plugin)
                    plugin.start_async(self._push_async)
                    self._async_plugins.append(plugin)
            for plugin in self.manager.plugins:
                if plugin.has_capture_listening:
                    self._require_init(plugin)
                    plugin.capture_open()
                    self._listeners.append(plugin)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _require_init(plugin: Plugin) -> None:
        if not plugin.initialized:
            raise PluginError(f"plugin capability used before init: {plugin.name}", plugin.name)

    def _register_async(self, plugin: Plugin) -> None:
        """Let the compiled queue take a C plugin's events itself, with the checks of
        :meth:`_push_async` and of the plugin's handler decided here once for the session."""
        register = getattr(self.async_queue, "register", None)
        owner = owner_handle(plugin.backend)
        if register is not None and owner is not None:
            register(owner, plugin.async_events, plugin.is_async_compatible(self._open_source), self._open_plugin_id)

    def _push_async(self, plugin: Plugin, raw: bytes) -> None:
        """The inspector's side of an async event (``sinsp::handle_plugin_async_event``); any thread."""
        if not self._live:
            return  # reading a capture: async events are already in it
        source = self._open_source
        if not plugin.is_async_compatible(source):
            raise AsyncEventRejected(
                f"async events of plugin '{plugin.name}' are not compatible with open event source '{source}'"
            )
        plugin_id = self._open_plugin_id
        if plugin_id != 0 and _TID.unpack_from(raw, 8)[0] != TS_NONE:
            raise AsyncEventRejected(
                f"async events of plugin '{plugin.name}' can have no thread associated with open event source '{source}'"
            )
        dropped = self.async_queue.push(set_plugin_id(raw, plugin_id))
        if dropped is not None:
            log.warning("%s (plugin %s)", dropped, plugin.name)

    def _input_plugin(self, plugin: Plugin | str | None) -> Plugin:
        if isinstance(plugin, Plugin):
            return plugin
        if plugin is None:
            sourcing = [p for p in self.manager.plugins if p.has_sourcing]
            if len(sourcing) != 1:
                raise PluginError(f"cannot choose an input plugin among {len(sourcing)} sourcing plugins; name one")
            return sourcing[0]
        found = self.plugin(plugin)
        if not found.has_sourcing:
            raise PluginError(
                f"plugin {found.name} has not event sourcing capabilities and cannot be used as input", found.name
            )
        return found

    @property
    def input(self) -> Plugin | None:
        return self._input

    @property
    def replaying(self) -> bool:
        return self._replaying

    def close(self) -> None:
        """Close the input: async handlers back (live), ``capture_close``, routines purged."""
        for plugin in self._async_plugins:
            plugin.stop_async()
        self._async_plugins.clear()
        if hasattr(self.async_queue, "unregister"):
            self.async_queue.unregister()
        for plugin in self._listeners:
            plugin.capture_close()
        self._listeners.clear()
        self.routines.purge()
        self.async_queue.clear()
        self._live = False
        if self._input is not None:
            plugin, handle = self._input, self._handle
            self._input = self._handle = None
            plugin.backend.close(handle)
        if self._capture is not None:
            reader, self._capture = self._capture, None
            reader.close()

    def __enter__(self) -> Inspector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def destroy(self) -> None:
        """Close the input and destroy every plugin's state."""
        self.close()
        for plugin in self.manager.plugins:
            if plugin.initialized:
                self.tables.discard_owned_by(plugin.name)
                plugin.destroy()
        self._parsers.clear()
        self.routines.shutdown()

    def progress(self) -> tuple[float, str | None]:
        """The input plugin's progress in percent, with its optional text."""
        if self._capture is not None:
            fraction = self._capture.progress
            return (0.0 if fraction is None else fraction * 100.0), None
        plugin = self._input
        if plugin is None or not plugin.backend.has("get_progress"):
            return 0.0, None
        pct, text = plugin.backend.get_progress(self._handle)
        return pct / 100.0, text

    def batches(self) -> Iterator[SourcedBatch]:
        """Batches of the open input until it ends (EOF), as libscap delivers them."""
        if self._capture is not None:
            yield from self._capture_batches()
            return
        plugin = self._input
        if plugin is None:
            raise FalcoplugError("no input is open")
        backend, handle = plugin.backend, self._handle
        pid, name = plugin.id, plugin.name
        source = plugin.event_source if pid != 0 else None
        queue = self.async_queue
        sleep = _TIMEOUT_SLEEP_MIN
        while not self._eof and not self._interrupted:
            rc, batch = backend.next_batch(handle, pid, name)
            if len(batch):
                if len(queue):
                    batch, self._last_ts = merge(queue, batch, self._last_ts)
                else:
                    self._last_ts = last_ts_of(batch, self._last_ts)
                yield from self.deliver(batch, source)
                sleep = _TIMEOUT_SLEEP_MIN
            if rc == Rc.SUCCESS:
                if not len(batch):
                    raise PluginError(f"unexpected 0 size event returned by plugin {name}", plugin=name)
            elif rc == Rc.TIMEOUT:
                if not len(batch):
                    pending, self._last_ts = drain(queue, self._last_ts)
                    if pending is not None:  # a timeout lets queued async events out
                        yield from self.deliver(pending, source)
                        continue
                    time.sleep(sleep)
                    sleep = min(sleep * 2, _TIMEOUT_SLEEP_MAX)
            elif rc == Rc.EOF:
                self._eof = True
            else:
                raise PluginError(f"plugin {name}: {plugin.last_error() or 'next_batch failed'}", plugin=name)

    def interrupt(self) -> None:
        """Make :meth:`batches` return at its next step (from any thread), e.g. to stop a live
        input that keeps timing out; the input stays open."""
        self._interrupted = True

    def _capture_batches(self) -> Iterator[SourcedBatch]:
        from .capture_io import _single_source

        reader = self._capture
        for batch in reader.batches():
            if self._interrupted:
                return
            single, source = _single_source(self, batch)
            yield from self.deliver(batch, source if single else None)
        self._eof = True

    def deliver(self, batch: EventBatch, source: str | None) -> Iterator[SourcedBatch]:
        """Number a batch read from the input, then process it as ``sinsp::next`` does: ``threads``
        entries for syscall events, then every compatible parsing plugin. ``source`` is the source
        of every event, or ``None`` for a mixed batch (an ID-0 plugin, a capture) cut by source."""
        for sourced in self._number(batch, source):
            parsers, exact = self._parsers_for(sourced.source)
            syscall = sourced.source == SYSCALL_SOURCE
            if not parsers:
                if syscall:
                    self.threads.ensure_events(sourced.events.data, sourced.events.offsets)
                yield sourced
            elif not exact:
                self._parse_batch(sourced, parsers, syscall)
                yield sourced
            else:
                yield from self._parse_each(sourced, parsers, syscall)

    def _parse_batch(self, sourced: SourcedBatch, parsers: list[tuple[Plugin, Parser, bytes | None]], syscall: bool) -> None:
        """Parse a whole batch before it is handed out, still event by event across parsers (a
        parser may read what the one before it wrote for the same event)."""
        from ..abi.parser import parse_compiled  # the compiled loop (C plugins' parsers only)

        pairs = [(parser, types) for _, parser, types in parsers]
        threads = self.threads if syscall else None
        if parse_compiled(sourced.events, sourced.first_num, sourced.source, pairs, threads):  # type: ignore[arg-type]
            return
        if len(parsers) == 1 and not syscall:
            _, parser, types = parsers[0]
            parser.parse_batch(sourced.events, sourced.evtnums, sourced.source, types)  # type: ignore[arg-type]
            return
        for _ in self._parse_each(sourced, parsers, syscall, hand_out=False):
            pass

    def _parse_each(
        self, sourced: SourcedBatch, parsers: list[tuple[Plugin, Parser, bytes | None]], syscall: bool,
        hand_out: bool = True,
    ) -> Iterator[SourcedBatch]:  # fmt: skip
        """For each event: its ``threads`` entry (syscall), then every parser in order; with
        ``hand_out``, the event is yielded as a one-event batch before the next is parsed."""
        data, offsets, source = sourced.events.data, sourced.events.offsets, sourced.source
        ensure, threads = self.threads.ensure, self.threads._entries
        unpack_tid = _STID.unpack_from
        calls = [(parser.parse_event, types) for _, parser, types in parsers]
        num = sourced.first_num
        for i in range(len(offsets)):
            off = offsets[i]
            if syscall:
                tid = unpack_tid(data, off + 8)[0]
                if tid != -1 and tid not in threads:
                    ensure(tid)
            evt_type = data[off + 20] | (data[off + 21] << 8)
            for parse, types in calls:
                if types is None or types[evt_type]:
                    parse(data, off, num, source)
            if hand_out:
                yield SourcedBatch(EventBatch(data, offsets[i : i + 1]), num, source, self)
            num += 1

    def _parsers_for(self, source: str | None) -> tuple[list[tuple[Plugin, Parser, bytes | None]], bool]:
        """The parsing plugins of ``source`` in registration order (none for an unknown source),
        and whether events must be handed out one by one (see :meth:`needs_exact_parsing`)."""
        found = self._parsers.get(source)
        if found is None:
            parsers = []
            if source is not None:
                for plugin in self.manager.plugins:
                    if plugin.has_parsing and plugin.is_parse_compatible(source):
                        self._require_init(plugin)
                        types = None if plugin.parse_event_types is ALL_EVENT_TYPES else plugin.parse_event_types
                        parsers.append((plugin, plugin.parser(), types))
            exact = bool(parsers) and (self.parse_mode == "event" or (
                self.parse_mode == "auto" and self.needs_exact_parsing(source)))  # fmt: skip
            found = self._parsers[source] = (parsers, exact)
        return found

    def needs_exact_parsing(self, source: str | None) -> bool:
        """Whether an extractor of ``source`` may see what parsers change, so that extraction of
        event *n* must wait for parsing of event *n* and run before parsing of event *n+1*: an
        extractor that parses too (its own state), or that took a state table (shared state)."""
        users = self.tables.users
        return any(
            p.has_extraction and p.is_extract_compatible(source or "") and (p.has_parsing or p.name in users)
            for p in self.manager.plugins
        )

    # -- capture writing, metrics ---------------------------------------------------------------
    def dump_state_events(self) -> list[bytes]:
        """What a capture opened for writing starts with: each async plugin's ``dump_state`` events,
        in registration order (raises ``PluginError`` "dump error for plugin ..." on failure)."""
        events: list[bytes] = []
        for plugin in self.manager.plugins:
            if plugin.has_async and plugin.initialized:
                events.extend(plugin.dump_state())
        return events

    def metrics(self) -> list[Metric]:
        """The plugins' metrics (``<plugin>.<metric>``), then the inspector's own counters."""
        out: list[Metric] = []
        for plugin in self.manager.plugins:
            if plugin.initialized:
                out.extend(plugin.metrics())
        queue = self.async_queue
        out += [
            Metric("falcoplug.n_evts", self._num),
            Metric("falcoplug.n_async_evts_queued", queue.pushed),
            Metric("falcoplug.n_async_evts_drops_full", queue.dropped_full),
            Metric("falcoplug.n_async_evts_drops_future", queue.dropped_future),
            Metric("falcoplug.n_threads", len(self.threads), monotonic=False),
            Metric("falcoplug.n_routines", len(self.routines), monotonic=False),
        ]
        return out

    def _number(self, batch: EventBatch, source: str | None) -> Iterator[SourcedBatch]:
        if self.first_ts is None:
            self.first_ts = _first_ts(batch)
        if source is not None:
            first = self._num + 1
            self._num += len(batch)
            yield SourcedBatch(batch, first, source, self)
            return
        yield from self.split_by_source(batch)

    def split_by_source(self, batch: EventBatch) -> Iterator[SourcedBatch]:
        """Number mixed events (an ID-0 source, a capture) and cut them into runs of one source."""
        data, offsets = batch.data, batch.offsets
        key = uniform_source_key(data, offsets)  # one look in compiled code: the usual case
        if key is not None:
            first = self._num + 1
            self._num += len(offsets)
            yield SourcedBatch(batch, first, self.source_of(*key), self)
            return
        run_start, run_source = 0, None
        sources = []
        for off in offsets:
            evt = Event(data, off)
            sources.append(self.source_of(evt.type, evt.plugin_id))
        for i in range(1, len(offsets) + 1):
            if i == len(offsets) or sources[i] != sources[run_start]:
                run_source = sources[run_start]
                first = self._num + 1
                self._num += i - run_start
                yield SourcedBatch(EventBatch(data, offsets[run_start:i]), first, run_source, self)
                run_start = i

    def events(self) -> Iterator[Event]:
        """Every event of the open input, one at a time (fields reachable with ``event[name]``)."""
        for batch in self.batches():
            yield from batch

    def __iter__(self) -> Iterator[Event]:
        return self.events()

    def next_evtnum(self) -> int:
        return self._num + 1


def _first_ts(batch: EventBatch) -> int | None:
    for off in batch.offsets:
        evt = Event(batch.data, off)
        if not evt.is_async:
            return evt.ts
    return None
