"""The Python SDK: declaring plugins (info, fields, config), the driver every host uses, the source
helpers, and SDK plugins run in-process by the framework."""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from dataclasses import dataclass, field as dc_field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import ClassVar, Optional

import pytest

from falcoplug.abi import constants as abi
from falcoplug.backend import FieldRequest
from falcoplug.errors import ConfigError, PluginError, PluginLoadError
from falcoplug.events import encode_event, encode_plugin_event
from falcoplug.framework import Inspector
from falcoplug.framework.loading import load_backend
from falcoplug.sdk import (
    EOF,
    TIMEOUT,
    AbsTime,
    BatchFullError,
    Event,
    EventWriter,
    ExtractPlugin,
    IterableInstance,
    OpenParam,
    PluginDefinitionError,
    PullInstance,
    PushInstance,
    RelTime,
    SourcePlugin,
    cached_per_event,
    describe,
    field,
    load_plugin_class,
    option,
)
from falcoplug.sdk import constants as sdkc
from falcoplug.sdk.config import ConfigModel
from falcoplug.sdk.driver import PluginDriver
from falcoplug.sdk.fieldtypes import value_type
from falcoplug.sdk.reference import looks_like_python_plugin, parse_ref

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "tests" / "sdk_plugins"
EXAMPLES = ROOT / "examples"
KITCHEN = str(PLUGINS / "kitchen.py")


def request(desc, name: str, key: str | None = None, index: int | None = None) -> FieldRequest:
    specs = desc.extraction.fields
    fid = next(i for i, s in enumerate(specs) if s.name == name)
    return FieldRequest(fid, name, int(specs[fid].ftype), specs[fid].is_list, key, index)


def kitchen_driver(config: str = "") -> PluginDriver:
    driver = PluginDriver(load_plugin_class(KITCHEN))
    assert driver.init(config), driver.last_error
    return driver


# -- the SDK restates a few API numbers: they must agree with abi/ -------------------------------------


def test_constants_agree_with_abi():
    assert sdkc.API_VERSION == abi.API_VERSION_STR
    assert {m.name: m.value for m in sdkc.Rc} == {m.name: m.value for m in abi.Rc}
    assert {m.name: m.value for m in sdkc.FieldType} == {m.name: m.value for m in abi.FieldType}
    assert {v: k.value for k, v in sdkc.FIELD_TYPE_NAMES.items()} == {k: int(v) for k, v in abi.FIELD_TYPE_NAMES.items()}
    assert {m.name: m.value for m in sdkc.Severity} == {m.name: m.value for m in abi.LogSeverity}


# -- identity -------------------------------------------------------------------------------------------


def test_info_is_declared_once_and_described():
    desc = describe(load_plugin_class(KITCHEN))
    info = desc.info
    assert (info.name, info.version, info.id, info.event_source) == ("kitchen", "1.2.3-beta.1", 991, "kitchen")
    assert info.description == "Every feature of the SDK in one plugin"  # from the docstring
    assert info.required_api_version == "3.12.0"
    assert desc.capabilities == ("sourcing", "extraction")


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"version": "1.0"}, "is not a semantic version"),
        ({"version": "x.y.z"}, "is not a semantic version"),
        ({"required_api_version": "2.0.0"}, "not compatible with the SDK's plugin API 3.12.0"),
        ({"required_api_version": "3.13.0"}, "not compatible"),
        ({"event_source": "syscall"}, "event_source 'syscall' is reserved"),
        ({"id": 0}, "id must be an integer from 1"),
        ({"id": "3"}, "id must be an integer from 1"),
        ({"event_source": ""}, "declares no event_source"),
        ({"name": "has space"}, "may only hold letters"),
        ({"contact": 3}, "contact must be a str"),
    ],
)
def test_bad_info_fails_when_the_class_is_defined(attrs, message):
    base = {"name": "p", "version": "0.1.0", "id": 5, "event_source": "src", "open": lambda self, params: None}
    with pytest.raises(PluginDefinitionError, match=message) as info:
        type("Bad", (SourcePlugin,), {**base, **attrs})
    assert "plugin class Bad" in str(info.value)


def test_missing_version_names_the_class():
    with pytest.raises(PluginLoadError, match=r"plugin class NoVersion \(noversion\): declares no version"):
        load_plugin_class(str(PLUGINS / "broken" / "no_version.py"))


