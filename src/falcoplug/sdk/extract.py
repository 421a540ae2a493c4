"""Field extraction: fields are methods, typed by their annotations.

::

    class Dummy(SourcePlugin, ExtractPlugin):
        @field("dummy.value", display="Value")
        def value(self, event: Event) -> int:
            "The sample value in the event."
            return int(event.payload)

        @field("dummy.divisible")
        def divisible(self, event: Event, divisor: int) -> int:
            "1 if the value is divisible by the divisor, 0 otherwise."
            return int(self.value(event) % divisor == 0)

The return annotation gives the field type (see :mod:`falcoplug.sdk.fieldtypes`); a parameter
after the event makes the field take an argument: ``int`` an index, ``str`` a key, ``int | str``
either, required unless it has a default or is ``Optional``. ``display``, ``desc`` (default: the
docstring), ``properties`` and ``add_output`` sit in the decorator. The host asks for all the fields
of one event in one call; :func:`cached_per_event` keeps work shared by several fields.
"""

from __future__ import annotations

import enum
import functools
import inspect
import json
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, TypeVar

from ..backend import FieldRequest
from ..errors import is_user_interrupt
from .constants import FIELD_TYPE_NAMES, FieldType
from .event import Event
from .fieldtypes import ValueType, pack_ip, strip_optional, value_type
from .info import PluginDefinitionError, check_semver
from .plugin import Plugin

F = TypeVar("F", bound=Callable[..., Any])
KNOWN_PROPERTIES: Final = frozenset({"hidden", "info", "conversation"})
_DECL_ATTR: Final = "__falcoplug_field__"


class ArgKind(enum.Enum):
    INDEX = "index"
    KEY = "key"
    INDEX_OR_KEY = "index or key"


@dataclass(frozen=True, slots=True)
class ArgSpec:
    kind: ArgKind
    required: bool
    has_default: bool  # the method supplies a default when the argument is absent


