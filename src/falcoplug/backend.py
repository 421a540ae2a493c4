"""The one interface the framework drives, whatever a plugin is made of.

A :class:`PluginBackend` mirrors the plugin API entry points one to one, with Python values
instead of C ones: a C library loaded with dlopen (``abi.loader.CPluginBackend``) and an SDK plugin
run in-process (``framework.inprocess``) both implement it. It applies no libsinsp rule; that is
the job of :class:`framework.plugin.Plugin`, so that both kinds of plugin are held to the same rules.

Conventions: a method returning ``str | None`` returns ``None`` where the C function returned NULL;
``has(name)`` tells whether the entry point ``plugin_<name>`` exists.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from .api import STATE_TYPE_NAMES, StateType
from .errors import AsyncEventRejected as AsyncEventRejected  # re-exported: the handlers' refusal
from .errors import FalcoplugError
from .events import EventBatch

# The entry points, by the name after ``plugin_``, in the API's slot order.
ENTRY_POINTS: tuple[str, ...] = (
    "get_required_api_version", "get_init_schema", "init", "destroy", "get_last_error", "get_name",
    "get_description", "get_contact", "get_version", "get_id", "get_event_source", "open", "close",
    "list_open_params", "get_progress", "event_to_string", "next_batch", "get_extract_event_types",
    "get_extract_event_sources", "get_fields", "extract_fields", "get_parse_event_types",
    "get_parse_event_sources", "parse_event", "get_async_event_sources", "get_async_events",
    "set_async_event_handler", "dump_state", "set_config", "get_metrics", "capture_open",
    "capture_close", "get_required_event_schema_version",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FieldRequest:
    """One field to extract, as ``ss_plugin_extract_field`` describes it to the plugin."""

    field_id: int
    name: str
    ftype: int
    is_list: bool = False
    arg_key: str | None = None
    arg_index: int | None = None

    @property
    def arg_present(self) -> bool:
        return self.arg_key is not None or self.arg_index is not None


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    value: int | float
    monotonic: bool = True


class Owner(Protocol):
    """What the host hands a plugin at init: the owner handle's behaviour.

    Besides logging and the owner's last error (set by every failing host callback, read back by
    ``get_owner_last_error``), an owner carries what the host shares with its plugins:
    ``tables`` (a :class:`falcoplug.framework.tables.TableRegistry`, or ``None`` outside an
    inspector), ``routines`` (a :class:`falcoplug.framework.listen.RoutinePool` for capture
    listening), ``capabilities`` (the plugin's capability flags) and ``api_minor`` (the minor of
    the API version the plugin requires, which decides how its own tables are checked).
    """

    name: str
    tables: Any
    routines: Any
    capabilities: int
    api_minor: int

    def log(self, component: str | None, message: str, severity: int) -> None: ...

    @property
    def last_error(self) -> str | None: ...


class TableError(FalcoplugError):
    """A failing state-table operation, with libsinsp's message (the owner's last error)."""


def check_table_field(field: Any, name: str, state_type: int, table_name: str) -> Any:
    """libsinsp's rules for getting a field of a table by name and type (``field`` is what the
    table has under that name, or ``None``); every table applies them, the host's and the plugins'."""
    if field is None:
        raise TableError(f"undefined field '{name}' in table '{table_name}'")
    if field.type != state_type:
        kind = "dynamic" if field.dynamic else "static"
        raise TableError(f"incompatible data types for {kind} field: {name}")
    return field


def check_dynamic_field(field: Any, name: str, state_type: int) -> bool:
    """libsinsp's rules for adding a dynamic field (``field``: the one of that name, or ``None``);
    ``True`` when the existing field is the one asked for."""
    if state_type == StateType.TABLE:
        raise TableError(f"can't add dynamic field of type table: {name}")
    if state_type not in STATE_TYPE_NAMES:
        raise TableError(f"can't convert plugin state type to typeinfo: {int(state_type)}")
    if field is None:
        return False
    if not field.dynamic:
        raise TableError(f"can't add dynamic field already defined as static: {name}")
    if field.type != state_type:
        raise TableError(
            f"multiple definitions of dynamic field with different types in struct: {name}, "
            f"prevtype={STATE_TYPE_NAMES[field.type]}, newtype={STATE_TYPE_NAMES[state_type]}"
        )
    return True


@dataclass(frozen=True, slots=True)
class FieldDescr:
    """What ``list_table_fields`` reports of a table field: name, state type, read-only flag."""

    name: str
    type: int
    read_only: bool


class StateTable(ABC):
    """A state table, whoever owns it (the host or a plugin): the operations of the plugin API's
    table vtables, with Python keys and values.

    Every failing operation raises :class:`TableError`. Entries returned by :meth:`get_entry`
    and :meth:`add_entry` should be given back with :meth:`release` (a no-op for host tables).
    """

    name: str
    key_type: StateType

    def __init__(self) -> None:
        self._c: dict[Any, Any] = {}  # reserved for the C adapter (per-owner accessors)

    @abstractmethod
    def fields(self) -> list[FieldDescr]: ...
    @abstractmethod
    def get_field(self, name: str, state_type: int) -> Any: ...
    @abstractmethod
    def add_field(self, name: str, state_type: int) -> Any: ...
    @abstractmethod
    def __len__(self) -> int: ...
    @abstractmethod
    def get_entry(self, key: Any) -> Any: ...
    @abstractmethod
    def entries(self) -> list[Any]:
        """A snapshot of the entries, for iteration (the table may change meanwhile)."""
    @abstractmethod
    def clear(self) -> None: ...
    @abstractmethod
    def erase(self, key: Any) -> None: ...
    @abstractmethod
    def new_entry(self) -> Any: ...
    @abstractmethod
    def add_entry(self, key: Any, entry: Any) -> Any: ...
    @abstractmethod
    def read(self, entry: Any, field: Any) -> Any: ...
    @abstractmethod
    def write(self, entry: Any, field: Any, value: Any) -> None: ...

    def release(self, entry: Any) -> None:
        """Give back an entry obtained with :meth:`get_entry` or :meth:`add_entry`."""

    def destroy_entry(self, entry: Any) -> None:
        """Drop an entry made with :meth:`new_entry` and never added."""

    # -- conveniences for Python callers ------------------------------------------------------
    def field(self, name: str) -> Any:
        """A field by name, whatever its type."""
        for descr in self.fields():
            if descr.name == name:
                return self.get_field(name, descr.type)
        raise TableError(f"undefined field '{name}' in table '{self.name}'")

    def value(self, key: Any, name: str) -> Any:
        """The value of field ``name`` of the entry at ``key``."""
        entry = self.get_entry(key)
        try:
            return self.read(entry, self.field(name))
        finally:
            self.release(entry)

    def row(self, key: Any) -> dict[str, Any]:
        """Every field of the entry at ``key``, by name (sub-tables as table objects)."""
        entry = self.get_entry(key)
        try:
            return {d.name: self.read(entry, self.get_field(d.name, d.type)) for d in self.fields()}
        finally:
            self.release(entry)

    def set(self, key: Any, **values: Any) -> None:
        """Write fields of the entry at ``key``, creating the entry if needed."""
        try:
            entry = self.get_entry(key)
        except TableError:
            entry = self.add_entry(key, self.new_entry())
        try:
            for name, value in values.items():
                self.write(entry, self.field(name), value)
        finally:
            self.release(entry)


# An async-event handler, as the framework hands it to a backend: it takes the event's bytes (a
# copy), returns on acceptance and raises AsyncEventRejected (or any exception) to refuse it.
AsyncHandler = Callable[[bytes], None]


class Parser(ABC):
    """A parsing plugin's ``parse_event``, prepared once and called for many events."""

    @abstractmethod
    def parse_batch(
        self, batch: EventBatch, evtnums: Sequence[int], source: str, type_ok: bytes | None
    ) -> None:
        """Call ``parse_event`` for each event of the batch whose type ``type_ok`` accepts (all
        when ``None``), in order. The plugin's return codes are ignored, as in libsinsp."""

    def parse_event(self, buf: bytes | memoryview, offset: int, evtnum: int, source: str) -> int:
        """Parse one event; returns the plugin's rc."""
        self.parse_batch(EventBatch(buf, array("Q", (offset,))), (evtnum,), source, None)
        return 0