def test_a_class_without_name_is_an_intermediate_base():
    class Base(ExtractPlugin):  # no name: not checked until used as a plugin
        contact = "shared"

    with pytest.raises(PluginDefinitionError, match="declares no name"):
        describe(Base)


def test_source_plugin_must_implement_open():
    class NoOpen(SourcePlugin):
        name, version, id, event_source = "noopen", "0.1.0", 5, "x"

    with pytest.raises(PluginDefinitionError, match=r"must implement open\(\)"):
        describe(NoOpen)


# -- fields -------------------------------------------------------------------------------------------


def test_fields_json_follows_the_methods():
    desc = describe(load_plugin_class(KITCHEN))
    fields = {f["name"]: f for f in json.loads(desc.extraction.fields_json)}
    assert list(fields)[:3] == ["kitchen.num", "kitchen.text", "kitchen.even"]  # definition order = field IDs
    assert fields["kitchen.num"] == {
        "type": "uint64", "name": "kitchen.num", "display": "Number", "desc": "The event's index.",
        "properties": ["info"],
    }  # fmt: skip
    assert fields["kitchen.text"]["addOutput"] is True
    types = {n: f["type"] for n, f in fields.items()}
    assert types["kitchen.even"] == "bool"
    assert types["kitchen.when"] == types["kitchen.when_ns"] == "abstime"
    assert types["kitchen.age"] == types["kitchen.age_ns"] == "reltime"
    assert types["kitchen.addr"] == types["kitchen.addr6"] == "ipaddr"
    assert types["kitchen.net"] == "ipnet"
    assert fields["kitchen.list"]["isList"] and fields["kitchen.list"]["type"] == "uint64"
    assert fields["kitchen.addrs"]["isList"] and fields["kitchen.addrs"]["type"] == "ipaddr"
    assert fields["kitchen.key"]["arg"] == {"isRequired": True, "isIndex": False, "isKey": True}
    assert fields["kitchen.idx"]["arg"] == {"isRequired": True, "isIndex": True, "isKey": False}
    assert fields["kitchen.opt"]["arg"] == {"isRequired": False, "isIndex": False, "isKey": True}
    assert fields["kitchen.either"]["arg"] == {"isRequired": True, "isIndex": True, "isKey": True}
    assert "arg" not in fields["kitchen.text"] and "isList" not in fields["kitchen.text"]


@pytest.mark.parametrize(
    ("hint", "ftype", "is_list"),
    [
        (int, "UINT64", False), (str, "STRING", False), (bool, "BOOL", False), (datetime, "ABSTIME", False),
        (timedelta, "RELTIME", False), (AbsTime, "ABSTIME", False), (RelTime, "RELTIME", False),
        (ipaddress.IPv4Address, "IPADDR", False), (ipaddress.IPv4Address | ipaddress.IPv6Address, "IPADDR", False),
        (ipaddress.IPv6Network, "IPNET", False), (Optional[int], "UINT64", False), (list[str], "STRING", True),
        (Optional[list[bool]], "BOOL", True), (tuple[int, ...], "UINT64", True),
    ],
)  # fmt: skip
def test_return_annotations_give_field_types(hint, ftype, is_list):
    vt = value_type(hint)
    assert (vt.ftype.name, vt.is_list) == (ftype, is_list)


def test_a_hint_with_no_field_type_is_a_clear_error():
    with pytest.raises(PluginLoadError, match=r"plugin class BadHint: field bad.ratio: return type float has no field type"):
        describe(load_plugin_class(str(PLUGINS / "broken" / "bad_hint.py")))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("def f(self, event) -> int:\n    'd'\n", None),
        ("def f(self, event):\n    'd'\n", "needs a return annotation"),
        ("def f(self) -> int:\n    'd'\n", r"must take \(self, event\)"),
        ("def f(self, event, arg: float) -> int:\n    'd'\n", "must be int \\(index\\), str \\(key\\)"),
        ("def f(self, event, arg) -> int:\n    'd'\n", "needs a type hint"),
        ("def f(self, event) -> int:\n    pass\n", "no description"),
        ("def f(self, event) -> dict[str, int]:\n    'd'\n", "has no field type"),
    ],
)
def test_field_method_checks(body, message):
    ns: dict = {}
    exec(body, ns)  # noqa: S102 - builds a method with the given signature
    cls = type("P", (ExtractPlugin,), {"name": "p", "version": "0.1.0", "f": field("p.f")(ns["f"])})
    if message is None:
        assert describe(cls).extraction.fields[0].name == "p.f"
    else:
        with pytest.raises(PluginDefinitionError, match=message):
            describe(cls)


