"""Several plugins in one host: libsinsp's plugin manager rules (names, IDs, event sources)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from ..errors import PluginLoadError
from .plugin import SYSCALL_SOURCE, Plugin


class PluginManager:
    """Registered plugins in registration order, and the inspector's event sources (``syscall`` first)."""

    def __init__(self) -> None:
        self.plugins: list[Plugin] = []
        self.sources: list[str] = [SYSCALL_SOURCE]

    def add(self, plugin: Plugin) -> Plugin:
        try:
            self._check(plugin)
        except PluginLoadError as exc:
            raise PluginLoadError(
                f"cannot register plugin {plugin.location} in inspector: {exc}", plugin=plugin.name
            ) from None
        self.plugins.append(plugin)
        if plugin.has_sourcing and plugin.id != 0 and plugin.event_source not in self.sources:
            self.sources.append(plugin.event_source)
        return plugin

    def _check(self, plugin: Plugin) -> None:
        for other in self.plugins:
            if other.name == plugin.name:
                raise PluginLoadError(f"found another plugin with name {plugin.name}. Aborting.")
            if plugin.has_sourcing and other.has_sourcing and plugin.id != 0 and other.id == plugin.id:
                raise PluginLoadError(f"found another plugin with ID {plugin.id}. Aborting.")

    def get(self, name: str) -> Plugin | None:
        return next((p for p in self.plugins if p.name == name), None)

    def by_id(self, plugin_id: int) -> Plugin | None:
        """The sourcing plugin with this event-source ID."""
        if plugin_id == 0:
            return None
        return next((p for p in self.plugins if p.has_sourcing and p.id == plugin_id), None)

    def source_index(self, source: str) -> int | None:
        try:
            return self.sources.index(source)
        except ValueError:
            return None

    def extractors(self, source: str) -> list[Plugin]:
        return [p for p in self.plugins if p.has_extraction and p.is_extract_compatible(source)]

    # -- Falco's checks of a set of plugins (falco::app::actions::init_inspectors) ----------------

    def is_used(self, plugin: Plugin) -> bool:
        return is_used(plugin, self.sources)

    def check_used(self) -> None:
        check_used(self.plugins)

    def check_overlaps(self, builtin: Callable[[str], Iterable[str]]) -> None:
        """Refuse, as Falco does, a plugin that extracts a field some earlier plugin (in registration
        order) or the host itself (``builtin(source)``: the generic ``evt.*`` fields, and libsinsp's
        catalogue on ``syscall``) already provides for the same source."""
        for source in self.sources:
            names = set(builtin(source))
            for plugin in self.extractors(source):
                own = [f.name for f in plugin.fields]
                for name in own:
                    if name in names:
                        raise PluginLoadError(
                            f"Plugin '{plugin.name}' supports extraction of field '{name}' that is overlapping "
                            f"for source '{source}'",
                            plugin=plugin.name,
                        )
                names.update(own)

    def __iter__(self) -> Iterator[Plugin]:
        return iter(self.plugins)

    def __len__(self) -> int:
        return len(self.plugins)


def unused_message(plugin: Plugin) -> str:
    return f"Plugin '{plugin.name}' is loaded but unused as not compatible with any known event source"


def host_fields(source: str) -> list[str]:
    """The fields the host itself provides on a source: what a plugin field must not shadow."""
    from .registry import SourceFields  # the registry imports plugins, which import this module

    return [info.name for info in SourceFields(source, []).fields()]


def known_sources(plugins: Iterable[Plugin]) -> list[str]:
    """The event sources Falco knows with these plugins: ``syscall`` (always, even with
    ``--disable-source=syscall``), then the source of every sourcing plugin."""
    sources = [SYSCALL_SOURCE]
    for plugin in plugins:
        if plugin.has_sourcing and plugin.id != 0 and plugin.event_source not in sources:
            sources.append(plugin.event_source)
    return sources


def is_used(plugin: Plugin, sources: Iterable[str]) -> bool:
    """Whether Falco would use the plugin: it sources events, or it extracts, parses or sends async
    events for one of the known ``sources``."""
    if plugin.has_sourcing:
        return True
    checks = [(plugin.has_extraction, plugin.is_extract_compatible), (plugin.has_parsing, plugin.is_parse_compatible),
              (plugin.has_async, plugin.is_async_compatible)]  # fmt: skip
    if not any(capable for capable, _ in checks):
        return True  # capture listening only: there is no source to be compatible with
    return any(capable and compatible(source) for capable, compatible in checks for source in sources)


def check_used(plugins: Sequence[Plugin]) -> None:
    """Refuse, as Falco does before running, a plugin compatible with no known event source."""
    sources = known_sources(plugins)
    for plugin in plugins:
        if not is_used(plugin, sources):
            raise PluginLoadError(unused_message(plugin), plugin=plugin.name)