class Extractor(ABC):
    """A request (a fixed list of fields) prepared once and run on many events."""

    fields: Sequence[FieldRequest]

    @abstractmethod
    def extract_batch(
        self,
        batch: EventBatch,
        evtnums: Sequence[int],
        source: str | None,
        type_ok: bytes | None,
    ) -> list[list[Any]]:
        """One column per field, one value per event of the batch (``None`` when it has no value).

        The plugin is called once per event with every field of the request. A list field's value
        is a Python list. ``type_ok`` is a 65536-byte map of the accepted event types (``None``:
        all); an event of another type gets no value and no call.
        """

    def extract_event(self, buf: bytes | memoryview, offset: int, evtnum: int, source: str | None) -> list[Any]:
        """The values of every field for one event."""
        batch = EventBatch(buf, array("Q", (offset,)))
        return [column[0] for column in self.extract_batch(batch, (evtnum,), source, None)]


class PluginBackend(ABC):
    """A plugin as the framework sees it, before any libsinsp rule is applied."""

    location: str  # the library path, or ``module:Class``, for messages
    # Whether extracting a whole batch in one loop pays off (a C plugin, whose per-event loop runs
    # in compiled code) or values should be extracted one by one as conditions reach them.
    prefers_batch_extraction: bool = True

    @abstractmethod
    def has(self, entry_point: str) -> bool: ...

    # -- information, available before init ------------------------------------------------
    @abstractmethod
    def get_required_api_version(self) -> str | None: ...
    @abstractmethod
    def get_version(self) -> str | None: ...
    @abstractmethod
    def get_name(self) -> str | None: ...
    @abstractmethod
    def get_description(self) -> str | None: ...
    @abstractmethod
    def get_contact(self) -> str | None: ...
    def get_id(self) -> int:
        return 0
    def get_event_source(self) -> str | None:
        return None
    def get_fields(self) -> str | None:
        return None
    def get_extract_event_sources(self) -> str | None:
        return None
    def get_parse_event_sources(self) -> str | None:
        return None
    def get_async_event_sources(self) -> str | None:
        return None
    def get_async_events(self) -> str | None:
        return None
    def get_init_schema(self) -> tuple[int, str | None]:
        """``(schema type, schema)``; type 0 (NONE) when there is no schema."""
        return 0, None

    # -- lifecycle -----------------------------------------------------------------------------
    @abstractmethod
    def init(self, config: str, owner: Owner, with_tables: bool) -> tuple[bool, int]:
        """Create the plugin state: ``(state created, rc)``."""
    @abstractmethod
    def destroy(self) -> None: ...
    @abstractmethod
    def get_last_error(self) -> str | None: ...
    def get_extract_event_types(self) -> list[int] | None:
        return None
    def get_parse_event_types(self) -> list[int] | None:
        return None
    def get_required_event_schema_version(self) -> str | None:
        return None
    def set_config(self, config: str) -> int:
        raise NotImplementedError
    def get_metrics(self) -> list[Metric]:
        return []

    # -- event sourcing ------------------------------------------------------------------------
    def open(self, params: str) -> tuple[Any, int]:
        """``(instance handle or None, rc)``."""
        raise NotImplementedError
    def close(self, handle: Any) -> None:
        raise NotImplementedError
    def next_batch(self, handle: Any, plugin_id: int, plugin_name: str) -> tuple[int, EventBatch]:
        """``(rc, events)``: events already checked and fixed as libscap does (see ``events.fix_plugin_events``)."""
        raise NotImplementedError
    def list_open_params(self) -> tuple[int, str | None]:
        raise NotImplementedError
    def get_progress(self, handle: Any) -> tuple[int, str | None]:
        """``(percent * 100, text or None)``."""
        raise NotImplementedError
    def event_to_string(self, event: bytes | memoryview, evtnum: int, source: str | None) -> str | None:
        raise NotImplementedError

    # -- field extraction ----------------------------------------------------------------------
    def extractor(self, fields: Sequence[FieldRequest]) -> Extractor:
        raise NotImplementedError

    # -- event parsing -------------------------------------------------------------------------
    def parser(self) -> Parser:
        """``parse_event`` with the parse input (owner, table reader and writer) prepared once."""
        raise NotImplementedError

    # -- async events --------------------------------------------------------------------------
    def set_async_event_handler(self, handler: AsyncHandler | None) -> int:
        """Give the plugin a handler (start emitting) or ``None`` (stop, join threads): the rc.

        The handler may be called from any thread until this returns with ``None``.
        """
        raise NotImplementedError

    def dump_state(self, handler: AsyncHandler) -> int:
        """Have the plugin send its state as async events through ``handler``, synchronously."""
        raise NotImplementedError

    # -- capture listening ---------------------------------------------------------------------
    def capture_open(self) -> int:
        """Notify the plugin that a capture opened; it may subscribe routines to ``owner.routines``."""
        raise NotImplementedError

    def capture_close(self) -> int:
        raise NotImplementedError


@dataclass
class HostOwner:
    """The default owner: routes plugin logs to a callable and keeps the owner's last error.

    ``tables`` and ``routines`` are filled by the inspector the plugin is registered with.
    """

    name: str
    logger: Callable[[str, str, int], None] | None = None
    last_error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    tables: Any = None
    routines: Any = None
    capabilities: int = 0
    api_minor: int = 0

    def log(self, component: str | None, message: str, severity: int) -> None:
        if self.logger is not None:
            self.logger(component or self.name, message, severity)
