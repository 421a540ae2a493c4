"""SDK plugins run in-process: a Python plugin class behind the :class:`PluginBackend` interface.

No C boundary is crossed: the framework calls the plugin through the SDK's
:class:`~falcoplug.sdk.driver.PluginDriver`, events are laid out once into the batch the
framework keeps, and extraction and parsing hand each plugin method the event's own bytes. State
tables are the registry's Python objects, reached directly; async events go straight to the
framework's handler; routines run on the inspector's pool. Only the SDK's public, host-facing
interface is used here (``describe``, ``PluginDriver``, ``load_plugin_class``, the table backends).
"""

from __future__ import annotations

import itertools
import struct
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from ..backend import AsyncHandler, Extractor, FieldRequest, Metric, Owner, Parser, PluginBackend, StateTable, TableError
from ..errors import PluginError
from ..events import NO_TID, PPME_PLUGINEVENT_E, TS_NOW, EventBatch
from ..sdk import describe, load_plugin_class
from ..sdk.driver import HostContext, InstanceDriver, PluginDriver
from ..sdk.extract import ExtractPlan
from ..sdk.plugin import Plugin as SdkPlugin
from ..sdk.tables import StateTableBackend, Table
from . import extraction_errors

_HEAD: Final = struct.Struct("<QQIHIIII")  # header, the two u32 parameter lengths, the plugin ID
_LEN: Final = struct.Struct("<I")
_JSON_SCHEMA: Final = 1
_PAYLOAD: Final = 38  # where a plugin event's payload starts
_NO_PAYLOADS: Final = itertools.repeat(None)  # a batch without its payload objects: sliced per event
_PLUGIN_EVENT_TYPE: Final = PPME_PLUGINEVENT_E.to_bytes(2, "little")
_EMPTY: Final = EventBatch(b"", ())


