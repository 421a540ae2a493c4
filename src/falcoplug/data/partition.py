"""Splitting one input into partitions that run independently (on Dask workers, or one by one).

An input partitions when it is several things already: the files of a folder or a glob given as
open params, a list of open params, several captures. Each partition runs the plugins and the rules
in a fresh inspector of its own, so what lives across events lives per partition: the tables that
parsing plugins fill, async events, and rules that need to see a whole stream. Inputs whose plugins
parse or inject async events are therefore not split unless the caller says the state is per file.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError
from ..framework.config import PluginSpec
from ..framework.inspector import Inspector
from ..framework.plugin import Plugin
from .session import Input

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Partition:
    """One independent piece of an input, numbered in the order of the input."""

    index: int
    input: Input


def _expand(text: str) -> list[str]:
    """A folder's files (by name, as the file-reading plugins list them), a glob's matches, or the
    text itself (params a plugin reads otherwise: a URL, one file)."""
    if _GLOB_CHARS & set(text):
        matches = sorted(p for p in glob.glob(text, recursive=True) if os.path.isfile(p))
        if not matches:
            raise ConfigError(f"{text}: no file matches")
        return matches
    if os.path.isdir(text):
        files = sorted(os.path.join(text, name) for name in os.listdir(text))
        return [f for f in files if os.path.isfile(f)]
    return [text]


def split_input(
    open_params: str | Sequence[str] | None = None, capture: str | Sequence[str] | None = None
) -> list[Partition]:
    """The partitions of an input: open params (one text or a list) or captures (one or a list)."""
    if (open_params is None) == (capture is None):
        raise ConfigError("give either open params or captures to partition")
    items = [capture] if isinstance(capture, str) else list(capture or ())
    if capture is None:
        items = [open_params] if isinstance(open_params, str) else list(open_params or ())
    pieces = [piece for item in items for piece in _expand(item)]
    if capture is not None:
        return [Partition(i, Input(capture=p)) for i, p in enumerate(pieces)]
    return [Partition(i, Input(open_params=p)) for i, p in enumerate(pieces)]


def keeps_state(plugin: Plugin) -> bool:
    """Whether a plugin's state spans events (parsing, async events, capture listening)."""
    return plugin.has_parsing or plugin.has_async or plugin.has_capture_listening


def stateful_plugins(specs: Sequence[PluginSpec]) -> list[str]:
    """The plugins whose state spans events (parsing, async events, capture listening): their
    results depend on seeing the whole stream in one inspector."""
    host = Inspector()
    try:
        plugins = [host.register(spec.location) for spec in specs]
        return [p.name for p in plugins if keeps_state(p)]
    finally:
        host.destroy()
