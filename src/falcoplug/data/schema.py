"""Arrow types for the plugin API's field types, and columns of extracted values as Arrow arrays.

========== ================================== =========================================
field type  Arrow type                         value
========== ================================== =========================================
uint64      ``uint64``                         the number
string      ``string``                         the text
bytebuf     ``binary``                         the bytes
bool        ``bool``                           ``True`` / ``False``
abstime     ``timestamp[ns, tz=UTC]``          nanoseconds since the epoch
reltime     ``duration[ns]``                   nanoseconds
ipaddr      ``string``                         ``"10.0.0.1"``, ``"2001:db8::1"`` (as ``inet_ntop``)
ipnet       ``string``                         ``"10.0.0.0/8"`` (CIDR)
========== ================================== =========================================

A list field is an Arrow ``list`` of its type; no value is a null. Arrow has no IP type: text in
the canonical form is what pandas, polars and DuckDB all read; :func:`parse_ip` turns it back into
an ``ipaddress`` object.
"""

from __future__ import annotations

import ipaddress
from array import array
from collections.abc import Sequence
from typing import Any

from ..filter.fields import (
    FT_ABSTIME,
    FT_BOOL,
    FT_BYTEBUF,
    FT_IPADDR,
    FT_IPNET,
    FT_RELTIME,
    FT_STRING,
    FT_UINT64,
    FieldInfo,
)
from ._deps import require

_IP_TYPES = frozenset({FT_IPADDR, FT_IPNET})
_NUMBER_TYPES = frozenset({FT_UINT64, FT_RELTIME, FT_ABSTIME})


def scalar_type(ftype: int) -> Any:
    """The Arrow type of one value of a field type (unknown types: their text)."""
    pa = require("pyarrow")
    if ftype == FT_UINT64:
        return pa.uint64()
    if ftype == FT_ABSTIME:
        return pa.timestamp("ns", tz="UTC")
    if ftype == FT_RELTIME:
        return pa.duration("ns")
    if ftype == FT_BOOL:
        return pa.bool_()
    if ftype == FT_BYTEBUF:
        return pa.binary()
    return pa.string()


def arrow_type(info: FieldInfo) -> Any:
    pa = require("pyarrow")
    scalar = scalar_type(info.ftype)
    return pa.list_(scalar) if info.is_list else scalar


def field_schema(names: Sequence[str], infos: Sequence[FieldInfo]) -> Any:
    """The schema of a table with one column per field, named as the fields are written."""
    pa = require("pyarrow")
    return pa.schema(
        [pa.field(name, arrow_type(info), metadata={"falco.type": info.type_name, "falco.desc": info.desc})
         for name, info in zip(names, infos)]  # fmt: skip
    )


def _plain(ftype: int, value: Any) -> Any:
    """A value as Arrow takes it for its type."""
    if ftype in _IP_TYPES:
        return str(value)
    if ftype == FT_STRING and not isinstance(value, str):
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    if ftype not in _NUMBER_TYPES | {FT_BOOL, FT_BYTEBUF, FT_STRING}:
        return str(value)
    return value


def _needs_conversion(ftype: int) -> bool:
    return ftype not in (FT_UINT64, FT_RELTIME, FT_ABSTIME, FT_BOOL, FT_BYTEBUF, FT_STRING)


def to_array(info: FieldInfo, values: Sequence[Any]) -> Any:
    """One column of extracted values (``None`` for no value) as an Arrow array of the field's type."""
    pa = require("pyarrow")
    ftype = info.ftype
    if _needs_conversion(ftype):
        if info.is_list:
            values = [None if v is None else [_plain(ftype, x) for x in v] for v in values]
        else:
            values = [None if v is None else _plain(ftype, v) for v in values]
    direct = _direct_list(pa, info, values) if info.is_list else _direct_array(pa, ftype, values)
    if direct is not None:
        return direct
    try:
        return pa.array(values, type=arrow_type(info))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    if ftype == FT_ABSTIME:  # a time before 1970, wrapped to a u64: Arrow's timestamps are signed
        values = [None if v is None else [_signed(x) for x in v] if info.is_list else _signed(v) for v in values]
        try:
            return pa.array(values, type=arrow_type(info))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    # A plugin value outside its declared type (a negative number, text in a number field): keep
    # the column's type and the row, and say nothing was there.
    return _lenient_array(info, values)


