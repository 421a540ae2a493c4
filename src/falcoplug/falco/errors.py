"""The one error type of ``falcoplug falco``: printed as Falco prints errors (``Error: ...``)."""

from __future__ import annotations

from ..errors import FalcoplugError


class FalcoError(FalcoplugError):
    """A failure ``falco`` would report with ``Error: <message>`` and exit code 1."""
