"""Field extraction: every type, lists, arguments, compatibility, one call per event, bad values."""

from __future__ import annotations

import ipaddress

import pytest
from cbuild import build_plugin, cstr

from falcoplug.errors import PluginError
from falcoplug.framework import Inspector
from falcoplug.framework.fields import FieldArgError
from falcoplug.framework.registry import UnknownFieldError


@pytest.fixture()
def host() -> Inspector:
    host = Inspector()
    host.load(str(build_plugin("source_plugin")), "{}")
    host.load(str(build_plugin("extractor_plugin")), "")
    host.open("testsrc", "count=6,batch=4")
    return host


def columns(host: Inspector, fields: list[str]) -> list[list[object]]:
    plan = host.plan("test", fields)
    cols: list[list[object]] = [[] for _ in fields]
    for batch in host.batches():
        for col, values in zip(cols, plan.columns(batch)):
            col.extend(values)
    return cols


def test_every_field_type(host):
    u64, s, rel, abs_, b, ip4, ip6, net = columns(
        host, ["ext.u64", "ext.str", "ext.rel", "ext.abs", "ext.bool", "ext.ip4", "ext.ip6", "ext.net"]
    )
    assert u64 == [0, 2, 4, 6, 8, 10]
    assert s == ["v0", "v1", "v2", "v3", "v4", "v5"]
    assert rel == [n * 1000 for n in range(6)]
    assert abs_ == [1700000000000000000 + n for n in range(6)]
    assert b == [True, False, False, True, False, False]
    assert ip4[3] == ipaddress.IPv4Address("10.0.0.3")
    assert ip6[5] == ipaddress.IPv6Address("2001:db8::5")
    assert net[2] == ipaddress.IPv4Network("192.168.2.0/32")


def test_list_fields(host):
    lu, ls, empty, lip = columns(host, ["ext.list.u64", "ext.list.str", "ext.list.empty", "ext.list.ip"])
    assert lu[1] == [1, 2, 3]
    assert ls[4] == ["a4", "b4"]
    assert empty == [None] * 6  # zero values means no value
    assert all(isinstance(v, list) and len(v) == 2 for v in lip)


def test_arguments(host):
    key, idx, opt_none, opt_key, keyidx_idx, keyidx_key = columns(
        host, ["ext.key[abc]", "ext.idx[10]", "ext.opt", "ext.opt[k]", "ext.keyidx[7]", "ext.keyidx[name]"]
    )
    assert key[2] == "abc=2"
    assert idx[2] == 12
    assert opt_none[0] == "none" and opt_key[0] == "k"
    # a field that takes a key and an index receives both when the argument is a number
    assert keyidx_idx[0] == "7/7" and keyidx_key[0] == "name/-"


def test_no_value_and_failures(host):
    odd, fail, value = columns(host, ["ext.odd", "ext.fail", "test.value"])
    # ext.fail fails the whole extract_fields call for multiples of 5; the host then asks again
    # field by field, so that the other fields keep their values exactly as in libsinsp
    assert odd == [None, "odd1", None, "odd3", None, "odd5"]
    assert fail[0] is None and fail[5] is None and fail[1] == "ok1"
    assert value == [0, 1, 2, 3, 4, 5]


def test_plugin_receives_evtnum_and_source(host):
    num, src = columns(host, ["test.num", "test.src"])
    assert num == [1, 2, 3, 4, 5, 6]
    assert src == ["test"] * 6


def test_per_event_access(host):
    events = list(host.events())
    assert events[3]["ext.list.str"] == ["a3", "b3"]
    assert events[3]["ext.key[zz]"] == "zz=3"
    assert events[3].get("ext.odd") == "odd3"
    assert events[2].get("ext.odd", "-") == "-"


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("ext.key", "filter 'ext.key': ext.key requires an argument but none provided"),
        ("ext.u64[3]", "filter 'ext.u64[3]': ext.u64 does not allow nor require an argument but one is provided: 3"),
        ("ext.idx[01]", "filter ext.idx[01] ext.idx has an invalid index argument starting with 0: 01"),
        ("ext.idx[x]", "filter ext.idx[x] ext.idx has an invalid index argument not composed only by digits: x"),
        ("ext.idx[99999999999999999999]", "not representable on 64 bit"),
        ("ext.idx[3", "filter 'ext.idx[3': ext.idx has unbalanced argument brackets"),
        ("ext.idx[", "filter 'ext.idx[': ext.idx terminates with incomplete argument brackets"),
    ],
)
def test_argument_errors(host, field, message):
    with pytest.raises(FieldArgError) as info:
        host.plan("test", [field])
    assert message in str(info.value)