def test_duplicate_fields_and_unknown_properties_are_refused():
    def f(self, event: Event) -> int:
        "d"

    dup = type("Dup", (ExtractPlugin,), {"name": "dup", "version": "0.1.0", "a": field("x.y")(f), "b": field("x.y")(f)})
    with pytest.raises(PluginDefinitionError, match="field x.y is declared twice"):
        describe(dup)
    prop = type("Prop", (ExtractPlugin,), {"name": "prop", "version": "0.1.0", "a": field("x.y", properties=["nope"])(f)})
    with pytest.raises(PluginDefinitionError, match="unknown property 'nope'"):
        describe(prop)


def test_fields_are_inherited_and_overridden_in_place():
    class Base(ExtractPlugin):
        @field("b.one")
        def one(self, event: Event) -> int:
            "one"
            return 1

        @field("b.two")
        def two(self, event: Event) -> int:
            "two"
            return 2

    class Child(Base):
        name, version = "child", "0.1.0"

        @field("b.one")
        def one(self, event: Event) -> str:
            "one, as text"
            return "1"

    names = [(s.name, s.ftype.name) for s in describe(Child).extraction.fields]
    assert names == [("b.one", "STRING"), ("b.two", "UINT64")]


def test_extraction_sources_types_and_schema_version():
    class Syscalls(ExtractPlugin):
        name, version = "sys", "0.1.0"
        extract_event_sources = ["syscall"]
        extract_event_types = [3, 2, 3]
        required_event_schema_version = "4.0.0"

        @field("sys.x")
        def x(self, event: Event) -> int:
            "x"
            return len(event.params)

    desc = describe(Syscalls)
    assert desc.extraction.sources_json == '["syscall"]'
    assert desc.extraction.event_types == (2, 3)
    assert {"get_extract_event_sources", "get_extract_event_types", "get_required_event_schema_version"} <= desc.entry_points
    assert "open" not in desc.entry_points and "get_init_schema" not in desc.entry_points


def test_entry_points_are_exactly_the_implemented_capabilities():
    kitchen = describe(load_plugin_class(KITCHEN)).entry_points
    assert {"set_config", "get_metrics", "list_open_params", "event_to_string", "get_init_schema"} <= kitchen
    stats = describe(load_plugin_class(str(EXAMPLES / "dummystats.py"))).entry_points
    assert stats == {
        "get_required_api_version", "get_version", "get_name", "get_description", "get_contact", "init",
        "destroy", "get_last_error", "get_fields", "extract_fields", "get_extract_event_sources",
    }  # fmt: skip


# -- config ---------------------------------------------------------------------------------------------


def test_config_schema_is_generated_with_defaults_and_descriptions():
    schema = json.loads(describe(load_plugin_class(KITCHEN)).init_schema)
    props = schema["properties"]
    assert schema["$schema"].startswith("http://json-schema.org/draft-07")
    assert schema["description"] == "The kitchen sink's configuration."
    assert props["prefix"] == {"type": "string", "description": "What each payload starts with", "minLength": 1, "default": "evt"}
    assert props["count"]["minimum"] == 0 and props["count"]["maximum"] == 100000 and props["count"]["default"] == 10
    assert props["mode"] == {"enum": ["fast", "slow"], "default": "fast"}
    assert props["limits"]["properties"]["high"]["description"] == "The upper bound"
    assert props["limits"]["default"] == {"low": 0, "high": 100}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "default": []}
    assert props["ratio"] == {"type": ["number", "null"], "default": None}
    assert "required" not in schema


def test_config_is_parsed_into_the_dataclass():
    model = load_plugin_class(KITCHEN).config_model()
    cfg = model.parse('{"prefix": "p", "mode": "slow", "limits": {"high": 5}, "tags": ["a"], "ratio": 1}', "kitchen")
    assert (cfg.prefix, cfg.mode.value, cfg.limits.high, cfg.limits.low, cfg.tags, cfg.ratio) == ("p", "slow", 5, 0, ["a"], 1.0)
    assert isinstance(cfg.ratio, float)
    assert model.parse("", "kitchen").prefix == "evt"  # "" means defaults


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"count": -1}', r"invalid config for plugin kitchen: count: -1 is less than the minimum of 0"),
        ('{"limits": {"high": "x"}}', r"limits.high: 'x' is not of type 'integer'"),
        ('{"mode": "medium"}', r"mode: 'medium' is not one of \['fast', 'slow'\]"),
        ("{oops", r"invalid config for plugin kitchen: not valid JSON"),
        ("[1]", r"is not of type 'object'"),
    ],
)
def test_config_errors_name_the_plugin_and_the_key(text, message):
    with pytest.raises(ConfigError, match=message):
        load_plugin_class(KITCHEN).config_model().parse(text, "kitchen")


