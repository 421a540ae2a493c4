"""Several plugins in one host: libsinsp's plugin manager rules (names, IDs, event sources)."""

from __future__ import annotations

from collections.abc import Iterator

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

    def __iter__(self) -> Iterator[Plugin]:
        return iter(self.plugins)

    def __len__(self) -> int:
        return len(self.plugins)