class InProcessBackend(PluginBackend):
    """A Python plugin class (or a ``module:Class`` / ``file.py[:Class]`` reference) run directly.

    Extraction is lazy (``prefers_batch_extraction`` is false): with no boundary to amortize, a
    value is computed when a condition or an output first needs it, through :meth:`field_runner`,
    so that fields a rule never reaches for an event cost nothing.
    """

    prefers_batch_extraction = False

    def __init__(self, plugin: type[SdkPlugin] | str) -> None:
        if isinstance(plugin, str):
            self.location = plugin
            plugin = load_plugin_class(plugin)
        else:
            self.location = f"{plugin.__module__}:{plugin.__qualname__}"
        self.description = describe(plugin)
        self.info = self.description.info
        self.driver: PluginDriver | None = None
        self._owner: Owner | None = None

    def has(self, entry_point: str) -> bool:
        return self.description.has(entry_point)

    # -- information -------------------------------------------------------------------------------
    def get_required_api_version(self) -> str:
        return self.info.required_api_version

    def get_version(self) -> str:
        return self.info.version

    def get_name(self) -> str:
        return self.info.name

    def get_description(self) -> str:
        return self.info.description

    def get_contact(self) -> str:
        return self.info.contact

    def get_id(self) -> int:
        return self.info.id

    def get_event_source(self) -> str | None:
        return self.info.event_source if self.description.sourcing else None

    def get_fields(self) -> str | None:
        return self.description.extraction.fields_json if self.description.extraction else None

    def get_extract_event_sources(self) -> str | None:
        return self.description.extraction.sources_json if self.description.extraction else None

    def get_parse_event_sources(self) -> str | None:
        return self.description.parsing.sources_json if self.description.parsing else None

    def get_async_event_sources(self) -> str | None:
        return self.description.async_events.sources_json if self.description.async_events else None

    def get_async_events(self) -> str | None:
        return self.description.async_events.names_json if self.description.async_events else None

    def get_init_schema(self) -> tuple[int, str | None]:
        schema = self.description.init_schema
        return (_JSON_SCHEMA, schema) if schema is not None else (0, None)

    # -- lifecycle ---------------------------------------------------------------------------------
    def init(self, config: str, owner: Owner, with_tables: bool) -> tuple[bool, int]:
        driver = PluginDriver(self.description)
        registry = getattr(owner, "tables", None)
        tables = RegistryTableHost(registry, self.info.name) if with_tables and registry is not None else None
        self._owner = owner
        ok = driver.init(config, owner.log, HostContext(tables))
        self.driver = driver  # kept on failure too, so that get_last_error can explain it
        return True, 0 if ok else 1

    def destroy(self) -> None:
        driver, self.driver = self.driver, None
        if driver is not None:
            driver.destroy()

    def get_last_error(self) -> str | None:
        return self.driver.last_error if self.driver is not None else None

    def get_extract_event_types(self) -> list[int] | None:
        ext = self.description.extraction
        return list(ext.event_types) if ext is not None and ext.event_types else None

    def get_parse_event_types(self) -> list[int] | None:
        parsing = self.description.parsing
        return list(parsing.event_types) if parsing is not None and parsing.event_types else None

    def get_required_event_schema_version(self) -> str | None:
        return self.description.required_event_schema_version

    def set_config(self, config: str) -> int:
        return 0 if self._driver().set_config(config) else 1

    def get_metrics(self) -> list[Metric]:
        metrics = self._driver().metrics()
        return metrics if metrics is not None else []

    def _driver(self) -> PluginDriver:
        if self.driver is None or self.driver.plugin is None:
            raise PluginError(f"plugin {self.info.name} used before a successful init", plugin=self.info.name)
        return self.driver

    # -- sourcing ----------------------------------------------------------------------------------
    def open(self, params: str) -> tuple[Any, int]:
        instance = self._driver().open(params)
        return (instance, 0) if instance is not None else (None, 1)

    def close(self, handle: Any) -> None:
        if isinstance(handle, InstanceDriver):
            handle.close()

    def next_batch(self, handle: Any, plugin_id: int, plugin_name: str) -> tuple[int, EventBatch]:
        rc = handle.next_batch()
        items = handle.writer.items
        if not items:
            return rc, _EMPTY
        return rc, self._layout(items, plugin_id or self.info.id, plugin_name)

    def _layout(self, items: list[Any], plugin_id: int, plugin_name: str) -> EventBatch:
        """Plugin events (type 322, the plugin's ID, tid -1), laid end to end in one buffer."""
        now = time.time_ns() // 1000 * 1000  # libscap's stamp for ts = -1: microseconds, times 1000
        limit = self.description.sourcing.max_event_size if self.description.sourcing else 0
        pack = _HEAD.pack
        parts: list[bytes] = []
        offsets: list[int] = []
        payloads: list[bytes] = []
        pos = 0
        for item in items:
            payload, ts = _item(item, plugin_name)
            n = len(payload)
            if n > limit:
                raise _batch_error(plugin_name, f"an event of {n} bytes exceeds max_event_size ({limit})")
            parts.append(pack(now if ts == TS_NOW else ts, NO_TID, 38 + n, PPME_PLUGINEVENT_E, 2, 4, n, plugin_id))
            parts.append(payload)
            payloads.append(payload)
            offsets.append(pos)
            pos += 38 + n
        return EventBatch(b"".join(parts), offsets, payloads)

    def list_open_params(self) -> tuple[int, str | None]:
        text = self._driver().list_open_params()
        return (0, text) if text is not None else (1, None)

    def get_progress(self, handle: Any) -> tuple[int, str | None]:
        return handle.progress()

    def event_to_string(self, event: bytes | memoryview, evtnum: int, source: str | None) -> str | None:
        return self._driver().event_to_string(bytes(event), evtnum, source)

    # -- extraction --------------------------------------------------------------------------------
    def extractor(self, fields: Sequence[FieldRequest]) -> Extractor:
        return InProcessExtractor(self._driver(), fields)

    # -- parsing -----------------------------------------------------------------------------------
    def parser(self) -> Parser:
        return InProcessParser(self._driver())

    # -- async events --------------------------------------------------------------------------------
    def set_async_event_handler(self, handler: AsyncHandler | None) -> int:
        return 0 if self._driver().set_async_handler(handler) else 1

    def dump_state(self, handler: AsyncHandler) -> int:
        return 0 if self._driver().dump_state(handler) else 1

    # -- capture listening ---------------------------------------------------------------------------
    def capture_open(self) -> int:
        pool = getattr(self._owner, "routines", None)
        return 0 if self._driver().capture_open(PoolRoutines(pool, self.info.name)) else 1

    def capture_close(self) -> int:
        return 0 if self._driver().capture_close() else 1

    def field_runner(self, request: FieldRequest) -> Callable[[bytes, bytes, int, str | None], Any]:
        """One field, prepared once: ``run(event bytes, payload, evtnum, source)`` gives its value
        for one event (``None``: no value, or the plugin failed: the last error says why)."""
        driver = self._driver()
        run = _plan(driver, [request]).run

        def value(data: bytes, payload: bytes, num: int, source: str | None) -> Any:
            return run(data, payload, num, source)[0]  # type: ignore[index] - partial: never None

        return value


def _plan(driver: PluginDriver, fields: Sequence[FieldRequest]) -> ExtractPlan:
    """The SDK's plan for these fields, checked; a field that fails has no value for that event
    and the failure goes to the run's extraction-error reporter (logged, counted, or fatal)."""

    def report(field: str, kind: str, message: str) -> None:
        extraction_errors.report(driver.name, field, kind, message)

    try:
        return driver.plan(fields, check=True, on_failure=report)
    except ValueError as exc:
        raise PluginError(str(exc), plugin=driver.name) from None


def _batch_error(plugin_name: str, reason: str) -> PluginError:
    """A batch the plugin returned cannot be laid out: worded as the framework reports a built
    library's failed next_batch ("plugin <name>: next_batch: <reason>"), where C finds the same faults."""
    return PluginError(f"plugin {plugin_name}: next_batch: {reason}", plugin=plugin_name)