@dataclass(frozen=True, slots=True)
class _FieldDecl:
    name: str
    display: str
    desc: str | None
    properties: tuple[str, ...]
    add_output: bool


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field as the plugin exports it: its position is its field ID."""

    name: str
    value: ValueType
    method: str
    display: str = ""
    desc: str = ""
    arg: ArgSpec | None = None
    properties: tuple[str, ...] = ()
    add_output: bool = False

    @property
    def ftype(self) -> FieldType:
        return self.value.ftype

    @property
    def is_list(self) -> bool:
        return self.value.is_list

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": FIELD_TYPE_NAMES[self.ftype], "name": self.name}
        if self.is_list:
            entry["isList"] = True
        if self.arg is not None:
            entry["arg"] = {
                "isRequired": self.arg.required,
                "isIndex": self.arg.kind in (ArgKind.INDEX, ArgKind.INDEX_OR_KEY),
                "isKey": self.arg.kind in (ArgKind.KEY, ArgKind.INDEX_OR_KEY),
            }
        if self.display:
            entry["display"] = self.display
        entry["desc"] = self.desc
        if self.properties:
            entry["properties"] = list(self.properties)
        if self.add_output:
            entry["addOutput"] = True
        return entry


def field(
    name: str,
    *,
    display: str = "",
    desc: str | None = None,
    properties: Sequence[str] = (),
    add_output: bool = False,
) -> Callable[[F], F]:
    """Declare the decorated method as the extractor of field ``name`` (the method is unchanged).

    ``add_output`` asks Falco to append the field to the outputs of its source's rules (as a bare
    ``%name``): the field must then work without an argument (none, a default, or ``Optional``).
    """

    def mark(func: F) -> F:
        setattr(func, _DECL_ATTR, _FieldDecl(name, display, desc, tuple(properties), add_output))
        return func

    return mark


def cached_per_event(func: F) -> F:
    """Compute a method of ``(self, event)`` once per event, however many fields call it.

    Typical use: decode the payload once for all the fields of one extraction request.
    """

    @functools.wraps(func)
    def cached(self: Any, event: Event) -> Any:
        cache = event._cache
        if cache is None:
            cache = event._cache = {}
        try:
            return cache[cached]
        except KeyError:
            value = cache[cached] = func(self, event)
            return value

    return cached  # type: ignore[return-value]


# -- reading the declarations ------------------------------------------------------------------------


def _fail(cls: type, text: str) -> PluginDefinitionError:
    return PluginDefinitionError(f"plugin class {cls.__qualname__}: {text}", getattr(cls, "name", None))


def _arg_spec(cls: type, fname: str, param: inspect.Parameter, hint: Any) -> ArgSpec:
    if hint is inspect.Parameter.empty:
        raise _fail(cls, f"field {fname}: argument '{param.name}' needs a type hint: int (index), str (key) or int | str")
    base, optional = strip_optional(hint)
    kinds = set(typing.get_args(base)) if typing.get_origin(base) in (typing.Union, type(int | str)) else {base}
    if kinds == {int}:
        kind = ArgKind.INDEX
    elif kinds == {str}:
        kind = ArgKind.KEY
    elif kinds == {int, str}:
        kind = ArgKind.INDEX_OR_KEY
    else:
        raise _fail(cls, f"field {fname}: argument '{param.name}' must be int (index), str (key) or int | str, not {hint!r}")
    has_default = param.default is not inspect.Parameter.empty
    return ArgSpec(kind, required=not (optional or has_default), has_default=has_default)


def _field_spec(cls: type, attr: str, func: Callable[..., Any], decl: _FieldDecl) -> FieldSpec:
    fname = decl.name
    if not isinstance(fname, str) or not fname or any(c.isspace() or c in "[]" for c in fname):
        raise _fail(cls, f"method {attr}: {fname!r} is not a valid field name")
    params = list(inspect.signature(func).parameters.values())
    if len(params) < 2 or len(params) > 3:
        raise _fail(cls, f"field {fname}: method {attr} must take (self, event) or (self, event, argument)")
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:  # noqa: BLE001 - report the author's annotation error with the field
        raise _fail(cls, f"field {fname}: cannot resolve the annotations of {attr}: {exc}") from None
    if "return" not in hints:
        raise _fail(cls, f"field {fname}: method {attr} needs a return annotation (it gives the field type)")
    try:
        vtype = value_type(hints["return"])
    except TypeError as exc:
        raise _fail(cls, f"field {fname}: return type {exc}") from None
    arg = _arg_spec(cls, fname, params[2], hints.get(params[2].name, inspect.Parameter.empty)) if len(params) == 3 else None
    desc = decl.desc if decl.desc is not None else " ".join((inspect.getdoc(func) or "").split("\n\n")[0].split())
    if not desc:
        raise _fail(cls, f"field {fname}: no description (pass desc= or give {attr} a docstring)")
    for prop in decl.properties:
        if prop not in KNOWN_PROPERTIES:
            raise _fail(cls, f"field {fname}: unknown property {prop!r} (known: {', '.join(sorted(KNOWN_PROPERTIES))})")
    _check_add_output(cls, decl, arg)
    return FieldSpec(fname, vtype, attr, decl.display, desc, arg, decl.properties, decl.add_output)


def _check_add_output(cls: type, decl: _FieldDecl, arg: ArgSpec | None) -> None:
    # Falco appends every addOutput field to a rule's output as a bare "%name": a field that needs
    # an argument cannot be written that way, and every rule of the source would fail to load.
    if decl.add_output and arg is not None and arg.required:
        raise _fail(
            cls,
            f"field {decl.name}: add_output=True needs a field usable without an argument (Falco appends it to "
            f"outputs as a bare %{decl.name}); give the argument a default or make it Optional, or drop add_output",
        )


def _declared_methods(cls: type) -> dict[str, tuple[Callable[..., Any], _FieldDecl]]:
    """The methods decorated with :func:`field`, by attribute, base classes' first."""
    methods: dict[str, tuple[Callable[..., Any], _FieldDecl]] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            decl = getattr(value, _DECL_ATTR, None)
            if isinstance(decl, _FieldDecl):
                methods[attr] = (value, decl)
    return methods


def check_add_output_fields(cls: type) -> None:
    """Refuse ``add_output`` on a field whose argument is required, as soon as the class is defined.

    The complete check of the fields waits until the class is used (annotations may name types
    defined later in the module); this one cannot wait, because a built library would carry the
    flag to Falco, where it breaks every rule of the plugin's source.
    """
    for func, decl in _declared_methods(cls).values():
        if not decl.add_output:
            continue
        params = list(inspect.signature(func).parameters.values())
        if len(params) != 3 or params[2].default is not inspect.Parameter.empty:
            continue  # no argument, or one with a default: never required
        try:
            hints = typing.get_type_hints(func, include_extras=True)
        except Exception:  # noqa: BLE001 - a forward reference: the check at load time reports it
            continue
        hint = hints.get(params[2].name, inspect.Parameter.empty)
        _check_add_output(cls, decl, _arg_spec(cls, decl.name, params[2], hint))