def test_unknown_config_keys_warn_or_fail():
    warnings: list[str] = []
    load_plugin_class(KITCHEN).config_model().parse('{"prefx": "a", "limits": {"hi": 1}}', "kitchen", warnings.append)
    assert sorted(warnings) == ["unknown key 'limits.hi' ignored", "unknown key 'prefx' ignored"]

    @dataclass
    class Strict:
        forbid_unknown_keys: ClassVar[bool] = True
        a: int = 1

    with pytest.raises(ConfigError, match="Additional properties are not allowed"):
        ConfigModel(Strict).parse('{"b": 1}', "strict")


def test_config_alias_required_keys_and_raw_configs():
    @dataclass
    class Params:
        max_events: int = option(alias="maxEvents", description="how many")
        start: int = 1

    model = ConfigModel(Params, "open params")
    assert model.schema["required"] == ["maxEvents"]
    assert model.parse('{"maxEvents": 3}', "p").max_events == 3
    with pytest.raises(ConfigError, match="invalid open params for plugin p: 'maxEvents' is a required property"):
        model.parse("{}", "p")
    assert ConfigModel(str).parse("anything", "p") == "anything" and ConfigModel(str).schema_json() is None
    assert ConfigModel(dict).parse("", "p") == {}


def test_pydantic_like_models():
    class Model:  # what the SDK uses of a pydantic v2 model
        @classmethod
        def model_json_schema(cls):
            return {"type": "object", "properties": {"a": {"type": "integer"}}}

        @classmethod
        def model_validate_json(cls, text):
            doc = json.loads(text)
            if not isinstance(doc.get("a", 0), int):
                raise ValueError("1 validation error for Model\na\n  Input should be a valid integer")
            return doc

    model = ConfigModel(Model)
    assert model.schema_json() == '{"type":"object","properties":{"a":{"type":"integer"}}}'
    assert model.parse("", "p") == {} and model.parse('{"a": 2}', "p") == {"a": 2}
    with pytest.raises(ConfigError, match="invalid config for plugin p: 1 validation error for Model a Input should"):
        model.parse('{"a": "x"}', "p")


def test_plugins_without_config_accept_any_text():
    stats = load_plugin_class(str(EXAMPLES / "dummystats.py"))
    assert describe(stats).init_schema is None
    driver = PluginDriver(stats)
    assert driver.init("whatever")


# -- the driver: init, errors, sourcing ---------------------------------------------------------------


def test_exceptions_become_failures_with_their_message():
    driver = PluginDriver(load_plugin_class(KITCHEN))
    assert not driver.init('{"fail_in": "init"}')
    assert driver.last_error == "init: RuntimeError: init refused on purpose"
    assert not driver.init('{"count": "x"}')
    assert driver.last_error == "init: invalid config for plugin kitchen: count: 'x' is not of type 'integer'"

    driver = kitchen_driver('{"fail_in": "open"}')
    assert driver.open("f") is None
    assert driver.last_error == "open: FileNotFoundError: cannot open 'f'"


def test_next_batch_statuses():
    driver = kitchen_driver('{"count": 9}')
    inst = driver.open("")
    assert inst.next_batch() == sdkc.Rc.SUCCESS and len(inst.writer) == 7  # batch_capacity
    assert inst.next_batch() == sdkc.Rc.EOF and inst.writer.items == [("evt:7", sdkc.Rc.EOF and 1700000000000007000), ("evt:8", 1700000000000008000)]
    assert inst.next_batch() == sdkc.Rc.EOF and inst.writer.items == []  # EOF sticks
    inst.close()
    assert driver.plugin.closed == 1

    failing = kitchen_driver('{"count": 9, "fail_in": "next_batch"}').open("")
    assert failing.next_batch() == sdkc.Rc.SUCCESS
    assert failing.next_batch() == sdkc.Rc.FAILURE
    assert failing.driver.last_error == "next_batch: RuntimeError: next_batch broke at event 3"

    weird = kitchen_driver('{"fail_in": "bad_status"}').open("")
    assert weird.next_batch() == sdkc.Rc.FAILURE and "expected None, TIMEOUT or EOF" in weird.driver.last_error


