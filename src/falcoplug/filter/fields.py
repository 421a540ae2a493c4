"""What the filter and output code knows of fields: their definitions and how to reach them.

The framework implements :class:`FieldResolver` (per event source: plugin fields and the generic
``evt.*`` fields); the filter compiler only sees :class:`FieldInfo` and :class:`BoundField`.
Values reach compiled filters through :class:`ValueSource`, which the framework implements per
event (extracting lazily, one plugin call for all the fields that plugin must give, cached).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

# Field types (libscap ppm_param_type codes, as the plugin API uses them).
FT_UINT64 = 8
FT_STRING = 9
FT_BYTEBUF = 10
FT_RELTIME = 20
FT_ABSTIME = 21
FT_BOOL = 25
FT_IPADDR = 40
FT_IPNET = 41

TYPE_NAMES = {
    FT_UINT64: "uint64",
    FT_STRING: "string",
    FT_BYTEBUF: "bytebuf",
    FT_RELTIME: "reltime",
    FT_ABSTIME: "abstime",
    FT_BOOL: "bool",
    FT_IPADDR: "ipaddr",
    FT_IPNET: "ipnet",
}
NUMERIC_TYPES = frozenset({FT_UINT64, FT_RELTIME, FT_ABSTIME})

# The other libscap parameter types libsinsp's syscall fields use (``ppm_param_type`` codes).
FT_INT16 = 2
FT_INT32 = 3
FT_INT64 = 4
FT_UINT32 = 7
FT_PORT = 22
FT_DYNAMIC = 27
FT_DOUBLE = 33
TYPE_NAMES.update(
    {FT_INT16: "int16", FT_INT32: "int32", FT_INT64: "int64", FT_UINT32: "uint32", FT_PORT: "port",
     FT_DYNAMIC: "dynamic", FT_DOUBLE: "double"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """A field's definition (from a plugin's ``get_fields`` or the framework's own fields)."""

    name: str
    ftype: int
    is_list: bool = False
    desc: str = ""
    display: str = ""
    arg_required: bool = False
    arg_index: bool = False
    arg_key: bool = False
    properties: tuple[str, ...] = ()
    add_output: bool = False
    owner: str = ""  # the plugin's name, or "evt" for the framework's generic fields
    # libsinsp's filtercheck flags (``EPF_*``) of a built-in field; plugin fields have none
    flags: frozenset[str] = frozenset()
    print_format: str = ""  # libsinsp's print format of a built-in field (``DEC``, ``ID``, ``NA``...)

    @property
    def arg_allowed(self) -> bool:
        return self.arg_index or self.arg_key

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.ftype, str(self.ftype))


class BoundField(Protocol):
    """A field with its argument, resolved for one source: what a filter or an output extracts.

    Values are Python objects: ``int`` (uint64, reltime, abstime: raw numbers), ``str``, ``bool``,
    ``ipaddress`` addresses (ipaddr) and networks (ipnet), ``bytes`` (bytebuf); a list field's
    value is a ``list`` of those. ``None`` means no value.
    """

    info: FieldInfo
    arg: str | None

    @property
    def text(self) -> str:
        """``name`` or ``name[arg]``, as written in conditions and outputs."""


class FieldResolver(Protocol):
    """Resolves field references of one event source."""

    source: str

    def resolve(self, name: str, arg: str | None) -> BoundField:
        """Raise :class:`falcoplug.filter.FilterError` with libsinsp's message when unknown or the arg is bad."""

    def has_field(self, name: str) -> bool: ...

    def fields(self) -> list[FieldInfo]: ...


class ValueSource(Protocol):
    """Per event: the value of a bound field (``None`` when it has no value)."""

    def value(self, field: Any) -> Any: ...
