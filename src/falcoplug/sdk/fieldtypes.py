"""From a Python type hint to a field type, and from a returned value to the value hosts expect.

A field method's return annotation decides the field's type: ``int`` is uint64, ``str`` string,
``bool`` bool, ``datetime`` abstime, ``timedelta`` reltime, the :mod:`ipaddress` address types
ipaddr and the network types ipnet. :data:`AbsTime` and :data:`RelTime` say abstime/reltime for a
method that already has nanoseconds as an ``int``. ``list[...]`` (or any ``Sequence[...]``) makes
a list field; ``X | None`` means the field may have no value for an event.

Canonical values, the same whatever runs the plugin: uint64, abstime and reltime are ``int``
nanoseconds, string ``str``, bool ``bool``, ipaddr an ``IPv4Address``/``IPv6Address`` and ipnet an
``IPv4Network``/``IPv6Network``.
"""

from __future__ import annotations

import collections.abc
import ipaddress
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Final, Union

from ..errors import FieldValueError
from .constants import UINT64_MAX, FieldType

AbsTime = Annotated[int, FieldType.ABSTIME]
"""An absolute time as ``int`` nanoseconds since the epoch (field type abstime)."""
RelTime = Annotated[int, FieldType.RELTIME]
"""A duration as ``int`` nanoseconds (field type reltime)."""

IpAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IpNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICRO: Final = timedelta(microseconds=1)

Converter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class ValueType:
    """What a field method returns: the field type, whether it is a list, and how values convert."""

    ftype: FieldType
    is_list: bool
    convert: Converter  # one returned item -> its canonical value (raises FieldValueError)


# -- conversions to canonical values ---------------------------------------------------------------


def _uint64(value: Any) -> int:
    if not isinstance(value, int):
        raise FieldValueError(f"expected an int, got {type(value).__name__} {value!r:.60}")
    if not 0 <= value <= UINT64_MAX:
        raise FieldValueError(f"{value} does not fit in an unsigned 64-bit integer")
    return int(value)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise FieldValueError(f"expected a str, got {type(value).__name__} {value!r:.60}")
    if "\0" in value:  # hosts read C strings: the value would end there
        raise FieldValueError("a string value may not hold a NUL character")
    return value if value.isascii() else utf8_text(value)


def utf8_text(value: str) -> str:
    """``value`` as UTF-8 can carry it: a lone surrogate (``"\\ud800"`` decoded from JSON, say)
    stays as its escape text, as the Go plugins' JSON reader keeps it, instead of failing every
    writer downstream (outputs, rules alerts, Parquet, a built library's C strings)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, int):  # bool is an int; plain ints are accepted as truth values
        raise FieldValueError(f"expected a bool, got {type(value).__name__} {value!r:.60}")
    return bool(value)


def datetime_ns(value: datetime) -> int:
    """Nanoseconds since the epoch; a naive datetime is taken as UTC (hosts have no local zone)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return (value - _EPOCH) // _MICRO * 1000


def timedelta_ns(value: timedelta) -> int:
    return value // _MICRO * 1000


def _abstime(value: Any) -> int:
    if isinstance(value, datetime):
        return _uint64(datetime_ns(value))
    return _uint64(value)


def _reltime(value: Any) -> int:
    if isinstance(value, timedelta):
        return _uint64(timedelta_ns(value))
    return _uint64(value)


def _ipaddr(value: Any) -> IpAddress:
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    if isinstance(value, (str, bytes, int)) and not isinstance(value, bool):
        try:
            return ipaddress.ip_address(value)
        except ValueError as exc:
            raise FieldValueError(str(exc)) from None
    raise FieldValueError(f"expected an IP address, got {type(value).__name__} {value!r:.60}")


def _ipnet(value: Any) -> IpNetwork:
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return value
    if isinstance(value, str):
        try:
            return ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise FieldValueError(str(exc)) from None
    raise FieldValueError(f"expected an IP network, got {type(value).__name__} {value!r:.60}")


CONVERTERS: Final[dict[FieldType, Converter]] = {
    FieldType.UINT64: _uint64,
    FieldType.STRING: _string,
    FieldType.BOOL: _bool,
    FieldType.ABSTIME: _abstime,
    FieldType.RELTIME: _reltime,
    FieldType.IPADDR: _ipaddr,
    FieldType.IPNET: _ipnet,
}


def pack_ip(value: IpAddress | IpNetwork) -> bytes:
    """The bytes a host reads for an ipaddr (4 or 16) or ipnet (address then netmask: 8 or 32)."""
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return value.network_address.packed + value.netmask.packed
    return value.packed


# -- type hints ------------------------------------------------------------------------------------

_SCALARS: Final[dict[Any, FieldType]] = {
    int: FieldType.UINT64,
    str: FieldType.STRING,
    bool: FieldType.BOOL,
    datetime: FieldType.ABSTIME,
    timedelta: FieldType.RELTIME,
    ipaddress.IPv4Address: FieldType.IPADDR,
    ipaddress.IPv6Address: FieldType.IPADDR,
    ipaddress.IPv4Network: FieldType.IPNET,
    ipaddress.IPv6Network: FieldType.IPNET,
}
_SEQUENCES: Final = (list, tuple, collections.abc.Sequence, collections.abc.Iterable, collections.abc.Collection)


def strip_optional(hint: Any) -> tuple[Any, bool]:
    """``X | None`` -> ``(X, True)``; anything else -> ``(hint, False)``."""
    if _is_union(hint):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) != len(typing.get_args(hint)):
            rest = args[0] if len(args) == 1 else Union[tuple(args)]  # type: ignore[valid-type]
            return rest, True
    return hint, False


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (Union, types.UnionType)


def _scalar(hint: Any) -> FieldType | None:
    if typing.get_origin(hint) is Annotated:
        base, *extras = typing.get_args(hint)
        kinds = [e for e in extras if isinstance(e, FieldType)]
        return kinds[0] if kinds else _scalar(base)
    if _is_union(hint):
        kinds = {_scalar(a) for a in typing.get_args(hint)}
        return kinds.pop() if len(kinds) == 1 else None
    return _SCALARS.get(hint)


def value_type(hint: Any) -> ValueType:
    """The field type a return annotation declares, or :class:`TypeError` saying why there is none."""
    hint, _ = strip_optional(hint)
    is_list = False
    origin = typing.get_origin(hint)
    if origin in _SEQUENCES:
        args = typing.get_args(hint)
        if not args or (origin is tuple and not (len(args) == 2 and args[1] is Ellipsis)):
            raise TypeError(f"{_show(hint)} needs one item type, as in list[str]")
        item, item_optional = strip_optional(args[0])
        if item_optional:
            # A host reads a list field as values only: an item cannot be "no value" (an empty
            # list, or None for the whole list, is how a list field has no value).
            raise TypeError(
                f"{_show(hint)}: a list item cannot be None (return list[T] | None, or an empty list, for no value)"
            )
        hint, is_list = item, True
    ftype = _scalar(hint)
    if ftype is None:
        raise TypeError(
            f"{_show(hint)} has no field type (use int, str, bool, datetime, timedelta, AbsTime, RelTime, "
            "an ipaddress address or network type, or a list of one of them)"
        )
    return ValueType(ftype, is_list, CONVERTERS[ftype])


def _show(hint: Any) -> str:
    # A parameterized generic forwards __name__ to its origin ("list"): show it whole instead.
    if typing.get_origin(hint) is not None:
        return repr(hint).replace("typing.", "")
    return getattr(hint, "__name__", None) or repr(hint)