def test_key_and_index_field_takes_a_non_index_as_key(host):
    (value,) = columns(host, ["ext.keyidx[01]"])
    assert value[0] == "01/-"


def test_unknown_field(host):
    with pytest.raises(UnknownFieldError, match="nonexistent field ext.nope"):
        host.plan("test", ["ext.nope"])


def test_incompatible_source_has_no_fields():
    host = Inspector()
    host.load(str(build_plugin("broken_plugin")), "")
    host.load(str(build_plugin("extractor_plugin")), "")  # extracts from source "test" only
    host.open("broken", "")
    assert not host.resolver("broken").has_field("ext.u64")
    assert host.resolver("test").has_field("ext.u64")


def test_event_types_restrict_extraction():
    host = Inspector()
    host.load(str(build_plugin("broken_plugin", {"ZERO_ID_EMITS_GENERIC": None})), "")
    host.load(str(build_plugin("broken_plugin", {"PLUGIN_NAME": cstr("ex"), "NO_SOURCING": None,
              "EXTRACT_EVENT_SOURCES": cstr('["syscall"]'), "EXTRACT_EVENT_TYPES": None})), "")  # fmt: skip
    host.open("broken", "")
    events = list(host.events())
    # the extractor accepts only 322 events; these are generic syscall events
    assert [e["broken.value"] for e in events] == [None, None]


@pytest.mark.parametrize(
    ("defines", "message"),
    [
        ({"EXTRACT_NULL_STRING": None}, "plugin returned a NULL string for field 'broken.value'"),
        ({"EXTRACT_NON_UTF8": None}, "extracted a string that is not valid UTF-8"),
        ({"EXTRACT_WRONG_COUNT": None}, "plugin returned 3 values for non-list field 'broken.value'"),
    ],
)
def test_garbage_values_are_clear_errors(defines, message):
    host = Inspector()
    host.load(str(build_plugin("broken_plugin", defines)), "")
    host.open("broken", "")
    plan = host.plan("broken", ["broken.value"])
    with pytest.raises(PluginError, match=message):
        for batch in host.batches():
            plan.columns(batch)


def test_extract_failure_means_no_value():
    host = Inspector()
    host.load(str(build_plugin("broken_plugin", {"EXTRACT_FAIL": None})), "")
    host.open("broken", "")
    assert [e["broken.value"] for e in host.events()] == [None, None]


def test_one_extract_call_per_event_per_plugin(host):
    plan = host.plan("test", ["ext.u64", "ext.str", "ext.list.u64", "test.value", "test.str"])
    assert len(plan._extractors) == 2
    assert sorted(len(cols) for _, _, cols, _ in plan._extractors) == [2, 3]


def test_value_offsets(host):
    event = next(iter(host.events()))
    (value, where), (num, none) = host.value_offsets(event, ["test.str", "test.value"])
    assert value == "0" and where == (38, 1)
    assert num == 0 and none == (0, 0)
    assert event.data[where[0] : where[0] + where[1]] == b"0"


def test_fields_of_an_incompatible_plugin_have_no_value():
    """As in libsinsp's sinsp-example, every plugin's fields may be named in an output or a
    condition; on a source the plugin does not extract from they have no value."""
    host = Inspector()
    host.load(str(build_plugin("broken_plugin")), "")
    host.load(str(build_plugin("extractor_plugin")), "")  # extracts from source "test" only
    host.open("broken", "")
    events = list(host.events())
    assert [e["ext.u64"] for e in events] == [None, None]
    assert [e["broken.value"] for e in events] == ["0", "1"]