def collect_fields(cls: type) -> tuple[FieldSpec, ...]:
    """The fields of a plugin class, base classes' first, in definition order."""
    methods = _declared_methods(cls)
    specs = [_field_spec(cls, attr, func, decl) for attr, (func, decl) in methods.items()]
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise _fail(cls, f"field {spec.name} is declared twice")
        seen.add(spec.name)
    return tuple(specs)


class ExtractPlugin(Plugin):
    """The field extraction capability: methods decorated with :func:`field`.

    ``extract_event_sources``: the sources this plugin extracts from (``None``: its own source for
    a sourcing plugin, every source otherwise, as libsinsp decides). ``extract_event_types``: the
    event codes it accepts (``None``: libsinsp's default, plugin events unless the sources include
    ``syscall``). ``required_event_schema_version``: for plugins that read syscall events.
    """

    extract_event_sources: ClassVar[Sequence[str] | None] = None
    extract_event_types: ClassVar[Sequence[int] | None] = None
    required_event_schema_version: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "name", None) is not None:  # a concrete plugin, as Plugin decides
            check_add_output_fields(cls)

    @classmethod
    def field_specs(cls) -> tuple[FieldSpec, ...]:
        cached = cls.__dict__.get("_falcoplug_fields")
        if cached is None:
            cached = collect_fields(cls)
            cls._falcoplug_fields = cached  # type: ignore[attr-defined]
        return cached

    @classmethod
    def check_extraction(cls) -> None:
        owner = cls.__qualname__
        if not cls.field_specs():
            raise _fail(cls, "an ExtractPlugin must declare at least one field (decorate a method with @field)")
        sources = cls.extract_event_sources
        if sources is not None and (
            isinstance(sources, str) or not all(isinstance(s, str) and s for s in sources)
        ):
            raise _fail(cls, "extract_event_sources must be a list of source names")
        types = cls.extract_event_types
        if types is not None and (not types or not all(isinstance(t, int) and 0 <= t < 65536 for t in types)):
            raise _fail(cls, "extract_event_types must be a non-empty list of event codes (0..65535), or None")
        if cls.required_event_schema_version is not None:
            check_semver(owner, "required_event_schema_version", cls.required_event_schema_version)

    @classmethod
    def fields_json(cls) -> str:
        return json.dumps([spec.to_json() for spec in cls.field_specs()], separators=(",", ":"))


# -- running a request ---------------------------------------------------------------------------------


