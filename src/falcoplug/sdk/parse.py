"""Event parsing: a plugin that sees every event once, in order, to keep state.

::

    class Counter(ParsePlugin, ExtractPlugin):
        parse_event_sources = ["dummy"]          # None: every source (libsinsp's default)
        parse_event_types = [322]                # None: plugin events, or all types for syscall

        def parse(self, event: Event) -> None:
            self.count += 1

The host calls :meth:`ParsePlugin.parse` for each event of a compatible source and type, after its
own state update and before any field is extracted from it, even for events a filter later drops
(libsinsp's order). State kept this way is reproducible: replaying a capture parses the same
events in the same order. Tables declared on the class (:mod:`falcoplug.sdk.tables`) can be
written here. An exception fails this event's parse (the host ignores the return code, as
libsinsp does, but the message is the plugin's last error).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Final

from .constants import PLUGIN_EVENT, PLUGIN_EVENT_HEADER, Rc
from .event import Event
from .info import PluginDefinitionError, check_semver
from .plugin import Plugin

_PLUGIN_EVENT_TYPE: Final = PLUGIN_EVENT.to_bytes(2, "little")


class ParsePlugin(Plugin):
    """The event parsing capability: implement :meth:`parse`.

    ``parse_event_sources``: the sources this plugin parses (``None``: its own source for a
    sourcing plugin, every source otherwise). ``parse_event_types``: the event codes it parses
    (``None``: libsinsp's default, plugin events unless the sources include ``syscall``; add 402
    to parse async events). ``required_event_schema_version``: for plugins reading syscall events.
    """

    parse_event_sources: ClassVar[Sequence[str] | None] = None
    parse_event_types: ClassVar[Sequence[int] | None] = None
    required_event_schema_version: ClassVar[str | None] = None

    def parse(self, event: Event) -> None:
        """Update the plugin's state from one event (valid only during the call)."""
        raise NotImplementedError

    @classmethod
    def check_parsing(cls) -> None:
        owner = cls.__qualname__
        name = getattr(cls, "name", None)
        if not cls.overrides("parse", ParsePlugin):
            raise PluginDefinitionError(f"plugin class {owner}: a ParsePlugin must implement parse(self, event)", name)
        sources = cls.parse_event_sources
        if sources is not None and (isinstance(sources, str) or not all(isinstance(s, str) and s for s in sources)):
            raise PluginDefinitionError(f"plugin class {owner}: parse_event_sources must be a list of source names", name)
        types = cls.parse_event_types
        if types is not None and (
            isinstance(types, str) or not types or not all(isinstance(t, int) and 0 <= t < 65536 for t in types)
        ):
            raise PluginDefinitionError(
                f"plugin class {owner}: parse_event_types must be a non-empty list of event codes (0..65535), or None", name
            )
        if cls.required_event_schema_version is not None:
            check_semver(owner, "required_event_schema_version", cls.required_event_schema_version)


def parse_runner(plugin: ParsePlugin, on_error: Callable[[BaseException], None]) -> Callable[[bytes, int, Any], int]:
    """``run(data, evtnum, source) -> rc``: one event through ``plugin.parse``, with one event
    object reused for every call (creating one costs more than the rest of a small call)."""
    event = Event.__new__(Event)
    parse = plugin.parse
    success, failure = int(Rc.SUCCESS), int(Rc.FAILURE)

    def run(data: bytes, num: int, source: Any) -> int:
        event.data = data
        event.payload = data[PLUGIN_EVENT_HEADER:] if data[20:22] == _PLUGIN_EVENT_TYPE else b""
        event.num = num
        event.source = source
        event._cache = None
        try:
            parse(event)
        except BaseException as exc:  # noqa: BLE001 - plugin code: this event's parse fails
            on_error(exc)
            return failure
        return success

    return run
