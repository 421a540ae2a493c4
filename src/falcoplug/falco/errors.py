"""The one error type of ``falcoplug falco``: printed as Falco prints errors (``Error: ...``)."""

from __future__ import annotations

from ..errors import FalcoplugError


class FalcoError(FalcoplugError):
    """A failure ``falco`` would report with ``Error: <message>`` and exit code 1."""

    def line(self) -> str:
        return f"Error: {self}"


class FalcoRuntimeError(FalcoError):
    """A failure Falco reports as ``Runtime error: <message>. Exiting.``"""

    def line(self) -> str:
        return f"Runtime error: {self}. Exiting."
