"""Type markers and state-type values."""

from __future__ import annotations

from typing import Annotated, Any, TYPE_CHECKING, TypeVar

from ...api import STATE_INT_RANGES, STATE_TYPE_NAMES, StateType
from ...api import state_zero_value as zero_value  # noqa: F401 - re-exported to the table modules
from ...backend import TableError
if TYPE_CHECKING:
    from .accessed import TableFields
    from .owned import TableEntry


ST = StateType
T = TypeVar("T")
K = TypeVar("K")
F = TypeVar("F", bound="TableFields")
E = TypeVar("E", bound="TableEntry")


# -- type markers ---------------------------------------------------------------------------------


class _Flag:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_DYNAMIC = _Flag("Dynamic")
_READONLY = _Flag("Readonly")
_PRIVATE = _Flag("Private")

Dynamic = Annotated[T, _DYNAMIC]
"""A field of an accessed table that this plugin adds (``add_table_field``) if it is not there."""
Readonly = Annotated[T, _READONLY]
"""A field of an owned table that other plugins and the host may read but not write."""
Private = Annotated[T, _PRIVATE]
"""An attribute of an owned table's entries that other plugins and the host do not see."""

Int8 = Annotated[int, ST.INT8]
Int16 = Annotated[int, ST.INT16]
Int32 = Annotated[int, ST.INT32]
Int64 = Annotated[int, ST.INT64]
UInt8 = Annotated[int, ST.UINT8]
UInt16 = Annotated[int, ST.UINT16]
UInt32 = Annotated[int, ST.UINT32]
UInt64 = Annotated[int, ST.UINT64]

TYPE_NAMES = STATE_TYPE_NAMES
INT_TYPES = frozenset({ST.INT8, ST.INT16, ST.INT32, ST.INT64, ST.UINT8, ST.UINT16, ST.UINT32, ST.UINT64})
INT_RANGES = STATE_INT_RANGES


def type_name(state_type: int) -> str:
    return TYPE_NAMES.get(state_type, str(state_type))


def check_value(state_type: int, value: Any, what: str) -> Any:
    """``value`` checked for a field (or key) of ``state_type``; ``what`` names it in the error."""
    if state_type == ST.STRING:
        if type(value) is not str:
            if not isinstance(value, str):
                raise TableError(f"{what}: expected a str, got {type(value).__name__}")
            value = str(value)
        if "\0" in value:
            raise TableError(f"{what}: a string value may not hold a NUL character")
        return value
    if state_type == ST.BOOL:
        if not isinstance(value, bool):
            raise TableError(f"{what}: expected a bool, got {type(value).__name__}")
        return value
    limits = INT_RANGES.get(state_type)
    if limits is None:
        raise TableError(f"{what}: cannot write a value of type {type_name(state_type)}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise TableError(f"{what}: expected an int, got {type(value).__name__}")
    if not limits[0] <= value <= limits[1]:
        raise TableError(f"{what}: {value} is out of range for {type_name(state_type)}")
    return int(value)
