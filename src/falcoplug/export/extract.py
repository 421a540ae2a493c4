"""Glue of the field extraction entry points. Paired with ``c/extract.c``.

Extraction has no cffi callback: field definitions are constants, and ``extract_fields`` calls
the plan's ``run`` directly through the CPython API. What lives here is the plan a new request
becomes: the SDK's :class:`~falcoplug.sdk.extract.ExtractPlan`, with the value checks left to C
(which must check anyway) and IP values packed into the bytes the host reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

from ..backend import FieldRequest
from ..sdk.describe import Description
from ..sdk.driver import PluginDriver
from .csource import CRaw

if TYPE_CHECKING:
    from .runtime import Runtime

C_SOURCE: Final = "extract.c"


def declarations(desc: Description) -> str:
    return ""


def defines(desc: Description) -> dict[str, str | int | None]:
    ext = desc.extraction
    assert ext is not None
    out: dict[str, str | int | None] = {"FP_HAS_EXTRACTION": None, "FP_FIELDS_JSON": ext.fields_json}
    if ext.sources_json is not None:
        out["FP_EXTRACT_EVENT_SOURCES"] = ext.sources_json
    if ext.event_types is not None:
        out["FP_EXTRACT_EVENT_TYPES"] = CRaw(", ".join(str(t) for t in ext.event_types))
    return out


def plan_for(driver: PluginDriver, requests: Sequence[FieldRequest]) -> Callable[..., Any]:
    """The ``run(data, payload, evtnum, source)`` of a new request (ValueError: unknown field)."""
    return driver.plan(requests, check=False, pack_ips=True).run


def install(rt: Runtime) -> None:
    """Nothing to register: extraction is reached through :meth:`Runtime.plan`."""
