"""An inspector set up from plugin specs and one input (live open params or a capture)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from ..errors import ConfigError
from ..framework.config import PluginSpec
from ..framework.inspector import Inspector
from ..framework.plugin import Plugin

PluginLike = str | PluginSpec | Plugin


@dataclass(frozen=True)
class Input:
    """What a session reads: a capture, or the open params of its sourcing plugin."""

    capture: str | None = None
    open_params: str | None = None

    def describe(self) -> str:
        return self.capture if self.capture is not None else (self.open_params or "")


def as_spec(plugin: PluginLike) -> PluginSpec:
    """``"LIB|CONFIG|PARAMS"``, a bundled name, a path or a :class:`PluginSpec`."""
    if isinstance(plugin, PluginSpec):
        return plugin
    if isinstance(plugin, str):
        return PluginSpec.parse(plugin)
    raise ConfigError(f"not a plugin spec: {plugin!r} (give 'LIB[|CONFIG[|PARAMS]]' or a PluginSpec)")


def with_input(specs: Sequence[PluginSpec], open_params: str | None) -> list[PluginSpec]:
    """The specs with ``open_params`` given to the input plugin: the one spec that has open params
    already, else the only plugin spec that is not obviously an extractor (its open params win)."""
    specs = list(specs)
    if open_params is None:
        return specs
    given = [i for i, s in enumerate(specs) if s.open_params is not None]
    index = given[0] if given else 0
    specs[index] = replace(specs[index], open_params=open_params)
    return specs


@contextmanager
def opened(specs: Sequence[PluginSpec], source: Input) -> Iterator[Inspector]:
    """An inspector with every plugin registered and initialized (libsinsp's order), and the input
    open; destroyed on the way out."""
    host = Inspector()
    try:
        loaded = [(spec, host.register(spec.location)) for spec in specs]
        for spec, plugin in loaded:
            plugin.init(spec.init_config)
        open_input(host, loaded, source)
        yield host
    finally:
        host.destroy()


def open_input(host: Inspector, loaded: Sequence[tuple[PluginSpec, Plugin]], source: Input) -> None:
    """Open ``source`` on ``host``, whose plugins are ``loaded`` (their specs beside them): the
    capture, or the input plugin with the source's open params."""
    if source.capture is not None:
        if not os.path.exists(source.capture):
            raise ConfigError(f"capture {source.capture}: file does not exist")
        host.open_capture(source.capture)
        return
    specs = with_input([spec for spec, _ in loaded], source.open_params)
    host.open(*_input([(spec, plugin) for spec, (_, plugin) in zip(specs, loaded)]))


def _input(loaded: Sequence[tuple[PluginSpec, Plugin]]) -> tuple[Plugin, str]:
    inputs = [(p, s.open_params or "") for s, p in loaded if s.open_params is not None]
    if len(inputs) > 1:
        raise ConfigError("several input plugins were given open params; read one input at a time")
    if inputs:
        plugin, params = inputs[0]
        if not plugin.has_sourcing:
            raise ConfigError(f"plugin {plugin.name} has not event sourcing capabilities and cannot be used as input")
        return plugin, params
    sourcing = [p for _, p in loaded if p.has_sourcing]
    if len(sourcing) != 1:
        raise ConfigError("give the input's open params (open=...) or a capture (capture=...)")
    return sourcing[0], ""


def main_source(host: Inspector) -> str:
    """The source whose fields a table has: the input plugin's, or a capture's first plugin source."""
    if host.input is not None:
        return host.input.source_name
    sources = host.manager.sources
    return sources[1] if len(sources) > 1 else "syscall"
