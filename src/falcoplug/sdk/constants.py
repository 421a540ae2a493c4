"""Numbers of the plugin API that plugin code needs: the API version, return codes, field types,
log severities and the plugin-event layout.

The SDK must not import ``falcoplug.abi`` (it is the plugin author's side, with no C binding), so
the few numbers it needs are restated here; a test checks they agree with ``abi.constants``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

API_VERSION: Final = "3.12.0"
UINT64_MAX: Final = 0xFFFFFFFFFFFFFFFF
TS_NOW: Final = UINT64_MAX  # a timestamp the host replaces with the current time
NO_TID: Final = UINT64_MAX
PLUGIN_EVENT: Final = 322  # PPME_PLUGINEVENT_E
PLUGIN_EVENT_HEADER: Final = 38  # 26-byte header, two u32 parameter lengths, the u32 plugin ID
RESERVED_SOURCES: Final = frozenset({"syscall", "internal", "plugins"})


class Rc(IntEnum):
    """``ss_plugin_rc``."""

    SUCCESS = 0
    FAILURE = 1
    TIMEOUT = -1
    EOF = 2
    NOT_SUPPORTED = 3


class FieldType(IntEnum):
    """``ss_plugin_field_type``, with the names the fields JSON uses (see :data:`FIELD_TYPE_NAMES`)."""

    UINT64 = 8
    STRING = 9
    RELTIME = 20
    ABSTIME = 21
    BOOL = 25
    IPADDR = 40
    IPNET = 41


FIELD_TYPE_NAMES: Final[dict[FieldType, str]] = {
    FieldType.UINT64: "uint64",
    FieldType.STRING: "string",
    FieldType.RELTIME: "reltime",
    FieldType.ABSTIME: "abstime",
    FieldType.BOOL: "bool",
    FieldType.IPADDR: "ipaddr",
    FieldType.IPNET: "ipnet",
}


class Severity(IntEnum):
    """``ss_plugin_log_severity``."""

    FATAL = 1
    CRITICAL = 2
    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFO = 6
    DEBUG = 7
    TRACE = 8
