"""Everything a host needs to know about a plugin class before creating it, checked once.

:func:`describe` is what the in-process adapter reports through ``get_*`` and what ``falcoplug
build`` bakes into the library as constants. Each capability contributes its own part; a new
capability (parsing, async events, capture listening) adds a part and its entry points here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Final

from .async_events import AsyncPlugin
from .extract import ExtractPlugin, FieldSpec
from .info import PluginDefinitionError, PluginInfo
from .listen import CaptureListenPlugin
from .parse import ParsePlugin
from .plugin import Plugin
from .source import SourcePlugin
from .tables import check_declarations, declared_tables

COMMON_ENTRY_POINTS: Final = (
    "get_required_api_version", "get_version", "get_name", "get_description", "get_contact",
    "init", "destroy", "get_last_error",
)  # fmt: skip
SOURCING_ENTRY_POINTS: Final = ("get_id", "get_event_source", "open", "close", "next_batch", "get_progress")
EXTRACTION_ENTRY_POINTS: Final = ("get_fields", "extract_fields")
PARSING_ENTRY_POINTS: Final = ("parse_event",)
ASYNC_ENTRY_POINTS: Final = ("get_async_events", "set_async_event_handler")
LISTENING_ENTRY_POINTS: Final = ("capture_open", "capture_close")


@dataclass(frozen=True, slots=True)
class Sourcing:
    batch_capacity: int
    max_event_size: int


@dataclass(frozen=True, slots=True)
class Extraction:
    fields: tuple[FieldSpec, ...]
    fields_json: str
    sources_json: str | None  # None: not declared (the host's default applies)
    event_types: tuple[int, ...] | None
    required_event_schema_version: str | None


@dataclass(frozen=True, slots=True)
class Parsing:
    sources_json: str | None  # None: not declared (the host's default applies)
    event_types: tuple[int, ...] | None


@dataclass(frozen=True, slots=True)
class AsyncEvents:
    names: tuple[str, ...]
    names_json: str
    sources_json: str | None
    dump_state: bool


@dataclass(frozen=True, slots=True)
class Listening:
    pass


@dataclass(frozen=True, slots=True)
class Description:
    """A plugin class as a host sees it: identity, schema, capabilities and entry points."""

    cls: type[Plugin]
    info: PluginInfo
    init_schema: str | None
    entry_points: frozenset[str]
    sourcing: Sourcing | None = None
    extraction: Extraction | None = None
    capabilities: tuple[str, ...] = field(default=())
    parsing: Parsing | None = None
    async_events: AsyncEvents | None = None
    listening: Listening | None = None
    tables: tuple[str, ...] = ()  # the tables the class declares (accessed or owned), by attribute
    required_event_schema_version: str | None = None

    def has(self, entry_point: str) -> bool:
        return entry_point in self.entry_points

    @property
    def digest(self) -> str:
        """A hash of everything baked into a built library: it changes when the plugin's
        declarations change, so a library can tell that its plugin source moved on."""
        doc = {
            "info": [self.info.name, self.info.version, self.info.description, self.info.contact,
                     self.info.required_api_version, self.info.id, self.info.event_source],
            "schema": self.init_schema,
            "entry": sorted(self.entry_points),
            "fields": self.extraction.fields_json if self.extraction else None,
            "sources": self.extraction.sources_json if self.extraction else None,
            "types": list(self.extraction.event_types or ()) if self.extraction else None,
            "parse": [self.parsing.sources_json, list(self.parsing.event_types or ())] if self.parsing else None,
            "async": [self.async_events.names_json, self.async_events.sources_json] if self.async_events else None,
            "schema_version": self.required_event_schema_version,
        }  # fmt: skip
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def describe(cls: type[Plugin]) -> Description:
    """Check a plugin class completely and describe it (cached on the class)."""
    cached = cls.__dict__.get("_falcoplug_description")
    if isinstance(cached, Description):
        return cached
    if not (isinstance(cls, type) and issubclass(cls, Plugin)):
        raise PluginDefinitionError(f"{cls!r} is not a plugin class (subclass SourcePlugin and/or ExtractPlugin)")
    info = cls.plugin_info()
    model = cls.config_model()
    schema = model.schema_json() if model is not None else None
    entry = set(COMMON_ENTRY_POINTS)
    if schema is not None:
        entry.add("get_init_schema")
    if cls.overrides("set_config"):
        entry.add("set_config")
    if cls.overrides("metrics"):
        entry.add("get_metrics")
    caps: list[str] = []
    sourcing = _sourcing(cls, entry, caps)
    extraction = _extraction(cls, entry, caps)
    parsing = _parsing(cls, entry, caps)
    async_events = _async(cls, entry, caps)
    listening = _listening(cls, entry, caps)
    if not caps:
        raise PluginDefinitionError(
            f"plugin class {cls.__qualname__}: has no capability (subclass SourcePlugin, ExtractPlugin, "
            "ParsePlugin, AsyncPlugin and/or CaptureListenPlugin)", info.name,
        )  # fmt: skip
    check_declarations(cls)
    tables = tuple(decl.attr for decl in declared_tables(cls))
    schema_version = getattr(cls, "required_event_schema_version", None) if (extraction or parsing) else None
    if schema_version is not None:
        entry.add("get_required_event_schema_version")
    desc = Description(
        cls, info, schema, frozenset(entry), sourcing, extraction, tuple(caps), parsing, async_events, listening,
        tables, schema_version,
    )  # fmt: skip
    cls._falcoplug_description = desc  # type: ignore[attr-defined]
    return desc


def _sourcing(cls: type[Plugin], entry: set[str], caps: list[str]) -> Sourcing | None:
    if not issubclass(cls, SourcePlugin):
        return None
    cls.check_sourcing()
    caps.append("sourcing")
    entry.update(SOURCING_ENTRY_POINTS)
    if cls.overrides("list_open_params", SourcePlugin):
        entry.add("list_open_params")
    if cls.overrides("event_to_string", SourcePlugin):
        entry.add("event_to_string")
    return Sourcing(cls.batch_capacity, cls.max_event_size)


def _extraction(cls: type[Plugin], entry: set[str], caps: list[str]) -> Extraction | None:
    if not issubclass(cls, ExtractPlugin):
        return None
    cls.check_extraction()
    caps.append("extraction")
    entry.update(EXTRACTION_ENTRY_POINTS)
    sources = cls.extract_event_sources
    types = cls.extract_event_types
    if sources is not None:
        entry.add("get_extract_event_sources")
    if types is not None:
        entry.add("get_extract_event_types")
    return Extraction(
        fields=cls.field_specs(),
        fields_json=cls.fields_json(),
        sources_json=None if sources is None else json.dumps(list(sources)),
        event_types=None if types is None else tuple(sorted(set(types))),
        required_event_schema_version=cls.required_event_schema_version,
    )


def _parsing(cls: type[Plugin], entry: set[str], caps: list[str]) -> Parsing | None:
    if not issubclass(cls, ParsePlugin):
        return None
    cls.check_parsing()
    caps.append("parsing")
    entry.update(PARSING_ENTRY_POINTS)
    sources, types = cls.parse_event_sources, cls.parse_event_types
    if sources is not None:
        entry.add("get_parse_event_sources")
    if types is not None:
        entry.add("get_parse_event_types")
    return Parsing(
        sources_json=None if sources is None else json.dumps(list(sources)),
        event_types=None if types is None else tuple(sorted(set(types))),
    )


def _async(cls: type[Plugin], entry: set[str], caps: list[str]) -> AsyncEvents | None:
    if not issubclass(cls, AsyncPlugin):
        return None
    cls.check_async()
    caps.append("async events")
    entry.update(ASYNC_ENTRY_POINTS)
    sources = cls.async_event_sources
    if sources is not None:
        entry.add("get_async_event_sources")
    dump = cls.overrides("dump_state", AsyncPlugin)
    if dump:
        entry.add("dump_state")
    names = tuple(cls.async_events)
    return AsyncEvents(names, json.dumps(list(names)), None if sources is None else json.dumps(list(sources)), dump)


def _listening(cls: type[Plugin], entry: set[str], caps: list[str]) -> Listening | None:
    if not issubclass(cls, CaptureListenPlugin):
        return None
    cls.check_listening()
    caps.append("capture listening")
    entry.update(LISTENING_ENTRY_POINTS)
    return Listening()
