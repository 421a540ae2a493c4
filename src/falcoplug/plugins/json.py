"""json: a Python port of the official Falco ``json`` plugin (falcosecurity/plugins, plugins/json),
written with the falcoplug SDK, plus the JSON helpers the other bundled plugins share.

The plugin extracts fields from any plugin event whose data is a JSON document, whatever its
source (``k8s_audit``, ``aws_cloudtrail``, ...)::

    json.value[/requestObject/spec/tls]   the value at an RFC 6901 pointer: a string as it is,
                                          any other value as compact JSON (1, true, null, {"a":1})
    json.obj                              the whole document, indented by two spaces
    json.rawtime                          the event time in nanoseconds, as text
    jevt.value[...], jevt.obj, jevt.rawtime   the same, under their old names

Behaviour taken from the official plugin (0.7.x):

- all six fields need the event data to start with ``{`` or ``[`` and to parse as JSON, else they
  have no value (``json.rawtime`` included);
- a pointer may leave out its leading ``/`` (``value`` is ``/value``); ``~1`` and ``~0`` are
  unescaped in that order; array steps take a decimal index (``+1`` and ``01`` are accepted, as Go's
  ``Atoi`` does); a step that finds nothing gives no value; an empty pointer gives no value;
- a JSON string is returned unescaped (so ``""`` is a value), ``null`` is the text ``null``;
- ``json.obj`` is Go's ``json.Indent`` of the data: one member per line, ``"key": value``, empty
  ``{}`` and ``[]`` kept, string escapes and number texts kept as written.

Where the Python port differs, and why:

- duplicate object keys: the last one wins (Python's parser); fastjson keeps the first;
- non-string values are written as compact JSON from the parsed document rather than copied from
  the input: numbers keep their source text, and strings inside them are escaped the way the
  document escapes ``<``, ``>`` and ``&`` (``\\u003c`` when the data uses Go's HTML-safe escapes,
  as the Kubernetes API server writes them, raw otherwise), which gives the input's own text for
  the documents these plugins read;
- ``useAsync`` is accepted and ignored (it tunes the Go SDK's extraction thread).

The helpers (:func:`parse`, :func:`document`, :func:`compact`, :func:`pointer`, :func:`indent`)
are shared by the bundled plugins: :func:`document` decodes an event's JSON once for all the
fields of all of them (a bounded cache keyed by the payload, about a host batch of documents:
the host extracts a batch plugin by plugin).
"""

from __future__ import annotations

import json as _json
import re
from dataclasses import dataclass
from typing import Any, Final

from falcoplug.abi.jsontext import orjson_reads_as_standard
from falcoplug.sdk import Event, ExtractPlugin, field, option

try:
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - orjson is a dependency; the standard decoder reads everything
    _orjson_loads = None

# -- parsing and the shared document cache ---------------------------------------------------------------


class JsonFloat(float):
    """A JSON number with a fraction or an exponent that remembers how it was written (``1.50``)."""

    __slots__ = ("text",)
    created = False  # whether any was ever made: until then no value can hold one

    def __new__(cls, text: str) -> JsonFloat:
        obj = float.__new__(cls, text)
        obj.text = text
        JsonFloat.created = True
        return obj

    def __repr__(self) -> str:
        return self.text


MISSING: Final = object()  # a path that leads nowhere
INVALID: Final = object()  # a payload that is not a JSON document
_DECODER: Final = _json.JSONDecoder(parse_float=JsonFloat)
_ENCODE: Final = _json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


# A UTF-16 surrogate escape, with the backslashes before it (an even run escapes itself, not the u)
# and the escape after it, if any: where a surrogate may stand alone.
_SURROGATE: Final = re.compile(r"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})(\\u[0-9a-fA-F]{4})?")


