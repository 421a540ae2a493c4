"""From a location to a backend: a shared library path, or a Python plugin reference."""

from __future__ import annotations

import os

from ..backend import PluginBackend
from ..errors import PluginLoadError


def load_backend(location: str | os.PathLike[str]) -> PluginBackend:
    """A library path (``.so``) gives the dlopen adapter."""
    text = os.fspath(location)
    from ..abi.loader import CPluginBackend

    if not text:
        raise PluginLoadError("can't load plugin dynamic library: empty path")
    return CPluginBackend(text)