def _item(item: Any, plugin_name: str) -> tuple[bytes, int]:
    """A batch item as (payload bytes, ts): items are payloads or (payload, ts) pairs."""
    ts = TS_NOW
    if type(item) is tuple:
        if len(item) != 2:
            raise _batch_error(plugin_name, f"a batch item must be a payload or (payload, ts), got {item!r:.60}")
        item, ts = item
        if not isinstance(ts, int) or not 0 <= ts <= TS_NOW:
            raise _batch_error(plugin_name, f"an event timestamp must be int nanoseconds, got {ts!r:.60}")
    if isinstance(item, bytes):
        return item, ts
    if isinstance(item, str):
        return item.encode(), ts
    if isinstance(item, (bytearray, memoryview)):
        return bytes(item), ts
    raise _batch_error(plugin_name, f"an event payload must be bytes or str, got {type(item).__name__}")


class InProcessExtractor(Extractor):
    """One request run through the SDK plan, one plugin call per event."""

    def __init__(self, driver: PluginDriver, fields: Sequence[FieldRequest]) -> None:
        self.fields = tuple(fields)
        self.driver = driver
        self.plan = _plan(driver, self.fields)

    def extract_batch(
        self, batch: EventBatch, evtnums: Sequence[int], source: str | None, type_ok: bytes | None
    ) -> list[list[Any]]:
        nf = len(self.fields)
        data, run, unpack = batch.data, self.plan.run, _LEN.unpack_from
        copy = bytes if isinstance(data, memoryview) else None  # plugin code gets bytes, not views
        values_of = []  # one tuple (or None) per event, turned into columns at the end
        add = values_of.append
        payloads = batch.payloads if batch.payloads is not None else _NO_PAYLOADS
        for off, num, payload in zip(batch.offsets, evtnums, payloads):
            if type_ok is not None and not type_ok[data[off + 20] | data[off + 21] << 8]:
                add(None)
                continue
            event = data[off : off + unpack(data, off + 16)[0]]
            if copy is not None:
                event = copy(event)
            if payload is None:
                payload = event[_PAYLOAD:] if event[20:22] == _PLUGIN_EVENT_TYPE else b""
            add(run(event, payload, num, source))
        if not values_of:
            return [[] for _ in range(nf)]
        missing = (None,) * nf
        return [list(col) for col in zip(*(v or missing for v in values_of))]

    def extract_event(self, buf: bytes | memoryview, offset: int, evtnum: int, source: str | None) -> list[Any]:
        return [column[0] for column in self.extract_batch(EventBatch(buf, (offset,)), (evtnum,), source, None)]


class InProcessParser(Parser):
    """``parse`` run on each event of a batch, with the event's own bytes."""

    def __init__(self, driver: PluginDriver) -> None:
        self.run = driver.parser()

    def parse_batch(
        self, batch: EventBatch, evtnums: Sequence[int], source: str, type_ok: bytes | None
    ) -> None:
        data, run, unpack = batch.data, self.run, _LEN.unpack_from
        copy = bytes if isinstance(data, memoryview) else None
        for off, num in zip(batch.offsets, evtnums):
            if type_ok is not None and not type_ok[data[off + 20] | data[off + 21] << 8]:
                continue
            event = data[off : off + unpack(data, off + 16)[0]]
            run(event if copy is None else copy(event), num, source)

    def parse_event(self, buf: bytes | memoryview, offset: int, evtnum: int, source: str) -> int:
        event = buf[offset : offset + _LEN.unpack_from(buf, offset + 16)[0]]
        return self.run(event if isinstance(event, bytes) else bytes(event), evtnum, source)


class RegistryTableHost:
    """The inspector's table registry as the SDK reaches it in-process: tables are its Python
    objects, used directly (a C plugin's own tables through their vtables)."""

    def __init__(self, registry: Any, plugin_name: str) -> None:
        self.registry = registry
        self.plugin_name = plugin_name

    def list_tables(self) -> list[tuple[str, int]]:
        return [(name, int(key_type)) for name, key_type in self.registry.list()]

    def get_table(self, name: str, key_type: int) -> StateTableBackend | None:
        table = self.registry.get(name, key_type)  # TableError on a wrong key type
        if table is None:
            return None
        self.registry.note_user(self.plugin_name)
        return StateTableBackend(table)

    def add_table(self, table: Table[Any, Any]) -> None:
        if not isinstance(table, StateTable):
            raise TableError(f"cannot add {table!r} as a table")
        self.registry.add(table)  # TableError: "table added to registry multiple times"
        self.registry.note_user(self.plugin_name)


class PoolRoutines:
    """The inspector's routine pool as the SDK's routine host."""

    def __init__(self, pool: Any, plugin_name: str) -> None:
        self.pool = pool
        self.plugin_name = plugin_name

    def subscribe(self, step: Any) -> int:
        if self.pool is None:
            raise RuntimeError("no thread pool to subscribe routines to")
        return int(self.pool.subscribe(step, self.plugin_name))

    def unsubscribe(self, handle: Any) -> None:
        if self.pool is None or not self.pool.unsubscribe(handle):
            raise RuntimeError("unsubscribe called with an unknown routine")