def _fastjson_surrogate(m: re.Match[str]) -> str:
    """fastjson's reading of a surrogate escape: a valid pair is kept; a surrogate followed by
    another escape gives U+FFFD for both (Go's ``utf16.DecodeRune``); a lone one stays as its
    six characters of text (``\\ud800``), so no string holds a lone surrogate that no encoder
    can write."""
    slashes, code, after = m.groups()
    if len(slashes) % 2 == 0:
        return m.group()  # "\\u..." is a backslash then the letter u
    if after is not None:
        first, second = int(code, 16), int(after[2:], 16)
        if 0xD800 <= first < 0xDC00 and 0xDC00 <= second < 0xE000:
            return m.group()
        return slashes[:-1] + "\ufffd"
    return slashes + "\\u" + code


def parse(data: bytes | str) -> Any:
    """The JSON document in ``data``; raises ``ValueError`` (a document nested deeper than
    Python's recursion allows included). As the Go plugins' fastjson reads it: invalid UTF-8
    becomes U+FFFD and a lone surrogate escape stays as its text."""
    text = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else data
    if "\\u" in text:
        text = _SURROGATE.sub(_fastjson_surrogate, text)
    try:
        return _DECODER.decode(text)
    except RecursionError:
        raise ValueError("too big depth for the nested JSON") from None


# The documents of recent payloads. The host extracts a whole batch for one plugin, then the same
# batch for the next (k8saudit, then json), so a cache of the last payload alone misses every time
# and each event was parsed once per plugin. Keyed by the payload's bytes (equal bytes: the same
# document, whichever plugin or batch asks), emptied when it holds _CACHE_ENTRIES documents or
# _CACHE_BYTES of payloads, so memory stays bounded by about a host batch. Threads: dict get, set
# and clear are atomic under the GIL; a race only parses a payload twice. Callers must not change
# a document they get (they are shared).
_CACHE_ENTRIES: Final = 1024
_CACHE_BYTES: Final = 32 << 20
_docs: dict[bytes, Any] = {}
_docs_bytes = 0
# The last payload asked for and its document, as one tuple so that threads always see a matching
# pair: the fields of one event pass the same payload object, found here without hashing it.
_last: tuple[bytes, Any] = (b"\0", INVALID)


def _decode(payload: bytes) -> Any:
    if payload[:1] not in (b"{", b"["):
        return INVALID
    # orjson is 3-5x faster than the standard decoder, and reads the same documents from a text
    # without floats (it gives a float, the number's text lost), numbers of 19 digits or more
    # (past 64 bits, a float) or \u escapes (surrogates are read as fastjson reads them). What it
    # refuses (invalid UTF-8, NaN, depth), the standard decoder reads or refuses as Go does.
    if _orjson_loads is not None and orjson_reads_as_standard(payload):
        try:
            return _orjson_loads(payload)
        except ValueError:
            pass
    try:
        return parse(payload)
    except ValueError:
        return INVALID


def document(payload: bytes) -> Any:
    """The parsed JSON of an event's data, or :data:`INVALID` when it does not start with ``{`` or
    ``[`` or does not parse (cached: the fields of all plugins parse an event once between them)."""
    global _last
    last = _last
    if payload is last[0] or payload == last[0]:
        return last[1]
    # A replay passes views into one reused buffer: the key is the bytes, never the view.
    key = payload if type(payload) is bytes else bytes(payload)
    doc = _docs.get(key, MISSING)
    if doc is MISSING:
        global _asked
        _asked = True
        doc = _decode(key)
        _store(key, doc)
    _last = (key, doc)
    return doc


# Whether fields have asked for documents in this process: until then, nothing is remembered (a
# run that prints nothing extracts nothing, and the documents kept would only cost it their memory
# and the collector's time).
_asked = False


def remember(payload: bytes, doc: Any) -> None:
    """The document of ``payload`` as another reader parsed it (with orjson or :func:`parse`), for
    :func:`document` to find: the k8saudit source parses every event it reads, and the fields of
    the same host batch then need no parse of their own. Kept only when :func:`document` would
    read the payload with orjson, so the two readings are the same document, and once fields have
    asked for a document."""
    if _asked and type(payload) is bytes and orjson_reads_as_standard(payload) and payload not in _docs:
        _store(payload, doc)


