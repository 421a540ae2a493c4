"""Values between ``ss_plugin_state_data`` and Python, and the shared constants of the adapter."""

from __future__ import annotations

from typing import Any

from ...api import STATE_DATA_MEMBERS, STATE_TYPE_NAMES
from ...backend import TableError
from ..constants import StateType
from ..ffi import ffi

ST = StateType
NULL = ffi.NULL
U64_ERROR = 0xFFFFFFFFFFFFFFFF
_MEMBER = STATE_DATA_MEMBERS
_TYPE_NAMES = STATE_TYPE_NAMES


def _text(exc: BaseException) -> str:
    return str(exc) or "unknown error"


def _decode(p: Any) -> str:
    return ffi.string(p).decode("utf-8", "replace")


def value_from_c(data: Any, state_type: int) -> Any:
    if state_type == ST.UINT64:
        return data.u64
    if state_type == ST.INT64:
        return data.s64
    if state_type == ST.STRING:
        return "" if data.str == NULL else _decode(data.str)
    if state_type == ST.BOOL:
        return data.b != 0
    member = _MEMBER.get(state_type)
    if member is None or state_type == ST.TABLE:
        raise TableError(f"can't convert plugin state type to typeinfo: {int(state_type)}")
    return getattr(data, member)


def _key(table: Any, key: Any) -> Any:
    if key == NULL:
        raise TableError("null key")
    if table.key_type == ST.INT64:
        return key.s64
    return value_from_c(key, table.key_type)
