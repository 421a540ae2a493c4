"""falcoplug: the Falco plugin framework and plugin SDK, in Python."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
PLUGIN_API_VERSION = "3.12.0"

# Events and alerts as Arrow tables (the ``arrow`` extra), reachable from the top without importing
# pyarrow for users who never call them.
_DATA_API = frozenset({"read", "read_table", "detect"})


def __getattr__(name: str) -> Any:
    if name in _DATA_API:
        from . import data

        return getattr(data, name)
    raise AttributeError(f"module 'falcoplug' has no attribute {name!r}")
