"""The bundled json plugin (a port of the official Go plugin): identity, fields, and every field's
value on the sample audit logs and on crafted payloads of another source.

Expected values are derived from the raw JSON here, with the standard library, not with the
plugin's helpers."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest

from falcoplug.framework import Inspector
from falcoplug.sdk import IterableInstance, SourcePlugin

from shared_data import K8S_AUDIT_DIR

# ../shared/data/k8s_audit, else the copy bundled with the package
DATA = K8S_AUDIT_DIR if K8S_AUDIT_DIR.is_dir() else Path(__file__).resolve().parents[1] / "src/falcoplug/plugins/data/k8s_audit"


class Feed(SourcePlugin):
    """Test source: the open params are a JSON list of payload strings, written as they are."""

    name = "feed"
    version = "0.1.0"
    id = 999001
    event_source = "feed"

    def open(self, params: str) -> IterableInstance:
        payloads = json.loads(params)
        return IterableInstance((p.encode(), 1_700_000_000_000_000_000 + i) for i, p in enumerate(payloads))


def feed_values(payloads: list[str], fields: list[str]) -> list[list[object]]:
    host = Inspector()
    host.load(Feed)
    host.load("json")
    host.open("feed", json.dumps(payloads))
    plan = host.plan("feed", fields)
    rows = [row for batch in host.batches() for _, row in plan.rows(batch)]
    host.destroy()
    return rows


def test_identity_and_fields():
    host = Inspector()
    plugin = host.load("json")
    backend = plugin.backend
    assert (backend.get_name(), backend.get_version()) == ("json", "0.7.3")
    assert backend.get_description() == "implements extracting arbitrary fields from inputs formatted as JSON"
    assert backend.get_contact() == "github.com/falcosecurity/plugins/"
    assert not plugin.has_sourcing and plugin.has_extraction
    fields = json.loads(backend.get_fields())
    assert [f["name"] for f in fields] == [
        "json.value", "json.obj", "json.rawtime", "jevt.value", "jevt.obj", "jevt.rawtime",
    ]  # fmt: skip
    assert all(f["type"] == "string" and not f.get("isList") for f in fields)
    for f in fields:
        if f["name"].endswith(".value"):
            assert f["arg"]["isRequired"] and f["arg"]["isKey"] and not f["arg"]["isIndex"]
        else:
            assert "arg" not in f
    assert fields[0]["desc"].startswith("Extracts a value from a JSON-encoded input. Syntax is json.value[<json pointer>]")
    assert fields[3]["desc"] == "Alias for json.value, provided for backwards compatibility."
    # Compatible with every source (no extract_event_sources), plugin events only.
    assert backend.get_extract_event_sources() is None
    assert backend.get_extract_event_types() == [322]
    schema = json.loads(backend.get_init_schema()[1])
    assert schema["properties"]["useAsync"]["type"] == "boolean"
    host.destroy()


def _pointer_walk(doc, ptr):
    """RFC 6901 by hand (the official plugin's variant: a leading '/' is optional)."""
    if ptr.startswith("/"):
        ptr = ptr[1:]
    node = doc
    for raw in ptr.split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.lstrip("+-").isdigit() and 0 <= int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node if isinstance(node, str) else json.dumps(node, separators=(",", ":"), ensure_ascii=False)


POINTERS = [
    "/stage", "/kind", "/verb", "/user/username", "/user/groups", "/user/groups/0", "/user/groups/9",
    "/objectRef", "/objectRef/resource", "/responseStatus/code", "/responseStatus", "/requestObject/spec/tls",
    "/requestObject/spec/volumes", "/requestObject/spec/containers/0/image",
    "/requestObject/spec/containers/1/securityContext/privileged", "/requestObject/data",
    "/requestObject/ephemeralContainers/0/name", "/annotations/authorization.k8s.io~1decision",
    "/requestReceivedTimestamp", "/sourceIPs", "/nothing/here", "user/username",
]  # fmt: skip


def sample_lines() -> list[tuple[str, str]]:
    out = []
    for path in sorted(glob.glob(str(DATA / "*.json"))):
        for line in Path(path).read_text().splitlines():
            if line.strip():
                out.append((Path(path).name, line))
    return out


def test_every_field_on_the_sample_audit_logs():
    """json.* and jevt.* on every sample event, through the k8saudit source."""
    host = Inspector()
    host.load("k8saudit")
    host.load("json")
    host.open("k8saudit", str(DATA))
    fields = [f"{ns}.value[{p}]" for ns in ("json", "jevt") for p in POINTERS]
    fields += ["json.obj", "jevt.obj", "json.rawtime", "jevt.rawtime", "evt.rawtime", "evt.plugininfo"]
    plan = host.plan("k8s_audit", fields)
    rows = [row for batch in host.batches() for _, row in plan.rows(batch)]
    host.destroy()
    by_text = {line.strip(): line for _, line in sample_lines()}
    assert len(rows) == 51  # 52 sample lines; fal_01_003.json's {"kind": 0} is not an audit event
    n = len(POINTERS)
    for row in rows:
        line = row[-1]  # evt.plugininfo: the event's data, the sample line itself
        assert line in by_text
        doc = json.loads(line)
        expected = [_pointer_walk(doc, p) for p in POINTERS]
        assert row[:n] == expected, line[:80]
        assert row[n : 2 * n] == expected  # the jevt.* aliases
        indented = json.dumps(doc, indent=2, ensure_ascii=False)
        assert row[2 * n] == row[2 * n + 1] == indented
        assert row[2 * n + 2] == row[2 * n + 3] == str(row[2 * n + 4])


@pytest.mark.parametrize(
    ("payload", "pointer", "expected"),
    [
        ('{"value":"hello"}', "/value", "hello"),
        ('{"value":"hello"}', "value", "hello"),  # the leading slash may be left out
        ('{"value":"hel\\"lo\\u00e9"}', "/value", 'hel"loé'),  # a string is unescaped
        ('{"value":""}', "/value", ""),  # an empty string is a value
        ('{"value":null}', "/value", "null"),
        ('{"value":true}', "/value", "true"),
        ('{"value":false}', "/value", "false"),
        ('{"value":1}', "/value", "1"),
        ('{"value":2.50}', "/value", "2.50"),  # numbers keep their text
        ('{"value":-1e5}', "/value", "-1e5"),
        ('{"value": {"a": [1, 2.0, "x"]} }', "/value", '{"a":[1,2.0,"x"]}'),  # compact JSON
        ('{"value":{}}', "/value", "{}"),
        ('{"a/b":{"m~n":7}}', "/a~1b/m~0n", "7"),
        ('{"":{"":3}}', "//", "3"),
        ('{"a":[10,20,30]}', "/a/1", "20"),
        ('{"a":[10,20,30]}', "/a/01", "20"),  # Go's Atoi
        ('{"a":[10,20,30]}', "/a/+2", "30"),
        ('{"a":[10,20,30]}', "/a/3", None),
        ('{"a":[10,20,30]}', "/a/-1", None),
        ('{"a":[10,20,30]}', "/a/x", None),
        ('{"a":1}', "/a/b", None),
        ('{"a":1}', "/b", None),
        ('[1,{"k":"v"}]', "/1/k", "v"),
        ('{"u":"a<b&c"}', "/u", "a<b&c"),
        ('{"u":{"v":"a<b&c"}}', "/u", '{"v":"a<b&c"}'),  # written as the document writes it
        ('{"u":{"v":"a\\u003cb"}}', "/u", '{"v":"a\\u003cb"}'),
        (' {"value":1}', "/value", None),  # the data must start with { or [
        ('"text"', "", None),
        ("{not json", "/a", None),
    ],
)
def test_json_value_semantics(payload, pointer, expected):
    field = f"json.value[{pointer}]" if pointer else "json.value[/]"
    assert feed_values([payload], [field, field.replace("json.", "jevt.")]) == [[expected, expected]]


def test_json_obj_and_rawtime_on_another_source():
    rows = feed_values(
        ['{"a":[1,{"b":null}],"c":{},"d":[],"e":"x\\u003cy"}', "[]", ' {"a":1}', "{bad", '{"n": 1.0}  '],
        ["json.obj", "jevt.obj", "json.rawtime", "jevt.rawtime", "evt.rawtime"],
    )
    obj = '{\n  "a": [\n    1,\n    {\n      "b": null\n    }\n  ],\n  "c": {},\n  "d": [],\n  "e": "x\\u003cy"\n}'
    assert rows[0][:2] == [obj, obj]
    assert rows[0][2] == rows[0][3] == str(rows[0][4]) == "1700000000000000000"
    assert rows[1][:4] == ["[]", "[]", "1700000000000000001", "1700000000000000001"]
    assert rows[2][:4] == [None] * 4  # leading space: not JSON for the plugin
    assert rows[3][:4] == [None] * 4  # not JSON: no value, json.rawtime included
    assert rows[4][:2] == ['{\n  "n": 1.0\n}  '] * 2  # trailing whitespace kept, as Go's Indent


def test_bundled_by_name_and_library_name():
    for location in ("json", "libjson.so", "/usr/share/falco/plugins/libjson.so", "falcoplug.plugins.json"):
        host = Inspector()
        assert host.load(location).name == "json"
        host.destroy()


def test_surrogate_escapes_and_deep_nesting_read_as_fastjson_reads_them():
    rows = feed_values(
        ['{"a":"x\\ud800y","b":"\\ud83d\\ude00","c":"\\ud800\\u0041","d":"\\\\ud800","e":"\\udc00"}',
         "[" * 5000 + "]" * 5000],
        ["json.value[/a]", "json.value[/b]", "json.value[/c]", "json.value[/d]", "json.value[/e]", "json.obj"],
    )  # fmt: skip
    # a lone surrogate stays as its text, a pair is one character, a broken pair one U+FFFD; an
    # escaped backslash before "u" is no escape at all
    assert rows[0][:5] == ["x\\ud800y", "\U0001f600", "\ufffd", "\\ud800", "\\udc00"]
    assert all(isinstance(v, str) and v.encode() for v in rows[0][:5])  # every value can be written
    assert rows[1] == [None] * 6  # nested deeper than Python's parser can go: not JSON, no traceback


def test_document_of_a_reused_buffer_follows_its_content() -> None:
    """A replay hands the plugins views into one reused buffer: the cache must key on the bytes."""
    from falcoplug.plugins import json as jp

    buffer = bytearray(b'{"a":"one"}')
    view = memoryview(buffer)
    assert jp.document(view) == {"a": "one"}
    buffer[6:9] = b"two"
    assert jp.document(view) == {"a": "two"}
    assert jp.document(b'{"a":"one"}') == {"a": "one"}


# -- the orjson fast path reads every payload as the standard decoder does ---------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from falcoplug.plugins import json as json_plugin  # noqa: E402


def _same(a: object, b: object) -> bool:
    """Equal, with the same types all the way down (a JsonFloat is not a float)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))  # type: ignore[arg-type]
    return repr(a) == repr(b)


def _standard(payload: bytes) -> object:
    try:
        return json_plugin.parse(payload)
    except ValueError:
        return json_plugin.INVALID


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(["13:58:49.736141Z", "a: 1.5, b", "\ud800", "x\u2028y", "v1.2e3]"]),
)  # fmt: skip
_documents = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)
_containers = st.one_of(st.lists(_documents, max_size=4), st.dictionaries(st.text(max_size=6), _documents, max_size=4))


@settings(max_examples=300, deadline=None)
@given(doc=_containers, spaced=st.booleans(), ascii_only=st.booleans(), cut=st.integers(min_value=0, max_value=400))
def test_orjson_reads_a_payload_as_the_standard_decoder(doc, spaced, ascii_only, cut):
    separators = (", ", ": ") if spaced else (",", ":")
    text = json.dumps(doc, separators=separators, ensure_ascii=ascii_only)
    payload = text.encode("utf-8", "surrogatepass")
    for data in (payload, payload[:cut] if cut < len(payload) else payload + b" x", payload.replace(b"1", b"1.0", 1)):
        assert _same(json_plugin._decode(data), _standard(data) if data[:1] in (b"{", b"[") else json_plugin.INVALID), data


def test_documents_read_by_orjson_or_not_give_the_same_fields():
    numbers = b'{"a": 1, "f": 1.50, "e": 2E3, "big": 123456789012345678901, "t": "13:58:49.5Z"}'
    doc = json_plugin._decode(numbers)
    assert [type(doc[k]).__name__ for k in ("a", "f", "e", "big", "t")] == ["int", "JsonFloat", "JsonFloat", "int", "str"]
    assert repr(doc["f"]) == "1.50" and doc["big"] == 123456789012345678901
    plain = json_plugin._decode(b'{"t": "13:58:49.5Z", "n": [1, -2]}')
    assert plain == {"t": "13:58:49.5Z", "n": [1, -2]}
    big = json_plugin._decode(b'{"big": 123456789012345678901, "neg": [-9223372036854775809]}')
    assert big == {"big": 123456789012345678901, "neg": [-9223372036854775809]}
    assert type(big["big"]) is int and type(big["neg"][0]) is int
    escaped = json_plugin._decode(b'{"s": "\\ud800 and \\u00e9", "q": "a\\"b"}')
    assert escaped == {"s": "\\ud800 and \u00e9", "q": 'a"b'}


def test_a_remembered_document_is_found_without_a_parse(monkeypatch):
    import orjson

    payload = b'{"kind":"Event","n":[1,2],"remembered":true}'
    doc = orjson.loads(payload)
    monkeypatch.setattr(json_plugin, "_asked", False)
    json_plugin.remember(payload, doc)  # no field has asked for a document yet: nothing kept
    assert payload not in json_plugin._docs
    json_plugin.document(b'{"first":"ask"}')
    json_plugin.remember(payload, doc)
    with monkeypatch.context() as m:
        m.setattr(json_plugin, "_decode", lambda p: pytest.fail("parsed again"))
        assert json_plugin.document(payload) is doc
    floats = b'{"f":1.50,"remembered":true}'
    json_plugin.remember(floats, orjson.loads(floats))  # orjson lost the number's text: not kept
    assert repr(json_plugin.document(floats)["f"]) == "1.50"
