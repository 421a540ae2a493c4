"""From a location to a backend: a shared library path, or a Python plugin reference."""

from __future__ import annotations

import os
import re
from typing import Any

from ..backend import PluginBackend
from ..errors import PluginLoadError


def load_backend(location: str | os.PathLike[str] | type[Any]) -> PluginBackend:
    """The backend for a plugin location.

    - ``package.module:Class``, ``path/to/file.py`` or ``path/to/file.py:Class`` (the class may be
      left out when the module defines one plugin), or an SDK plugin class itself: the plugin runs
      in-process (:class:`~falcoplug.framework.inprocess.InProcessBackend`);
    - the name of a bundled plugin (``k8saudit``, ``json``, ``cloudtrail``; also Falco's library
      names such as ``libk8saudit.so`` when no such file exists): that SDK plugin, in-process;
    - anything else is a shared library path, opened with dlopen as libsinsp opens it.
    """
    if isinstance(location, type):
        from .inprocess import InProcessBackend

        return InProcessBackend(location)
    text = os.fspath(location)
    if not text:
        raise PluginLoadError("can't load plugin dynamic library: empty path")
    from ..plugins import bundled_reference

    text = bundled_reference(text) or text
    if looks_like_python_plugin(text):
        from .inprocess import InProcessBackend

        return InProcessBackend(text)
    from ..abi.loader import CPluginBackend

    return CPluginBackend(text)


# Kept out of the SDK package: resolving a shared library must not import the SDK (17 ms at start).
MODULE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def looks_like_python_plugin(location: str) -> bool:
    """Whether ``location`` names a Python plugin (not a shared library)."""
    head = location.rsplit(":", 1)[0] if has_class_suffix(location) else location
    if head.endswith(".py"):
        return True
    return not head.endswith(".so") and "/" not in head and os.sep not in head and bool(MODULE_PATH.match(head)) and (
        ":" in location or "." in head
    )


def has_class_suffix(location: str) -> bool:
    """Whether ``location`` ends with ``:ClassName``."""
    head, sep, tail = location.rpartition(":")
    return bool(sep) and bool(head) and tail.isidentifier()