class ExtractPlan:
    """One extraction request (a fixed list of fields and arguments) prepared for a plugin object.

    :meth:`run` takes one event (its bytes, its payload when it is a plugin event, else ``b""``,
    its number and its source) and returns one value per field (``None``: no value), or ``None``
    when plugin code raised (a C host's one failure for the whole call); ``on_error`` then gets the
    field (as requested, with its argument) and the exception. With ``partial``, a failing field
    only has no value, the others keep theirs, and ``on_error`` is called for each failure (an
    in-process host, which reports failures field by field as libsinsp's one-field calls would). With ``check`` the values are
    converted and checked here (in-process hosts); without it only the conversions a C host
    cannot do are applied (datetime and timedelta to nanoseconds, IP addresses to bytes when
    ``pack_ips``), and the C side checks the types.
    """

    def __init__(
        self,
        plugin: ExtractPlugin,
        requests: Sequence[FieldRequest],
        on_error: Callable[[str, BaseException], None],
        *,
        check: bool = True,
        pack_ips: bool = False,
        partial: bool = False,
    ) -> None:
        self.requests = tuple(requests)
        self._partial = partial
        specs = type(plugin).field_specs()
        # One event object per plan, refilled for each event: creating one costs more than the
        # rest of a one-field call (see Event: it is only valid during the call).
        namespace: dict[str, Any] = {"event": Event.__new__(Event), "fail": self._fail, "seq": (list, tuple)}
        self._names: list[str] = []
        self._plugin_name = type(plugin).name
        self._on_error = on_error
        body: list[str] = []
        for j, req in enumerate(self.requests):
            spec = self._spec(specs, req)
            self._names.append(_requested_name(spec, req))
            body += self._field_code(j, spec, req, plugin, namespace, check, pack_ips)
        values = "".join(f"v{j}, " for j in range(len(self.requests)))
        source = (
            "def run(data, payload, num, source):\n"
            "    event.data = data; event.payload = payload; event.num = num; event.source = source\n"
            "    event._cache = None\n"
        )
        source += "".join(f"    {line}\n" for line in body) + f"    return ({values})\n"
        self.source_code = source  # kept for debugging: the code a request became
        exec(compile(source, f"<extract plan of {self._plugin_name}>", "exec"), namespace)  # noqa: S102
        self.run: Callable[[bytes, bytes, int, str | None], tuple[Any, ...] | None] = namespace["run"]

    def _spec(self, specs: tuple[FieldSpec, ...], req: FieldRequest) -> FieldSpec:
        if not 0 <= req.field_id < len(specs) or specs[req.field_id].name != req.name:
            raise ValueError(f"plugin {self._plugin_name} has no field {req.name!r} with ID {req.field_id}")
        spec = specs[req.field_id]
        if spec.arg is not None and spec.arg.required and not _arg_present(spec.arg, req):
            raise ValueError(f"plugin {self._plugin_name}: field {spec.name} requires an argument but none provided")
        return spec

    def _field_code(
        self, j: int, spec: FieldSpec, req: FieldRequest, plugin: ExtractPlugin,
        ns: dict[str, Any], check: bool, pack_ips: bool,
    ) -> list[str]:  # fmt: skip
        ns[f"m{j}"] = getattr(plugin, spec.method)
        call = f"m{j}(event)"
        if spec.arg is not None:
            arg = _arg_value(spec.arg, req)
            if arg is not None or not spec.arg.has_default:
                ns[f"a{j}"] = arg
                call = f"m{j}(event, a{j})"
        convert = _converter(spec, check, pack_ips)
        lines = ["try:", f"    v{j} = {call}"]
        if convert is not None:
            ns[f"c{j}"] = convert
            if spec.is_list:
                if check:
                    lines.append(f"    if v{j} is not None and not isinstance(v{j}, seq): raise TypeError(f'expected a list, got {{type(v{j}).__name__}}')")
                # An empty list is no value: a host reads a list of 0 values as no value.
                lines.append(f"    if v{j} is not None: v{j} = [c{j}(x) for x in v{j}] or None")
            else:
                guard = _GUARDS.get(spec.ftype) if check else None
                test = f"v{j} is not None" + (f" and not ({guard.format(v=f'v{j}')})" if guard else "")
                lines.append(f"    if {test}: v{j} = c{j}(v{j})")
        on_failure = f"v{j} = fail({j}, exc)" if self._partial else f"return fail({j}, exc)"
        lines += ["except BaseException as exc:", f"    {on_failure}"]
        return lines

    def _fail(self, j: int, exc: BaseException) -> None:
        if is_user_interrupt(exc):  # Ctrl-C is the user's, not the plugin's
            raise exc
        self._on_error(self._names[j], exc)
        return None


def _requested_name(spec: FieldSpec, req: FieldRequest) -> str:
    """The field as the request names it: ``name`` or ``name[arg]``."""
    arg = req.arg_key if req.arg_key is not None else req.arg_index
    return spec.name if arg is None else f"{spec.name}[{arg}]"


# Values that are already canonical skip the converter call (the common case, checked inline).
_GUARDS: Final = {
    FieldType.STRING: "type({v}) is str and {v}.isascii() and '\\0' not in {v}",  # else: UTF-8 checked
    FieldType.UINT64: "type({v}) is int and 0 <= {v} <= 18446744073709551615",
    FieldType.BOOL: "type({v}) is bool",
}


def _arg_present(arg: ArgSpec, req: FieldRequest) -> bool:
    return _arg_value(arg, req) is not None


def _arg_value(arg: ArgSpec, req: FieldRequest) -> int | str | None:
    if arg.kind is ArgKind.INDEX:
        return req.arg_index
    if arg.kind is ArgKind.KEY:
        return req.arg_key
    return req.arg_index if req.arg_index is not None else req.arg_key


def _converter(spec: FieldSpec, check: bool, pack_ips: bool) -> Callable[[Any], Any] | None:
    ftype, convert = spec.ftype, spec.value.convert
    if ftype in (FieldType.IPADDR, FieldType.IPNET):
        return (lambda v: pack_ip(convert(v))) if pack_ips else convert
    if check or ftype in (FieldType.ABSTIME, FieldType.RELTIME):
        return convert
    return None
