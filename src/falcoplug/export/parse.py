"""Glue of the event parsing entry points. Paired with ``c/parse.c``.

Like extraction, parsing has no cffi callback: ``parse_event`` calls the driver's parse runner
(:meth:`falcoplug.sdk.driver.PluginDriver.parser`) through the CPython API, once per event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ..sdk.describe import Description
from .csource import CRaw

if TYPE_CHECKING:
    from .runtime import Runtime

C_SOURCE: Final = "parse.c"


def declarations(desc: Description) -> str:
    return ""


def defines(desc: Description) -> dict[str, str | int | None]:
    parsing = desc.parsing
    assert parsing is not None
    out: dict[str, str | int | None] = {"FP_HAS_PARSING": None}
    if parsing.sources_json is not None:
        out["FP_PARSE_EVENT_SOURCES"] = parsing.sources_json
    if parsing.event_types is not None:
        out["FP_PARSE_EVENT_TYPES"] = CRaw(", ".join(str(t) for t in parsing.event_types))
    return out


def install(rt: Runtime) -> None:
    """Nothing to register: parsing is reached through :meth:`Runtime.parser`."""