def test_success_without_events_is_a_timeout():
    class Quiet(SourcePlugin):
        name, version, id, event_source = "quiet", "0.1.0", 5, "quiet"

        def open(self, params: str) -> PullInstance:
            class Nothing(PullInstance):
                def pull(self):
                    return None

            return Nothing()

    driver = PluginDriver(Quiet)
    assert driver.init("")
    assert driver.open("").next_batch() == sdkc.Rc.TIMEOUT


def test_progress_list_open_params_event_to_string_metrics_set_config():
    driver = kitchen_driver('{"count": 10}')
    inst = driver.open("")
    inst.next_batch()
    assert inst.progress() == (7000, "7 of 10")
    assert json.loads(driver.list_open_params()) == [
        {"value": "5", "desc": "five events"}, {"value": "10"}, {"value": "a;b", "desc": "two", "separator": ";"}
    ]  # fmt: skip
    assert driver.event_to_string(encode_plugin_event(b"evt:4"), 5, "kitchen") == "kitchen event 4"
    assert [(m.name, m.value, m.monotonic) for m in driver.metrics()] == [
        ("events", 7, True), ("temperature", -3, False), ("ratio", 0.5, False)
    ]  # fmt: skip
    assert driver.set_config('{"prefix": "new"}') and driver.plugin.config.prefix == "new"
    assert not driver.set_config('{"prefix": ""}')
    assert "prefix: '' should be non-empty" in driver.last_error
    broken = kitchen_driver('{"fail_in": "progress"}').open("")
    assert broken.progress() == (0, None) and broken.driver.last_error == "get_progress: ValueError: no idea"


# -- extraction -----------------------------------------------------------------------------------------


def test_plan_returns_one_value_per_field_in_one_call():
    driver = kitchen_driver()
    desc = driver.description
    reqs = [request(desc, "kitchen.num"), request(desc, "kitchen.text"), request(desc, "kitchen.even"),
            request(desc, "kitchen.key", key="k"), request(desc, "kitchen.idx", index=4)]  # fmt: skip
    plan = driver.plan(reqs)
    data = encode_plugin_event(b"evt:5")
    assert plan.run(data, data[38:], 1, "kitchen") == (5, "evt:5", False, "k=5", 20)
    assert driver.plugin.parses == 1  # cached_per_event: one decode for all the fields of the event
    plan.run(data, data[38:], 2, "kitchen")
    assert driver.plugin.parses == 2


def test_plan_converts_values_to_what_hosts_read():
    driver = kitchen_driver()
    desc = driver.description
    names = ["kitchen.when", "kitchen.age", "kitchen.addr", "kitchen.net", "kitchen.list", "kitchen.odd", "kitchen.opt", "kitchen.either"]
    reqs = [request(desc, n) for n in names[:-1]] + [request(desc, "kitchen.either", key="x")]
    data = encode_plugin_event(b"evt:4")
    values = driver.plan(reqs).run(data, data[38:], 1, "kitchen")
    assert values == (
        1700000000000004000, 4000000, ipaddress.IPv4Address("10.0.0.4"), ipaddress.IPv6Network("2001:db8::/32"),
        None,  # an empty list is no value, as hosts read it
        None, "none", "str:x",
    )  # fmt: skip
    packed = driver.plan([request(desc, "kitchen.net"), request(desc, "kitchen.addr")], check=False, pack_ips=True)
    data = encode_plugin_event(b"evt:3")
    assert packed.run(data, data[38:], 1, "kitchen") == (bytes([10, 3, 0, 0, 255, 255, 0, 0]), bytes([10, 0, 0, 3]))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("kitchen.boom", "extract_fields: kitchen.boom: ValueError: boom at 3"),
        ("kitchen.wrong", "extract_fields: kitchen.wrong: FieldValueError: expected an int, got str 'not a number'"),
        ("kitchen.negative", "extract_fields: kitchen.negative: FieldValueError: -1 does not fit in an unsigned 64-bit integer"),
    ],
)
def test_extraction_errors_name_the_field(name, message):
    driver = kitchen_driver()
    plan = driver.plan([request(driver.description, "kitchen.num"), request(driver.description, name)])
    data = encode_plugin_event(b"evt:3")
    assert plan.run(data, data[38:], 1, "kitchen") is None
    assert driver.last_error == message


