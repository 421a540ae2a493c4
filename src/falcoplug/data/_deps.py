"""Optional dependencies of the data API, imported on first use with an error that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import FalcoplugError

EXTRAS = {"pyarrow": "arrow", "dask": "dask", "distributed": "dask"}


class MissingExtraError(FalcoplugError, ImportError):
    """An optional dependency is not installed; the message says which extra brings it."""


def require(module: str) -> ModuleType:
    """``module`` imported, or :class:`MissingExtraError` naming ``pip install 'falcoplug[EXTRA]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra = EXTRAS.get(top, top)
        raise MissingExtraError(
            f"{top} is required for this; install it with: pip install 'falcoplug[{extra}]'"
        ) from exc
