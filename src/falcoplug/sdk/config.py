"""Typed configuration: a dataclass becomes a JSON Schema for the host, and the config text becomes
an instance of it, validated, before the plugin sees it.

The same machinery serves the init config (the type of ``init``'s parameter), ``set_config`` and
typed open parameters (the type of ``open``'s parameter). Supported annotations:

- a dataclass (fields documented with :func:`option`), possibly nested;
- ``str`` (the raw text, no schema), ``dict`` / ``Mapping`` (any JSON object);
- a pydantic v2 model (anything with ``model_json_schema`` and ``model_validate_json``).

Unknown keys are ignored with a warning, as pydantic does by default, so that a newer config does
not break an older plugin; a dataclass with ``forbid_unknown_keys: ClassVar[bool] = True`` rejects
them instead.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final, Literal

from ..errors import ConfigError
from .fieldtypes import _is_union, strip_optional

SCHEMA_DIALECT: Final = "http://json-schema.org/draft-07/schema#"
_META_KEY: Final = "falcoplug"
_JSON_TYPES: Final[dict[Any, str]] = {int: "integer", float: "number", str: "string", bool: "boolean"}
_SCHEMA_WORDS: Final = {
    "title", "minimum", "maximum", "exclusive_minimum", "exclusive_maximum", "min_length", "max_length",
    "pattern", "examples", "min_items", "max_items", "format",
}  # fmt: skip

Warn = Callable[[str], None]


def option(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    description: str | None = None,
    alias: str | None = None,
    **schema: Any,
) -> Any:
    """A config field: its default, its description, the JSON key when it differs from the Python
    name (``alias``), and JSON Schema keywords (``title``, ``minimum``, ``maximum``, ``pattern``,
    ``min_length``, ``examples``, ...), written in snake_case."""
    unknown = set(schema) - _SCHEMA_WORDS
    if unknown:
        raise TypeError(f"option() got unknown schema keywords: {', '.join(sorted(unknown))}")
    meta = {_META_KEY: {"description": description, "alias": alias, "schema": schema}}
    return dataclasses.field(default=default, default_factory=default_factory, metadata=meta)  # type: ignore[call-overload]


def _camel(word: str) -> str:
    head, *rest = word.split("_")
    return head + "".join(part.title() for part in rest)


def _doc(cls: type) -> str | None:
    """A class docstring, ignoring the signature dataclasses writes when there is none."""
    doc = cls.__doc__
    if not doc or doc.startswith(cls.__name__ + "("):
        return None
    return " ".join(doc.split())


def _field_info(f: dataclasses.Field[Any]) -> tuple[str, str | None, dict[str, Any]]:
    meta = f.metadata.get(_META_KEY, {})
    schema = {_camel(k): v for k, v in meta.get("schema", {}).items()}
    return meta.get("alias") or f.name, meta.get("description"), schema


# -- schema ------------------------------------------------------------------------------------------


def schema_of(hint: Any) -> dict[str, Any]:
    """The JSON Schema of a type (without the ``$schema`` key)."""
    hint, optional = strip_optional(hint)
    schema = _schema_of(hint)
    if optional:
        if set(schema) == {"type"} and isinstance(schema["type"], str):
            return {"type": [schema["type"], "null"]}
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def _schema_of(hint: Any) -> dict[str, Any]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is object:
        return {}
    if hint in _JSON_TYPES:
        return {"type": _JSON_TYPES[hint]}
    if hint is type(None):
        return {"type": "null"}
    if origin is Annotated:
        return schema_of(args[0])
    if origin is Literal:
        return {"enum": list(args)}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"enum": [m.value for m in hint]}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _dataclass_schema(hint)
    if _is_union(hint):
        return {"anyOf": [schema_of(a) for a in args]}
    if origin in (list, tuple, set, frozenset, typing.Sequence, typing.AbstractSet) or hint in (list, tuple):
        items = schema_of(args[0]) if args else {}
        out: dict[str, Any] = {"type": "array", "items": items}
        if origin in (set, frozenset):
            out["uniqueItems"] = True
        return out
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        values = schema_of(args[1]) if len(args) == 2 else {}
        return {"type": "object", "additionalProperties": values} if values else {"type": "object"}
    raise TypeError(f"config type {getattr(hint, '__name__', hint)!r} has no JSON Schema")


def _dataclass_schema(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls, include_extras=True)
    props: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        key, description, extra = _field_info(f)
        prop = schema_of(hints[f.name])
        if description:
            prop["description"] = description
        prop.update(extra)
        default = _default(f)
        if default is not dataclasses.MISSING:
            prop["default"] = _jsonable(default)
        elif f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
            required.append(key)
        props[key] = prop
    schema: dict[str, Any] = {"type": "object", "properties": props}
    doc = _doc(cls)
    if doc:
        schema["description"] = doc
    if required:
        schema["required"] = required
    if getattr(cls, "forbid_unknown_keys", False):
        schema["additionalProperties"] = False
    return schema


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return dataclasses.MISSING


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_field_info(f)[0]: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


# -- from JSON to values -----------------------------------------------------------------------------


def _convert(hint: Any, value: Any, path: str, warn: Warn | None) -> Any:
    """A validated JSON value as an instance of ``hint``."""
    hint, _ = strip_optional(hint)
    if value is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Annotated:
        return _convert(args[0], value, path, warn)
    if hint is float:
        return float(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _build_dataclass(hint, value, path, warn)
    if _is_union(hint):
        import jsonschema  # imported when used: a run of C plugins never needs it

        for alt in args:
            try:
                jsonschema.validate(value, schema_of(alt))
            except jsonschema.ValidationError:
                continue
            return _convert(alt, value, path, warn)
        return value
    if origin in (list, tuple, set, frozenset, typing.Sequence, typing.AbstractSet):
        item = args[0] if args else Any
        items = [_convert(item, v, f"{path}[{i}]", warn) for i, v in enumerate(value)]
        return items if origin in (list, typing.Sequence) else (origin or list)(items)
    if origin in (dict, Mapping) and len(args) == 2:
        return {k: _convert(args[1], v, f"{path}.{k}" if path else k, warn) for k, v in value.items()}
    return value


def _build_dataclass(cls: type, doc: Mapping[str, Any], path: str, warn: Warn | None) -> Any:
    hints = typing.get_type_hints(cls, include_extras=True)
    kwargs: dict[str, Any] = {}
    known: set[str] = set()
    for f in dataclasses.fields(cls):
        key = _field_info(f)[0]
        known.add(key)
        if key in doc and f.init:
            kwargs[f.name] = _convert(hints[f.name], doc[key], f"{path}.{key}" if path else key, warn)
    if warn is not None:
        for key in doc:
            if key not in known:
                warn(f"unknown key '{f'{path}.{key}' if path else key}' ignored")
    return cls(**kwargs)


# -- the model a plugin declares -------------------------------------------------------------------


class ConfigModel:
    """How a text (init config, open params) becomes the value a plugin method receives."""

    def __init__(self, hint: Any, what: str = "config") -> None:
        self.hint = hint
        self.what = what
        self.kind = _kind(hint)
        self._schema: dict[str, Any] | None = None
        if self.kind == "dataclass":
            import jsonschema

            self._schema = {"$schema": SCHEMA_DIALECT, **schema_of(hint)}
            self._validator = jsonschema.Draft7Validator(self._schema)
        elif self.kind == "pydantic":
            self._schema = hint.model_json_schema()
        elif self.kind == "json":
            self._schema = {"$schema": SCHEMA_DIALECT, "type": "object"}

    @property
    def schema(self) -> dict[str, Any] | None:
        return self._schema

    def schema_json(self) -> str | None:
        return None if self._schema is None else json.dumps(self._schema, separators=(",", ":"))

    def parse(self, text: str, plugin: str, warn: Warn | None = None) -> Any:
        """The value for ``text`` ("" means defaults), or :class:`ConfigError` naming the plugin."""
        if self.kind == "raw":
            return text
        if self.kind == "pydantic":
            return self._parse_pydantic(text, plugin)
        doc = self._load(text, plugin)
        if self.kind == "json":
            if not isinstance(doc, dict):
                raise self._error(plugin, "expected a JSON object")
            return doc
        from jsonschema.exceptions import best_match

        error = best_match(self._validator.iter_errors(doc))
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path)
            raise self._error(plugin, f"{where}: {error.message}" if where else error.message)
        return _build_dataclass(self.hint, doc, "", warn)

    def _load(self, text: str, plugin: str) -> Any:
        if not text.strip():
            return {}
        try:
            return json.loads(text)
        except ValueError as exc:
            raise self._error(plugin, f"not valid JSON ({exc})") from None

    def _parse_pydantic(self, text: str, plugin: str) -> Any:
        try:
            return self.hint.model_validate_json(text if text.strip() else "{}")
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise self._error(plugin, " ".join(str(exc).split())) from None

    def _error(self, plugin: str, reason: str) -> ConfigError:
        return ConfigError(f"invalid {self.what} for plugin {plugin}: {reason}")


def _kind(hint: Any) -> str:
    if hint is str:
        return "raw"
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        schema_of(hint)  # fail early on a field type that has no schema
        return "dataclass"
    if hasattr(hint, "model_json_schema") and hasattr(hint, "model_validate_json"):
        return "pydantic"
    if hint in (dict, Mapping, Any) or typing.get_origin(hint) in (dict, Mapping):
        return "json"
    raise TypeError(
        f"{getattr(hint, '__name__', hint)!r} cannot be a config type (use a dataclass, str, dict or a pydantic model)"
    )