def _store(key: bytes, doc: Any) -> None:
    global _docs_bytes
    size = len(key)
    if len(_docs) >= _CACHE_ENTRIES or _docs_bytes + size > _CACHE_BYTES:
        _docs.clear()
        _docs_bytes = 0
    if size <= _CACHE_BYTES:
        _docs[key] = doc
        _docs_bytes += size


# -- writing values as text ------------------------------------------------------------------------------

_HTML: Final = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_HTML_RE: Final = re.compile("[<>&\u2028\u2029]")


def _has_float(value: Any) -> bool:
    t = type(value)
    if t is JsonFloat:
        return True
    if t is dict:
        return any(_has_float(v) for v in value.values())
    if t is list:
        return any(_has_float(v) for v in value)
    return False


def _slow_compact(value: Any) -> str:
    """Compact JSON that writes :class:`JsonFloat` numbers as they were read."""
    t = type(value)
    if t is dict:
        return "{" + ",".join(_ENCODE(k) + ":" + _slow_compact(v) for k, v in value.items()) + "}"
    if t is list:
        return "[" + ",".join(_slow_compact(v) for v in value) + "]"
    if t is JsonFloat:
        return value.text
    return _ENCODE(value)


def compact(value: Any, html: bool = True) -> str:
    """``value`` as compact JSON text (fastjson's ``MarshalTo``): no spaces, keys in document order,
    numbers as written. ``html``: escape ``<``, ``>``, ``&``, U+2028 and U+2029 as Go's
    ``encoding/json`` does (the Kubernetes API server writes audit events that way)."""
    t = type(value)
    if t is int:
        return int.__repr__(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if t is JsonFloat:
        return value.text
    slow = JsonFloat.created and (t is dict or t is list) and _has_float(value)
    text = _slow_compact(value) if slow else _ENCODE(value)
    if html and _HTML_RE.search(text) is not None:
        text = _HTML_RE.sub(lambda m: _HTML[m.group()], text)
    return text


def text_of(value: Any, html: bool = True) -> str:
    """How fastjson-based plugins give a value as a string: a string as it is, else compact JSON."""
    return value if type(value) is str else compact(value, html)


# -- JSON pointers ---------------------------------------------------------------------------------------

_INDEX: Final = re.compile(r"[+-]?[0-9]+\Z")
_POINTERS: dict[str, tuple[str, ...] | None] = {}


def pointer_tokens(ptr: str) -> tuple[str, ...] | None:
    """The reference tokens of a pointer as the official plugin splits it (``None``: empty)."""
    tokens = _POINTERS.get(ptr, MISSING)
    if tokens is MISSING:
        if not ptr:
            tokens = None
        else:
            body = ptr[1:] if ptr[0] == "/" else ptr
            tokens = tuple(t.replace("~1", "/").replace("~0", "~") for t in body.split("/"))
        if len(_POINTERS) > 4096:
            _POINTERS.clear()
        _POINTERS[ptr] = tokens
    return tokens  # type: ignore[return-value]


def array_index(token: str) -> int | None:
    """A token as an array index, as Go's ``strconv.Atoi`` reads it (``None``: not a number)."""
    return int(token) if _INDEX.match(token) else None


def walk(doc: Any, tokens: tuple[str, ...]) -> Any:
    """The value the tokens lead to (fastjson ``Get``), or :data:`MISSING`."""
    node = doc
    for token in tokens:
        t = type(node)
        if t is dict:
            node = node.get(token, MISSING)
            if node is MISSING:
                return MISSING
        elif t is list:
            i = array_index(token)
            if i is None or not 0 <= i < len(node):
                return MISSING
            node = node[i]
        else:
            return MISSING
    return node


def pointer(doc: Any, ptr: str) -> Any:
    """The value at an RFC 6901 pointer (with the official plugin's leniency), or :data:`MISSING`."""
    tokens = pointer_tokens(ptr)
    return MISSING if tokens is None else walk(doc, tokens)


# -- indentation (Go's json.Indent) ----------------------------------------------------------------------

_TOKEN: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[ \t\n\r]+|[^"{}\[\],: \t\n\r]+', re.S)


def indent(text: str, step: str = "  ") -> str:
    """``text`` (valid JSON) re-indented as Go's ``json.Indent(dst, src, "", step)`` does: leading
    whitespace dropped, trailing whitespace kept, everything inside strings and numbers kept."""
    out: list[str] = []
    depth = 0  # indentation depth
    level = 0  # nesting of open brackets
    need = False  # an opening bracket waits for its first element (or its closing bracket)
    done = False  # the top-level value is complete
    for m in _TOKEN.finditer(text):
        tok = m.group()
        c = tok[0]
        if c in " \t\n\r":
            if done:
                out.append(tok)
            continue
        if need and c not in "}]":
            need = False
            depth += 1
            out.append("\n" + step * depth)
        if c in "{[":
            need = True
            level += 1
            out.append(c)
        elif c == ",":
            out.append(",\n" + step * depth)
        elif c == ":":
            out.append(": ")
        elif c in "}]":
            if need:
                need = False
            else:
                depth -= 1
                out.append("\n" + step * depth)
            level -= 1
            out.append(c)
        else:
            out.append(tok)
        if level == 0 and c not in ",:":
            done = True
    return "".join(out)


# -- the plugin ------------------------------------------------------------------------------------------


@dataclass
class JsonConfig:
    use_async: bool = option(
        True, alias="useAsync", title="Use async extraction",
        description="If true then async extraction optimization is enabled (Default: true)",
    )  # fmt: skip


_VALUE_DESC: Final = (
    "Extracts a value from a JSON-encoded input. Syntax is json.value[<json pointer>], where <json pointer> "
    "is a json pointer (see https://datatracker.ietf.org/doc/html/rfc6901)"
)
_HTML_ESCAPES: Final = (b"\\u003c", b"\\u003e", b"\\u0026", b"\\u003C", b"\\u003E")


class JsonPlugin(ExtractPlugin):
    """implements extracting arbitrary fields from inputs formatted as JSON"""

    name = "json"
    version = "0.7.3"
    description = "implements extracting arbitrary fields from inputs formatted as JSON"
    contact = "github.com/falcosecurity/plugins/"
    # As the Go SDK: plugin events (322) of every source.
    extract_event_types = [322]

    def init(self, config: JsonConfig) -> None:
        self.config = config

    @staticmethod
    def _value(payload: bytes, ptr: str) -> str | None:
        doc = document(payload)
        if doc is INVALID:
            return None
        tokens = pointer_tokens(ptr)
        if tokens is None:
            return None
        found = walk(doc, tokens)
        if found is MISSING:
            return None
        if type(found) is str:
            return found
        return compact(found, html=any(e in payload for e in _HTML_ESCAPES))

    @staticmethod
    def _obj(payload: bytes) -> str | None:
        if document(payload) is INVALID:
            return None
        return indent(payload.decode("utf-8", "replace"))

    @staticmethod
    def _rawtime(event: Event) -> str | None:
        return None if document(event.payload) is INVALID else str(event.ts)

    @field("json.value", desc=_VALUE_DESC)
    def json_value(self, event: Event, ptr: str) -> str | None:
        return self._value(event.payload, ptr)

    @field("json.obj", desc="The full json message as a text string.")
    def json_obj(self, event: Event) -> str | None:
        return self._obj(event.payload)

    @field("json.rawtime", desc="The time of the event, identical to evt.rawtime.")
    def json_rawtime(self, event: Event) -> str | None:
        return self._rawtime(event)

    @field("jevt.value", desc="Alias for json.value, provided for backwards compatibility.")
    def jevt_value(self, event: Event, ptr: str) -> str | None:
        return self._value(event.payload, ptr)

    @field("jevt.obj", desc="Alias for json.obj, provided for backwards compatibility.")
    def jevt_obj(self, event: Event) -> str | None:
        return self._obj(event.payload)

    @field("jevt.rawtime", desc="Alias for json.rawtime, provided for backwards compatibility.")
    def jevt_rawtime(self, event: Event) -> str | None:
        return self._rawtime(event)
