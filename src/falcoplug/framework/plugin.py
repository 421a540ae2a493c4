"""A registered plugin, held to libsinsp's rules (``sinsp_plugin``): what it is, what it can do,
and its lifecycle. Works over any :class:`~falcoplug.backend.PluginBackend`."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

from ..abi.constants import API_VERSION, API_VERSION_STR, Capability, LogSeverity, Rc, SchemaType
from ..backend import HostOwner, Metric, Parser, PluginBackend
from ..errors import ConfigError, PluginError, PluginLoadError
from ..events import PPME_PLUGINEVENT_E
from ..filter.fields import FieldInfo
from .async_queue import check_async_event
from .fields import parse_fields_json

SYSCALL_SOURCE = "syscall"
REQUIRED_SYMBOLS = (
    "get_required_api_version", "get_version", "get_name", "get_description", "get_contact",
    "init", "destroy", "get_last_error",
)  # fmt: skip
ALL_EVENT_TYPES = b"\x01" * 65536
_VERSION = re.compile(r"^\s*\+?(\d+)\.\s*\+?(\d+)\.\s*\+?(\d+)")

log = logging.getLogger("falcoplug.plugin")
# What a JSON text a plugin or a user gives can raise: invalid, or nested beyond the parser's
# recursion (libsinsp's jsoncpp stops at a depth of 1000 too).
_JSON_ERRORS = (ValueError, RecursionError)

_SEVERITY_LEVELS = {
    LogSeverity.FATAL: logging.CRITICAL,
    LogSeverity.CRITICAL: logging.CRITICAL,
    LogSeverity.ERROR: logging.ERROR,
    LogSeverity.WARNING: logging.WARNING,
    LogSeverity.NOTICE: logging.INFO,
    LogSeverity.INFO: logging.INFO,
    LogSeverity.DEBUG: logging.DEBUG,
    LogSeverity.TRACE: logging.DEBUG,
}


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``sscanf("%u.%u.%u")``: three numbers at the start, anything may follow."""
    match = _VERSION.match(text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def api_version_problem(required: tuple[int, int, int]) -> str | None:
    major, minor, patch = required
    if major != API_VERSION[0]:
        return "major versions disagree"
    if API_VERSION[1] < minor:
        return "framework's minor is less than the requested one"
    if API_VERSION[1] == minor and API_VERSION[2] < patch:
        return "framework's patch is less than the requested one"
    return None


def _capabilities(backend: PluginBackend) -> tuple[Capability, list[str]]:
    has = backend.has
    caps, broken = Capability.NONE, []
    if has("open") and has("close") and has("next_batch"):
        has_id = has("get_id") and backend.get_id() != 0
        has_source = has("get_event_source") and bool(backend.get_event_source())
        if has_id == has_source:
            caps |= Capability.SOURCING
        else:
            broken.append("must implement both 'plugin_get_id' and 'plugin_get_event_source' or neither (event sourcing)")
    elif has("open") or has("close") or has("next_batch"):
        broken.append("must implement all of 'plugin_open', 'plugin_close', and 'plugin_next_batch' (event sourcing)")
    if has("get_fields") and has("extract_fields"):
        caps |= Capability.EXTRACTION
    elif has("extract_fields"):
        broken.append("must implement both 'plugin_get_fields' and 'plugin_extract_fields' (field extraction)")
    if has("parse_event"):
        caps |= Capability.PARSING
    if has("get_async_events") and has("set_async_event_handler"):
        caps |= Capability.ASYNC
    elif has("set_async_event_handler"):
        broken.append("must implement both 'plugin_get_async_events' and 'plugin_set_async_event_handler' (async events)")
    if has("capture_open") and has("capture_close"):
        caps |= Capability.CAPTURE_LISTENING
    elif has("capture_open"):
        broken.append("must implement both 'plugin_capture_open' and 'plugin_capture_close' (capture listening)")
    return caps, broken


class Plugin:
    """A plugin that passed libsinsp's registration checks; :meth:`init` it before use."""

    def __init__(self, backend: PluginBackend) -> None:
        self.backend = backend
        self.location = backend.location
        try:
            self._resolve()
        except PluginLoadError as exc:
            raise PluginLoadError(f"cannot load plugin {self.location}: {exc}", plugin=self.location) from None
        self._resolve_capabilities()
        self.initialized = False
        self.owner = HostOwner(
            self.name, logger=self._log, capabilities=int(self.capabilities),
            api_minor=(parse_version(self.required_api_version) or (0, 0, 0))[1],
        )  # fmt: skip
        self.extract_event_types: bytes = ALL_EVENT_TYPES
        self.parse_event_types: bytes = ALL_EVENT_TYPES
        self.init_config: str | None = None
        self._parser: Parser | None = None
        self._async_on = False

    # -- registration (sinsp_plugin::resolve_dylib_symbols) ---------------------------------
    def _resolve(self) -> None:
        b = self.backend
        if not b.has("get_required_api_version"):
            raise PluginLoadError("plugin_get_required_api_version symbol not implemented")
        required = b.get_required_api_version() or ""
        parsed = parse_version(required)
        if parsed is None:
            raise PluginLoadError(f"plugin provided an invalid required API version: '{required}'")
        problem = api_version_problem(parsed)
        if problem:
            raise PluginLoadError(
                f"plugin required API version '{required}' not compatible with the framework's "
                f"API version '{API_VERSION_STR}': {problem}"
            )
        for symbol in REQUIRED_SYMBOLS:
            if not b.has(symbol):
                raise PluginLoadError(f"required symbol not implemented: '{symbol}'")
        self.required_api_version = required
        self.name = b.get_name() or ""
        self.description = b.get_description() or ""
        self.contact = b.get_contact() or ""
        self.version = b.get_version() or ""
        if parse_version(self.version) is None:
            raise PluginLoadError(f"plugin provided an invalid version string: '{self.version}'")
        caps, broken = _capabilities(b)
        if broken:
            raise PluginLoadError("broken plugin capabilities: " + ", ".join(broken))
        if caps == Capability.NONE:
            raise PluginLoadError("plugin does not implement any capability")
        self.capabilities = caps
        self.id, self.event_source = 0, ""
        if caps & Capability.SOURCING and b.has("get_id") and b.has("get_event_source") and b.get_id() != 0:
            self.id = b.get_id()
            self.event_source = b.get_event_source() or ""
            if self.event_source == SYSCALL_SOURCE:
                raise PluginLoadError("plugin can't implement the reserved event source 'syscall'")

    def _resolve_capabilities(self) -> None:
        self.fields: list[FieldInfo] = []
        self.extract_sources: frozenset[str] = frozenset()
        self.parse_sources: frozenset[str] = frozenset()
        self.async_sources: frozenset[str] = frozenset()
        self.async_events: frozenset[str] = frozenset()
        b = self.backend
        if self.capabilities & Capability.EXTRACTION:
            self.fields = parse_fields_json(b.get_fields(), self.name)
            self.extract_sources = self._sources("get_extract_event_sources", b.get_extract_event_sources())
        if self.capabilities & Capability.PARSING:
            self.parse_sources = self._sources("get_parse_event_sources", b.get_parse_event_sources())
        if self.capabilities & Capability.ASYNC:
            self.async_sources = self._sources("get_async_event_sources", b.get_async_event_sources())
            names = b.get_async_events()
            if not names:
                raise self._error("'get_async_events' did not return a json array but it should")
            self.async_events = self._string_list("get_async_events", names)

    def _error(self, text: str) -> PluginLoadError:
        return PluginLoadError(f"error in plugin {self.name}: {text}", plugin=self.name)

    def _string_list(self, symbol: str, text: str) -> frozenset[str]:
        try:
            root = json.loads(text)
        except _JSON_ERRORS:
            root = None
        if not isinstance(root, list):
            raise self._error(f"'{symbol}' did not return a json array")
        items = set()
        for item in root:
            if isinstance(item, (dict, list)):
                raise self._error(f"'{symbol}' did not return a json array")
            value = "" if item is None else ("true" if item is True else "false" if item is False else str(item))
            if value:
                items.add(value)
        return frozenset(items)

    def _sources(self, symbol: str, text: str | None) -> frozenset[str]:
        sources = self._string_list(symbol, text) if text else frozenset()
        if self.capabilities & Capability.SOURCING and self.event_source:
            sources |= {self.event_source}
        return sources

    # -- what it is ---------------------------------------------------------------------------
    @property
    def has_sourcing(self) -> bool:
        return bool(self.capabilities & Capability.SOURCING)

    @property
    def has_extraction(self) -> bool:
        return bool(self.capabilities & Capability.EXTRACTION)

    @property
    def source_name(self) -> str:
        """The source of the events this plugin produces (``syscall`` for an ID-0 source plugin)."""
        return self.event_source if self.id != 0 else SYSCALL_SOURCE

    def is_extract_compatible(self, source: str) -> bool:
        return not self.extract_sources or source in self.extract_sources

    def is_parse_compatible(self, source: str) -> bool:
        return not self.parse_sources or source in self.parse_sources

    def is_async_compatible(self, source: str) -> bool:
        return not self.async_sources or source in self.async_sources

    @property
    def has_parsing(self) -> bool:
        return bool(self.capabilities & Capability.PARSING)

    @property
    def has_async(self) -> bool:
        return bool(self.capabilities & Capability.ASYNC)

    @property
    def has_capture_listening(self) -> bool:
        return bool(self.capabilities & Capability.CAPTURE_LISTENING)

    @cached_property
    def init_schema(self) -> tuple[SchemaType | int, str | None]:
        kind, text = self.backend.get_init_schema()
        return kind, text

    def capability_names(self) -> list[str]:
        names = {
            Capability.SOURCING: "event sourcing",
            Capability.EXTRACTION: "field extraction",
            Capability.PARSING: "event parsing",
            Capability.ASYNC: "async events",
            Capability.CAPTURE_LISTENING: "capture listening",
        }
        return [text for flag, text in names.items() if self.capabilities & flag]

    # -- init ---------------------------------------------------------------------------------
    def validate_config(self, config: str) -> str:
        """libsinsp's init-config check: returns the config the plugin receives ("" -> "{}")."""
        kind, schema = self.init_schema
        if not schema or kind == SchemaType.NONE:
            return config
        if kind != SchemaType.JSON:
            raise ConfigError(f"error in plugin {self.name}: get_init_schema returned an unknown schema type {kind}")
        try:
            schema_doc = json.loads(schema)
        except _JSON_ERRORS:
            schema_doc = None
        if not isinstance(schema_doc, dict):
            raise ConfigError(f"error in plugin {self.name}: get_init_schema did not return a json object")
        config = config or "{}"
        try:
            doc = json.loads(config)
        except _JSON_ERRORS:
            raise ConfigError(f"error in plugin {self.name}: init config is not a valid json") from None
        import jsonschema  # only plugins with a schema pay for it (a tenth of falcoplug's start-up)

        validator_cls = jsonschema.validators.validator_for(schema_doc, default=jsonschema.Draft7Validator)
        try:
            validator_cls.check_schema(schema_doc)
            error = jsonschema.exceptions.best_match(validator_cls(schema_doc).iter_errors(doc))
        except jsonschema.exceptions.SchemaError as exc:
            raise ConfigError(f"error in plugin {self.name}: get_init_schema did not return a valid json schema: {exc.message}") from None
        except Exception as exc:  # noqa: BLE001 - a schema the validator cannot apply (a bad pattern...)
            raise ConfigError(f"error in plugin {self.name}: init config could not be validated: {exc}") from None
        if error is not None:
            context = "<root>" + "".join(f"[{p}]" for p in error.absolute_path)
            raise ConfigError(f"error in plugin {self.name} init config: In {context}, {error.message}")
        return config

    def init(self, config: str | Mapping[str, Any] | None = None) -> None:
        """Validate the config against the init schema, then create the plugin state."""
        if self.initialized:
            raise PluginError(f"plugin has been initialized twice: {self.name}", plugin=self.name)
        text = config_text(config)
        text = self.validate_config(text)
        with_tables = bool(self.capabilities & (Capability.PARSING | Capability.EXTRACTION))
        has_state, rc = self.backend.init(text, self.owner, with_tables)
        if rc == Rc.SUCCESS and not has_state:
            # Success without a state: every later call would pass the plugin NULL. Refused here,
            # and the plugin stays uninitialized, so that no entry point is ever called with it.
            raise PluginError("could not initialize plugin: init returned SUCCESS but no plugin state (NULL)", plugin=self.name)
        self.initialized = True
        self.init_config = text
        if rc != Rc.SUCCESS:
            reason = self.last_error() if has_state else "plugin handle or 'get_last_error' function not defined"
            raise PluginError(f"could not initialize plugin: {reason}", plugin=self.name)
        if self.has_extraction:
            self.extract_event_types = self._event_types(self.backend.get_extract_event_types(), self.extract_sources)
        if self.capabilities & Capability.PARSING:
            self.parse_event_types = self._event_types(self.backend.get_parse_event_types(), self.parse_sources)

    def _event_types(self, types: list[int] | None, sources: frozenset[str]) -> bytes:
        if not types:
            if not sources or SYSCALL_SOURCE in sources:
                return ALL_EVENT_TYPES
            types = [PPME_PLUGINEVENT_E]
        table = bytearray(65536)
        for t in types:
            table[t & 0xFFFF] = 1
        return bytes(table)

    def _require_init(self) -> None:
        if not self.initialized:
            raise PluginError(f"plugin capability used before init: {self.name}", plugin=self.name)

    def last_error(self) -> str:
        self._require_init()
        return self.backend.get_last_error() or ""

    def set_config(self, config: str | Mapping[str, Any]) -> bool:
        self._require_init()
        text = self.validate_config(config_text(config))
        if not self.backend.has("set_config"):
            return False
        return self.backend.set_config(text) == Rc.SUCCESS

    def metrics(self) -> list[Metric]:
        """The plugin's metrics, named ``<plugin>.<metric>`` as libsinsp names them."""
        self._require_init()
        return [Metric(f"{self.name}.{m.name}", m.value, m.monotonic) for m in self.backend.get_metrics()]

    # -- parsing -----------------------------------------------------------------------------
    def parser(self) -> Parser:
        """The plugin's ``parse_event``, prepared once (the plugin must be initialized)."""
        self._require_init()
        if self._parser is None:
            self._parser = self.backend.parser()
        return self._parser

    # -- async events ----------------------------------------------------------------------
    def start_async(self, sink: Callable[[Plugin, bytes], None]) -> None:
        """Give the plugin its async-event handler (libsinsp does it when a live capture opens).

        Events the plugin sends are checked (type 402 with 3 parameters, a declared name), then
        passed to ``sink(plugin, raw)``, which may refuse them by raising.
        """
        self._require_init()
        if self._async_on:
            raise PluginError("must reset the async event handler before setting a new one", self.name)
        name, names = self.name, self.async_events

        def handler(raw: bytes) -> None:
            check_async_event(raw, name, names)
            sink(self, raw)

        if self.backend.set_async_event_handler(handler) != Rc.SUCCESS:
            raise PluginError(f"can't set async event handler for plugin '{name}' : {self.last_error()}", name)
        self._async_on = True

    def stop_async(self) -> bool:
        """Take the handler back (the plugin must stop and join its threads before returning)."""
        if not self._async_on:
            return True
        ok = self.backend.set_async_event_handler(None) == Rc.SUCCESS
        if ok:
            self._async_on = False
        else:
            log.warning("plugin %s refused to reset its async event handler: %s", self.name, self.last_error())
        return ok

    @property
    def async_running(self) -> bool:
        return self._async_on

    def dump_state(self) -> list[bytes]:
        """The async events the plugin sends from ``dump_state`` (what a new capture file starts with).

        Only valid 402 events with declared names are accepted (with libsinsp's messages); their
        plugin_id is left as the plugin wrote it.
        """
        self._require_init()
        if not self.has_async or not self.backend.has("dump_state"):
            return []
        name, names = self.name, self.async_events
        events: list[bytes] = []

        def handler(raw: bytes) -> None:
            check_async_event(raw, name, names)
            events.append(raw)

        if self.backend.dump_state(handler) != Rc.SUCCESS:
            raise PluginError(f"dump error for plugin '{name}' : {self.last_error()}", name)
        return events

    # -- capture listening -----------------------------------------------------------------
    def capture_open(self) -> None:
        self._require_init()
        if self.backend.capture_open() != Rc.SUCCESS:
            raise PluginError(f"capture_open error for plugin '{self.name}' : {self.last_error()}", self.name)

    def capture_close(self) -> bool:
        self._require_init()
        if self.backend.capture_close() != Rc.SUCCESS:
            log.warning("capture_close error for plugin '%s' : %s", self.name, self.last_error())
            return False
        return True

    def list_open_params(self) -> list[dict[str, str]]:
        self._require_init()
        if not self.backend.has("list_open_params"):
            return []
        rc, text = self.backend.list_open_params()
        if rc != Rc.SUCCESS:
            raise PluginError(f"error in plugin {self.name}: list_open_params has error {self.last_error()}", self.name)
        if not text:
            return []
        try:
            root = json.loads(text)
        except _JSON_ERRORS:
            root = None
        if not isinstance(root, list):
            raise PluginError(f"error in plugin {self.name}: list_open_params returned a non-array JSON", self.name)
        params = []
        for item in root:
            item = item if isinstance(item, dict) else {}
            value = item.get("value")
            if not value or not isinstance(value, str):
                raise PluginError(f"error in plugin {self.name}: list_open_params has entry with no value", self.name)
            params.append({"value": value, "desc": str(item.get("desc") or ""), "separator": str(item.get("separator") or "")})
        return params

    def destroy(self) -> None:
        self.initialized = False
        self._parser = None
        self._async_on = False
        self.backend.destroy()

    def _log(self, component: str, message: str, severity: int) -> None:
        level = _SEVERITY_LEVELS.get(LogSeverity(severity) if severity in LogSeverity._value2member_map_ else LogSeverity.INFO, logging.INFO)
        logging.getLogger(f"falcoplug.plugin.{self.name}").log(level, "%s: %s", component, message)

    def __repr__(self) -> str:
        return f"<Plugin {self.name} {self.version} id={self.id} caps={self.capability_names()}>"


def config_text(config: str | Mapping[str, Any] | None) -> str:
    """An init config as the plugin receives it: a string, or a mapping serialized to JSON."""
    if config is None:
        return ""
    if isinstance(config, str):
        return config
    return json.dumps(config, separators=(",", ":"))
