"""Reading values out of an audit document, as the Go plugin's ``extract.go`` helpers do."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any, Final

from falcoplug.sdk import Event

from ..json import MISSING, array_index, compact, document, text_of


RO: Final = "requestObject"


# The last payload seen by a field and its audit document (one tuple: threads see a matching pair).
_last_audit: tuple[bytes | None, dict[str, Any] | None] = (None, None)


def _audit(event: Event) -> dict[str, Any] | None:
    """The event's audit document, or ``None`` when it has none (no value for any field)."""
    global _last_audit
    payload = event.payload
    last = _last_audit
    if payload is last[0]:  # the fields of one event share its payload object
        return last[1]
    doc = document(payload)
    audit = doc if type(doc) is dict and "auditID" in doc else None
    _last_audit = (payload, audit)
    return audit


def _get1(node: Any, key: str) -> Any:
    """fastjson ``Get`` of one key: an object member, an array element by decimal index, else missing."""
    t = type(node)
    if t is dict:
        return node.get(key, MISSING)
    if t is list:
        i = array_index(key)
        return node[i] if i is not None and 0 <= i < len(node) else MISSING
    return MISSING


def _get(node: Any, *keys: str) -> Any:
    for key in keys:
        node = node.get(key, MISSING) if type(node) is dict else _get1(node, key)
        if node is MISSING:
            return MISSING
    return node


def _scalar(doc: dict[str, Any] | None, *keys: str) -> str | None:
    """The official ``extractFromKeys`` for a string field."""
    if doc is None:
        return None
    node: Any = doc
    for key in keys:
        node = node.get(key, MISSING) if type(node) is dict else _get1(node, key)
        if node is MISSING:
            return None
    return node if type(node) is str else compact(node)


def _array(doc: dict[str, Any] | None, *keys: str) -> list[str] | None:
    """``extractFromKeys`` for a list field: the value must be an array; each element as text."""
    if doc is None:
        return None
    value = _get(doc, *keys)
    if type(value) is not list:
        return None
    return [text_of(v) for v in value]


def _walk(node: Any, index: int | None, keys: tuple[str, ...], start: int = 0) -> list[Any] | None:
    """The official ``getValuesRecursive``: follow ``keys``; an array met before a key fans out
    over its elements (a missing rest of the path gives a :data:`MISSING` slot) or, with an index,
    takes that element of every array met. ``None``: the path is not available."""
    for i in range(start, len(keys)):
        if type(node) is list:
            if index is None:
                out: list[Any] = []
                for element in node:
                    sub = _walk(element, None, keys, i)
                    if sub is None:
                        out.append(MISSING)
                    else:
                        out += sub
                return out
            if index >= len(node):
                return None
            node = node[index]
        key = keys[i]
        if key:
            node = _get1(node, key)
            if node is MISSING:
                return None
    return [node]


def _skip_nil(values: list[Any] | None) -> list[str] | None:
    if values is None:
        return None
    return [v if type(v) is str else compact(v) for v in values if v is not MISSING]


def _repository(image: str) -> str:
    return image.split(":", 1)[0].split("@", 1)[0]


def _images(doc: dict[str, Any] | None, kind: str, index: int | None) -> list[str] | None:
    """Container images; any selected container without an image means no value (as the official)."""
    if doc is None:
        return None
    values = _walk(doc, index, (RO, "spec", kind, "image"))
    if values is None or any(v is MISSING for v in values):
        return None
    return [text_of(v) for v in values]


def _repos(doc: dict[str, Any] | None, kind: str, index: int | None) -> list[str] | None:
    images = _images(doc, kind, index)
    return None if images is None else [_repository(i) for i in images]


def _per_container(doc: dict[str, Any] | None, kind: str, index: int | None, *keys: str) -> list[str] | None:
    if doc is None:
        return None
    return _skip_nil(_walk(doc, index, (RO, "spec", kind, *keys)))


def _effective(doc: dict[str, Any] | None, kind: str, index: int | None, key: str) -> list[str] | None:
    """The pod's securityContext value (else ``"0"``) overridden by each container's."""
    if doc is None:
        return None
    pod = _get(doc, RO, "spec", "securityContext", key)
    default = "0" if pod is MISSING else text_of(pod)
    containers = _walk(doc, index, (RO, "spec", kind, ""))  # "": the container itself
    if containers is None:
        return None
    values = [_get(c, "securityContext", key) for c in containers]
    return [default if v is MISSING else text_of(v) for v in values]


def _capabilities(doc: dict[str, Any] | None, kind: str, index: int | None) -> list[str] | None:
    if doc is None:
        return None
    values = _walk(doc, index, (RO, "spec", kind, "securityContext", "capabilities", "add"))
    if values is None:
        return None
    out: list[str] = []
    for v in values:
        if type(v) is list:
            out += [text_of(c) for c in v]
        elif v is not MISSING:
            out.append(text_of(v))
    return out


def _host_ports(doc: dict[str, Any] | None, kind: str, index: int | None) -> list[str] | None:
    if doc is None:
        return None
    values = _walk(doc, index, (RO, "spec", kind, "ports"))
    if values is None:
        return None
    out: list[str] = []
    for ports in values:
        if ports is MISSING:
            continue
        if type(ports) is not list:
            return None  # a "ports" that is not an array: the official extraction fails
        for port in ports:
            value = _get1(port, "hostPort")
            if value is MISSING:
                value = _get1(port, "containerPort")
            if value is not MISSING:
                out.append(text_of(value))
    return out


def _rules_field(doc: dict[str, Any] | None, index: int | None, key: str) -> list[str] | None:
    if doc is None:
        return None
    values = _walk(doc, index, (RO, "rules", key))
    if values is None:
        return None
    out: list[str] = []
    for v in values:
        if type(v) is list:
            out += [text_of(x) for x in v]
    return out


def _subject_names(doc: dict[str, Any] | None, kind: str, with_namespace: bool = False) -> list[str] | None:
    if doc is None:
        return None
    subjects = _get(doc, RO, "subjects")
    if type(subjects) is not list:
        return None
    out: list[str] = []
    for subject in subjects:
        if type(subject) is not dict or subject.get("kind") != kind or "name" not in subject:
            continue
        name = text_of(subject["name"])
        if with_namespace:
            ns = subject.get("namespace", "")
            name = f"{text_of(ns)}:{name}"
        out.append(name)
    return out


_ESCAPE_ERROR: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _query_unescape(text: str) -> str | None:
    if _ESCAPE_ERROR.search(text):
        return None
    raw = urllib.parse.unquote_to_bytes(text.replace("+", " "))
    return raw.decode("utf-8", "replace").split("\0", 1)[0]


def uri_param(uri: str, key: str) -> str | None:
    """The first value of a query parameter, as Go's ``url.Parse`` + ``url.ParseQuery`` give it;
    ``None`` when absent or when the URI or its query does not parse."""
    if any(ord(c) < 0x20 or c == "\x7f" for c in uri):
        return None
    rest, _, fragment = uri.partition("#")
    path, _, query = rest.partition("?")
    if _ESCAPE_ERROR.search(path) or _ESCAPE_ERROR.search(fragment):
        return None
    first: str | None = None
    failed = False
    for part in query.split("&"):
        if ";" in part:
            failed = True
            continue
        if not part:
            continue
        k, _, v = part.partition("=")
        k2, v2 = _query_unescape(k), _query_unescape(v)
        if k2 is None or v2 is None:
            failed = True
            continue
        if k2 == key and first is None:
            first = v2
    return None if failed else first