def test_plan_refuses_unknown_fields_and_missing_required_args():
    driver = kitchen_driver()
    with pytest.raises(ValueError, match="has no field 'kitchen.nope' with ID 1"):
        driver.plan([FieldRequest(1, "kitchen.nope", 8)])
    with pytest.raises(ValueError, match="field kitchen.key requires an argument"):
        driver.plan([request(driver.description, "kitchen.key")])


def test_event_view():
    data = encode_plugin_event(b"hello", ts=7, plugin_id=3)
    event = Event(data, 9, "src")
    assert (event.payload, event.ts, event.type, event.plugin_id, event.num, event.source) == (b"hello", 7, 322, 3, 9, "src")
    assert event.is_plugin_event and event.cache == {}
    other = Event(encode_event(3, [b"\x01\x00\x00\x00\x00\x00\x00\x00", b"/etc\0"]), 1)
    assert not other.is_plugin_event and other.params[1] == b"/etc\0" and other.plugin_id is None
    assert other.payload == b""


def test_cached_per_event_caches_for_one_event_only():
    calls = []

    class P:
        @cached_per_event
        def parse(self, event):
            calls.append(event.num)
            return event.num * 2

    p, e1, e2 = P(), Event(encode_plugin_event(b"1"), 1), Event(encode_plugin_event(b"2"), 2)
    assert (p.parse(e1), p.parse(e1), p.parse(e2)) == (2, 2, 4)
    assert calls == [1, 2]


# -- source helpers -------------------------------------------------------------------------------------


def test_event_writer_capacity_and_timestamps():
    w = EventWriter(3)
    w.add(b"a")
    w.add("b", ts=datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc))
    assert w.extend(iter([b"c", b"d", b"e"])) == 1 and w.full and w.remaining == 0
    assert w.items == [b"a", ("b", 1_000_000_000), b"c"]
    with pytest.raises(BatchFullError):
        w.add(b"x")


def test_iterable_instance_takes_batches_and_ends():
    inst = IterableInstance(str(i).encode() for i in range(5))
    w = EventWriter(2)
    assert inst.next_batch(w) is None and w.items == [b"0", b"1"]
    w.items.clear()
    assert inst.next_batch(w) is None and w.items == [b"2", b"3"]
    w.items.clear()
    assert inst.next_batch(w) is EOF and w.items == [b"4"]
    assert inst.next_batch(EventWriter(2)) is EOF


def test_pull_instance_flushes_on_nothing_timeout_and_eof():
    class Counter(PullInstance):
        flush_timeout = 0.05

        def __init__(self, items):
            super().__init__()
            self.items = list(items)

        def pull(self):
            if not self.items:
                return EOF
            item = self.items.pop(0)
            if item == "slow":
                time.sleep(0.06)
            return item

    inst = Counter([b"a", None, b"b", TIMEOUT, "slow", b"c", b"d"])
    w = EventWriter(10)
    assert inst.next_batch(w) is None and w.items == [b"a"]
    w.items.clear()
    assert inst.next_batch(w) is None and w.items == [b"b"]
    w.items.clear()
    assert inst.next_batch(w) is None and w.items == ["slow"]  # the flush timeout ended the batch
    w.items.clear()
    assert inst.next_batch(w) is EOF and w.items == [b"c", b"d"]
    assert inst.next_batch(EventWriter(10)) is EOF


def test_push_instance_waits_drains_and_ends():
    gate = threading.Event()

    def producer(inst: PushInstance) -> None:
        for i in range(5):
            inst.push(str(i).encode(), ts=i)
        gate.wait(5)
        inst.push(b"late")

    inst = PushInstance(producer)
    inst.flush_timeout = 0.01
    w = EventWriter(3)
    deadline = time.monotonic() + 5
    while not w.items and time.monotonic() < deadline:
        inst.next_batch(w)
    assert w.items == [(b"0", 0), (b"1", 1), (b"2", 2)] or len(w.items) < 3
    got = list(w.items)
    while len(got) < 5:
        w.items.clear()
        inst.next_batch(w)
        got += w.items
    assert got == [(str(i).encode(), i) for i in range(5)]
    w.items.clear()
    assert inst.next_batch(w) is TIMEOUT  # nothing within the flush timeout
    gate.set()
    statuses = []
    while not statuses or statuses[-1] is not EOF:
        statuses.append(inst.next_batch(w))
    assert w.items[-1] == b"late"
    inst.close()


