"""Field definitions: a plugin's ``get_fields`` JSON read with libsinsp's rules, and field arguments."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..abi.constants import FIELD_TYPE_NAMES, UINT64_MAX
from ..errors import FieldError, PluginLoadError
from ..filter.fields import FieldInfo

KNOWN_PROPERTIES = ("hidden", "info", "conversation")


class FieldArgError(FieldError, ValueError):
    """A field reference whose argument breaks the field's rules (libsinsp's message)."""


def _error(plugin: str, text: str) -> PluginLoadError:
    return PluginLoadError(f"error in plugin {plugin}: {text}", plugin=plugin)


def _as_string(value: Any) -> str:
    """jsoncpp's ``asString()`` on the values a field entry may hold (null and missing are "")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise TypeError("not convertible to string")


def _optional_bool(entry: dict[str, Any], key: str, plugin: str, fname: str, trailing: str = " ") -> bool:
    value = entry.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _error(plugin, f"field {fname} {key} property is not boolean{trailing}")
    return value


def _arg_flags(arg: Any, plugin: str, fname: str) -> tuple[bool, bool, bool]:
    if arg is None:
        return False, False, False
    if not isinstance(arg, dict):
        return False, False, False
    required = _optional_bool(arg, "isRequired", plugin, fname, trailing="")
    index = _optional_bool(arg, "isIndex", plugin, fname, trailing="")
    key = _optional_bool(arg, "isKey", plugin, fname, trailing="")
    if required and not (index or key):
        raise _error(plugin, f"field {fname} arg has isRequired true, but none of isKey nor isIndex is true")
    return required, index, key


def _properties(value: Any, plugin: str, fname: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _error(plugin, f"field {fname} properties property is not array ")
    props = []
    for prop in value:
        if not isinstance(prop, str):
            raise _error(plugin, f"field {fname} properties value is not string ")
        props.append(prop)
    return tuple(props)


def _field_entry(entry: Any, plugin: str) -> FieldInfo:
    if not isinstance(entry, dict):
        entry = {}
    try:
        ftype, fname = _as_string(entry.get("type")), _as_string(entry.get("name"))
        display, desc = _as_string(entry.get("display")), _as_string(entry.get("desc"))
    except TypeError:
        raise _error(plugin, "get_fields returned an invalid JSON") from None
    if not ftype:
        raise _error(plugin, "field JSON entry has no type")
    if not fname:
        raise _error(plugin, "field JSON entry has no name")
    if not desc:
        raise _error(plugin, "field JSON entry has no desc")
    if ftype not in FIELD_TYPE_NAMES:
        raise _error(plugin, f"invalid field type {ftype}")
    is_list = _optional_bool(entry, "isList", plugin, fname)
    add_output = _optional_bool(entry, "addOutput", plugin, fname)
    required, index, key = _arg_flags(entry.get("arg"), plugin, fname)
    return FieldInfo(
        name=fname,
        ftype=int(FIELD_TYPE_NAMES[ftype]),
        is_list=is_list,
        desc=desc,
        display=display,
        arg_required=required,
        arg_index=index,
        arg_key=key,
        properties=_properties(entry.get("properties"), plugin, fname),
        add_output=add_output,
        owner=plugin,
    )


def parse_fields_json(text: str | None, plugin: str) -> list[FieldInfo]:
    """The fields a plugin exports, or :class:`PluginLoadError` with libsinsp's message."""
    if text is None:
        raise _error(plugin, "get_fields returned a null string")
    try:
        root = json.loads(text)
    except (ValueError, RecursionError):  # invalid, or nested too deeply to parse
        root = None
    if not isinstance(root, list):
        raise _error(plugin, "get_fields returned an invalid JSON")
    fields = [_field_entry(entry, plugin) for entry in root]
    if not fields:
        raise _error(plugin, "plugins with extraction capability must export at least one field")
    return fields


def _index_problem(arg: str) -> str | None:
    """Why ``arg`` is not an index (libsinsp's wording), or ``None`` when it is one."""
    if not arg or (len(arg) > 1 and arg[0] == "0"):
        return "has an invalid index argument starting with 0"
    if not (arg.isascii() and arg.isdigit()):
        return "has an invalid index argument not composed only by digits"
    if int(arg) > UINT64_MAX:
        return "has an invalid index argument not representable on 64 bit"
    return None


def parse_index(arg: str) -> int | None:
    """An index argument: decimal digits, no leading zero (but "0"), fitting in a u64."""
    return None if _index_problem(arg) is not None else int(arg)


@dataclass(frozen=True, slots=True)
class FieldArg:
    """A parsed field argument, as the plugin will receive it."""

    key: str | None = None
    index: int | None = None

    @property
    def present(self) -> bool:
        return self.key is not None or self.index is not None


def bind_arg(info: FieldInfo, arg: str | None, text: str | None = None) -> FieldArg:
    """Check ``arg`` against the field's rules and turn it into a key and/or an index.

    ``text`` is the field reference as written (for the messages, which quote it as libsinsp does).
    """
    text = text if text is not None else (info.name if arg is None else f"{info.name}[{arg}]")
    if arg is None:
        if info.arg_required:
            raise FieldArgError(f"filter '{text}': {info.name} requires an argument but none provided")
        return FieldArg()
    if not (info.arg_allowed or info.arg_required):
        raise FieldArgError(
            f"filter '{text}': {info.name} does not allow nor require an argument but one is provided: {arg}"
        )
    index = None
    if info.arg_index:
        problem = _index_problem(arg)
        if problem is None:
            index = int(arg)
        elif not info.arg_key:
            raise FieldArgError(f"filter {text} {info.name} {problem}: {arg}")
    return FieldArg(key=arg if info.arg_key else None, index=index)


def split_field_ref(text: str) -> tuple[str, str | None]:
    """``name[arg]`` into its name and argument (``None`` without brackets), as libsinsp cuts it."""
    name, bracket, rest = text.partition("[")
    if not bracket:
        return text, None
    if not rest:
        raise FieldArgError(f"filter '{text}': {name} terminates with incomplete argument brackets")
    end = rest.find("]")
    if end < 0:
        raise FieldArgError(f"filter '{text}': {name} has unbalanced argument brackets")
    return name, rest[:end]