def _direct_array(pa: Any, ftype: int, values: Sequence[Any]) -> Any:
    """A text or number column built without ``pa.array``: its first call in a process imports
    pandas (0.25 s: in every Dask worker, in every ``read``), and it is no faster than these. Numbers
    go in as their 64 bits (a time before 1970, a wrapped u64, reads back as its negative
    nanoseconds). ``None``: the values are not all of the column's type; ``pa.array`` decides."""
    try:
        if ftype in _NUMBER_TYPES:
            data = array("Q", [0 if v is None else v for v in values])  # TypeError, OverflowError
            if ftype == FT_RELTIME and any(v >> 63 for v in data):
                return None  # a duration is signed: over 2**63 ns is out of range
            nulls = [i for i, v in enumerate(values) if v is None]
            buffers = [_validity(pa, len(values), nulls), pa.py_buffer(data)]
            return pa.Array.from_buffers(scalar_type(ftype), len(values), buffers, null_count=len(nulls))
        if ftype == FT_BOOL:
            return _bool_array(pa, values)
        builder_type = getattr(pa.lib, "StringBuilder", None)  # pyarrow's builder of text columns
        if ftype != FT_BYTEBUF and builder_type is not None:
            builder = builder_type()
            builder.append_values(values)  # TypeError: not text; UnicodeError: a lone surrogate
            column = builder.finish()
            column.validate(full=True)  # the builder takes bytes as they are: invalid UTF-8 is refused here
            return column
    except (TypeError, OverflowError, ValueError, pa.ArrowInvalid):
        return None
    return None


def _bool_array(pa: Any, values: Sequence[Any]) -> Any:
    bits, nulls = bytearray((len(values) + 7) // 8), []
    for i, v in enumerate(values):
        if v is True:
            bits[i >> 3] |= 1 << (i & 7)
        elif v is None:
            nulls.append(i)
        elif v is not False:
            return None
    buffers = [_validity(pa, len(values), nulls), pa.py_buffer(bits)]
    return pa.Array.from_buffers(pa.bool_(), len(values), buffers, null_count=len(nulls))


def _direct_list(pa: Any, info: FieldInfo, values: Sequence[Any]) -> Any:
    """A list column from its offsets and the column of all its items (``None``: ``pa.array``
    decides, as for :func:`_direct_array`)."""
    offsets, items, nulls = array("i", [0]), [], []
    for i, v in enumerate(values):
        if type(v) is list:
            items += v
        elif v is None:
            nulls.append(i)
        else:
            return None
        offsets.append(len(items))
    column = _direct_array(pa, info.ftype, items)
    if column is None:
        return None
    buffers = [_validity(pa, len(values), nulls), pa.py_buffer(offsets)]
    return pa.Array.from_buffers(arrow_type(info), len(values), buffers, null_count=len(nulls), children=[column])


def _validity(pa: Any, n: int, nulls: Sequence[int]) -> Any:
    """Arrow's validity bitmap of ``n`` values, ``nulls`` unset (``None``: no null)."""
    if not nulls:
        return None
    bits = bytearray(b"\xff" * ((n + 7) // 8))
    for i in nulls:
        bits[i >> 3] &= ~(1 << (i & 7))
    return pa.py_buffer(bits)


def signed_ns(ts: int) -> int:
    """An absolute time (a u64 of nanoseconds, as events and abstime fields carry it) as Arrow's
    signed timestamp: a time before 1970 is its negative nanoseconds wrapped to 64 bits (k8saudit
    stores such a time so)."""
    return ts - (1 << 64) if ts >= 1 << 63 else ts


def _signed(value: Any) -> Any:
    return signed_ns(value) if type(value) is int else value


def _lenient_array(info: FieldInfo, values: Sequence[Any]) -> Any:
    pa = require("pyarrow")
    kind = arrow_type(info)
    cells = []
    for value in values:
        try:
            pa.array([value], type=kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            value = None
        cells.append(value)
    return pa.array(cells, type=kind)


def parse_ip(text: str | None) -> Any:
    """The ``ipaddress`` object back from its column text (``None`` stays ``None``)."""
    if text is None:
        return None
    return ipaddress.ip_network(text, strict=False) if "/" in text else ipaddress.ip_address(text)
