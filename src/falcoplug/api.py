"""Numbers of the plugin API 3.12: return codes, types, capabilities, severities.

Shared by the host side (``abi``, ``framework``) and the plugin side (``sdk``, ``export``).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

API_VERSION = (3, 12, 0)
API_VERSION_STR = "3.12.0"
MAX_ERRLEN = 1024
UINT64_MAX = 0xFFFFFFFFFFFFFFFF


class Rc(IntEnum):
    SUCCESS = 0
    FAILURE = 1
    TIMEOUT = -1
    EOF = 2
    NOT_SUPPORTED = 3


class FieldType(IntEnum):
    UINT64 = 8
    STRING = 9
    RELTIME = 20
    ABSTIME = 21
    BOOL = 25
    IPADDR = 40
    IPNET = 41


FIELD_TYPE_NAMES: dict[str, FieldType] = {
    "uint64": FieldType.UINT64,
    "string": FieldType.STRING,
    "reltime": FieldType.RELTIME,
    "abstime": FieldType.ABSTIME,
    "bool": FieldType.BOOL,
    "ipaddr": FieldType.IPADDR,
    "ipnet": FieldType.IPNET,
}


class SchemaType(IntEnum):
    NONE = 0
    JSON = 1


class StateType(IntEnum):
    INT8 = 1
    INT16 = 2
    INT32 = 3
    INT64 = 4
    UINT8 = 5
    UINT16 = 6
    UINT32 = 7
    UINT64 = 8
    STRING = 9
    TABLE = 10
    BOOL = 25


class LogSeverity(IntEnum):
    FATAL = 1
    CRITICAL = 2
    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFO = 6
    DEBUG = 7
    TRACE = 8


class MetricValueType(IntEnum):
    U32 = 0
    S32 = 1
    U64 = 2
    S64 = 3
    D = 4
    F = 5
    I = 6  # noqa: E741 - the API's own name


class Capability(IntFlag):
    NONE = 0
    SOURCING = 1
    EXTRACTION = 2
    PARSING = 4
    ASYNC = 8
    CAPTURE_LISTENING = 16
    BROKEN = 1 << 31


# libsinsp's names of the state types, and the range of each integer type.
STATE_TYPE_NAMES: dict[int, str] = {
    StateType.INT8: "int8", StateType.INT16: "int16", StateType.INT32: "int32", StateType.INT64: "int64",
    StateType.UINT8: "uint8", StateType.UINT16: "uint16", StateType.UINT32: "uint32", StateType.UINT64: "uint64",
    StateType.STRING: "string", StateType.BOOL: "bool", StateType.TABLE: "table",
}  # fmt: skip
# The member of the ``ss_plugin_state_data`` union that holds a value of each state type.
STATE_DATA_MEMBERS: dict[int, str] = {
    StateType.INT8: "s8", StateType.INT16: "s16", StateType.INT32: "s32", StateType.INT64: "s64",
    StateType.UINT8: "u8", StateType.UINT16: "u16", StateType.UINT32: "u32", StateType.UINT64: "u64",
    StateType.STRING: "str", StateType.BOOL: "b", StateType.TABLE: "table",
}  # fmt: skip
STATE_INT_RANGES: dict[int, tuple[int, int]] = {
    StateType.INT8: (-(1 << 7), (1 << 7) - 1), StateType.INT16: (-(1 << 15), (1 << 15) - 1),
    StateType.INT32: (-(1 << 31), (1 << 31) - 1), StateType.INT64: (-(1 << 63), (1 << 63) - 1),
    StateType.UINT8: (0, (1 << 8) - 1), StateType.UINT16: (0, (1 << 16) - 1),
    StateType.UINT32: (0, (1 << 32) - 1), StateType.UINT64: (0, (1 << 64) - 1),
}  # fmt: skip


def state_zero_value(state_type: int) -> object:
    """The value of a table field nobody wrote yet (libsinsp's default-constructed value)."""
    if state_type == StateType.STRING:
        return ""
    if state_type == StateType.BOOL:
        return False
    if state_type == StateType.TABLE:
        return None
    return 0