def test_push_instance_failure_and_close():
    def broken(inst: PushInstance) -> None:
        inst.push(b"x")
        raise OSError("feed lost")

    inst = PushInstance(broken)
    w = EventWriter(10)
    with pytest.raises(OSError, match="feed lost"):
        for _ in range(100):
            inst.next_batch(w)
    assert b"x" in w.items

    stopped = threading.Event()

    def forever(inst: PushInstance) -> None:
        while not inst.closing.is_set():
            inst.push(b"tick")
        stopped.set()

    inst = PushInstance(forever)
    inst.max_pending = 4
    inst.next_batch(EventWriter(2))
    inst.close()
    assert stopped.wait(5)


# -- logging --------------------------------------------------------------------------------------------


def test_logging_goes_to_the_host_log_function(caplog):
    records: list[tuple[str | None, str, int]] = []
    driver = PluginDriver(load_plugin_class(KITCHEN))
    with caplog.at_level(logging.DEBUG):
        assert driver.init('{"prefix": "z"}', lambda c, m, s: records.append((c, m, s)))
        driver.plugin.log.warning("careful")
        driver.plugin.log.debug("details %d", 3)
    assert (None, "kitchen ready with prefix z", int(sdkc.Severity.INFO)) in records
    assert (None, "module logger works too", int(sdkc.Severity.DEBUG)) in records
    assert (None, "careful", int(sdkc.Severity.WARNING)) in records
    assert (None, "details 3", int(sdkc.Severity.DEBUG)) in records
    assert not [r for r in caplog.records if r.getMessage() == "careful"]  # not printed twice
    driver.destroy()


# -- references -----------------------------------------------------------------------------------------


def test_references():
    assert looks_like_python_plugin("examples/dummy.py") and looks_like_python_plugin("pkg.mod:Cls")
    assert not looks_like_python_plugin("libdummy.so") and not looks_like_python_plugin("/x/lib.so")
    ref = parse_ref("examples/dummy.py:DummyPlugin", ROOT)
    assert ref.file == str(EXAMPLES / "dummy.py") and ref.cls == "DummyPlugin"
    assert parse_ref("a.b:C").module == "a.b"
    assert load_plugin_class(f"{EXAMPLES / 'dummy.py'}:DummyPlugin") is load_plugin_class(str(EXAMPLES / "dummy.py"))
    assert load_plugin_class("falcoplug.sdk.source:SourcePlugin") is SourcePlugin


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("broken/two_plugins.py", r"it defines several plugin classes \(One, Two\); name one as .*two_plugins.py:Class"),
        ("broken/import_error.py", r"ModuleNotFoundError: No module named 'falcoplug_module_that_does_not_exist' \(at .*import_error.py:1\)"),
        ("broken/nothing_here.py", "no such file"),
        ("kitchen.py:Missing", "Missing is not a plugin class"),
    ],
)
def test_reference_errors(location, message):
    with pytest.raises(PluginLoadError, match=f"cannot load plugin .*{message}"):
        load_plugin_class(str(PLUGINS / location))


def test_module_without_plugin_class():
    with pytest.raises(PluginLoadError, match="it defines no plugin class"):
        load_plugin_class("falcoplug.sdk.source")


# -- in-process, through the framework ---------------------------------------------------------------


def test_in_process_dummy_through_the_inspector():
    insp = Inspector()
    dummy = insp.load("examples/dummy.py" if Path("examples/dummy.py").exists() else str(EXAMPLES / "dummy.py"), {"jitter": 0})
    assert (dummy.name, dummy.id, dummy.event_source) == ("dummy", 3, "dummy")
    insp.open("dummy", '{"start": 10, "maxEvents": 5}')
    plan = insp.plan("dummy", ["dummy.value", "dummy.strvalue", "dummy.divisible[3]", "evt.plugininfo", "evt.num"])
    rows, singles = [], []
    for batch in insp.batches():
        for event, row in plan.rows(batch):
            rows.append(row)
            singles.append((event["dummy.value"], event["dummy.divisible[3]"]))
    assert rows == [[v, str(v), int(v % 3 == 0), f'{{"sample": "{v}"}}', v - 10] for v in range(11, 16)]
    assert singles == [(v, int(v % 3 == 0)) for v in range(11, 16)]
    insp.destroy()


