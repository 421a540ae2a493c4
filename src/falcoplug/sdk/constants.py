"""Numbers of the plugin API that plugin code needs: the API version, return codes, field types,
log severities and the plugin-event layout.

The SDK does not import ``falcoplug.abi`` (it is the plugin author's side, with no C binding): the
numbers of the API itself come from :mod:`falcoplug.api`, which both sides share.
"""

from __future__ import annotations

from typing import Final

from .. import api

API_VERSION: Final = api.API_VERSION_STR
UINT64_MAX: Final = 0xFFFFFFFFFFFFFFFF
TS_NOW: Final = UINT64_MAX  # a timestamp the host replaces with the current time
NO_TID: Final = UINT64_MAX
PLUGIN_EVENT: Final = 322  # PPME_PLUGINEVENT_E
PLUGIN_EVENT_HEADER: Final = 38  # 26-byte header, two u32 parameter lengths, the u32 plugin ID
RESERVED_SOURCES: Final = frozenset({"syscall", "internal", "plugins"})


# The plugin API's own numbers, shared with the host side.
Rc = api.Rc
FieldType = api.FieldType
Severity = api.LogSeverity

# Field types by value, with the names the fields JSON uses.
FIELD_TYPE_NAMES: Final[dict[FieldType, str]] = {t: name for name, t in api.FIELD_TYPE_NAMES.items()}