def test_in_process_plugin_class_and_errors():
    insp = Inspector()
    plugin = insp.register(load_plugin_class(KITCHEN))
    with pytest.raises(ConfigError, match=r"error in plugin kitchen init config: In <root>\[count\]"):
        plugin.init('{"count": -5}')  # libsinsp's own check of the schema, before the plugin sees it
    insp2 = Inspector()
    with pytest.raises(PluginError, match="could not initialize plugin: init: RuntimeError: init refused on purpose"):
        insp2.load(KITCHEN, {"fail_in": "init"})
    insp3 = Inspector()
    insp3.load(KITCHEN, {"count": 10, "fail_in": "next_batch"})
    insp3.open("kitchen", "")
    with pytest.raises(PluginError, match="next_batch: RuntimeError: next_batch broke at event 3"):
        list(insp3.events())
    insp4 = Inspector()
    insp4.load(KITCHEN, {"fail_in": "bad_payload"})
    insp4.open("kitchen", "")
    with pytest.raises(Exception, match="an event payload must be bytes or str, got int"):
        list(insp4.events())


def test_load_backend_accepts_python_references():
    assert type(load_backend(str(EXAMPLES / "dummy.py"))).__name__ == "InProcessBackend"
    assert type(load_backend(f"{EXAMPLES / 'dummy.py'}:DummyPlugin")).__name__ == "InProcessBackend"
    assert type(load_backend(load_plugin_class(KITCHEN))).__name__ == "InProcessBackend"
    with pytest.raises(PluginLoadError, match="can't load plugin dynamic library"):
        load_backend("/nonexistent/libx.so")


def test_open_params_suggestions_and_metrics_in_process():
    insp = Inspector()
    plugin = insp.load(KITCHEN, {"count": 3})
    assert [p["value"] for p in plugin.list_open_params()] == ["5", "10", "a;b"]
    insp.open("kitchen", "")
    assert len(list(insp.events())) == 3
    assert [(m.name, m.value) for m in plugin.metrics()] == [
        ("kitchen.events", 3), ("kitchen.temperature", -3), ("kitchen.ratio", 0.5)
    ]  # fmt: skip
    assert plugin.set_config({"prefix": "again"})


def test_open_params_as_dataclass():
    driver = PluginDriver(load_plugin_class(str(EXAMPLES / "dummy.py")))
    assert driver.init('{"jitter": 0}')
    assert driver.open('{"maxEvents": -1}') is None
    assert driver.last_error == "open: invalid open params for plugin dummy: maxEvents: -1 is less than the minimum of 0"
    inst = driver.open("")  # defaults: start 1, 20 events
    assert inst.next_batch() == sdkc.Rc.EOF
    assert [p for p, _ in inst.writer.items] == [str(i).encode() for i in range(2, 22)]


def test_open_param_json():
    assert OpenParam("v", "d", ";").to_json() == {"value": "v", "desc": "d", "separator": ";"}
    assert dc_field  # the kitchen plugin imports dataclasses.field next to the SDK's field


def test_in_process_extractors_get_the_payload_objects_the_source_returned():
    made: list[bytes] = []

    class Echo(SourcePlugin, ExtractPlugin):
        name, version, id, event_source = "echo", "0.1.0", 999, "echo"

        def open(self, params: str) -> PullInstance:
            class Numbers(PullInstance):
                def __init__(self) -> None:
                    self.n = 0

                def pull(self):
                    if self.n == 30:
                        return EOF
                    self.n += 1
                    made.append(b"payload %d " % self.n + b"x" * 2000)
                    return made[-1]

            return Numbers()

        @field("echo.same", desc="whether the payload is the object the source made")
        def same(self, event: Event) -> bool:
            return any(event.payload is p for p in made)

        @field("echo.len", desc="the payload's length")
        def length(self, event: Event) -> int:
            return len(event.payload)

    insp = Inspector()
    insp.register(Echo).init("")
    insp.open("echo", "")
    plan = insp.plan("echo", ["echo.same", "echo.len"])
    rows, heads = [], []
    for batch in insp.batches():
        rows += [row for _, row in plan.rows(batch)]
        heads += plan.columns(batch.head(2))[1]  # a cut batch keeps its payload objects too
        singles = [plan.columns(one)[1][0] for one in batch.singles()]  # one-event batches slice theirs
        assert singles == [len(p) for p in made[-len(singles):]]
    assert rows == [[True, len(p)] for p in made] and len(rows) == 30
    assert heads and all(h > 2000 for h in heads)
    insp.destroy()
