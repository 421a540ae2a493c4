"""The C test plugins and the C host: every variant builds cleanly, exports what it should, and runs."""

from __future__ import annotations

import ctypes
import json
import os
import re
import subprocess
import time

import pytest

import cbuild
from cbuild import cstr

REQUIRED = {
    "get_required_api_version", "get_version", "get_name", "get_description", "get_contact",
    "init", "destroy", "get_last_error",
}  # fmt: skip
SOURCING = {"get_id", "get_event_source", "open", "close", "next_batch"}
EXTRACTION = {"get_fields", "extract_fields"}
BROKEN_DEFAULT = REQUIRED | SOURCING | EXTRACTION

# id -> (defines, symbols added to BROKEN_DEFAULT, symbols removed from it)
BROKEN_VARIANTS: dict[str, tuple[dict, set[str], set[str]]] = {
    "default": ({}, set(), set()),
    **{
        f"api_{v}": ({"API_VERSION": cstr(v)}, set(), set())
        for v in ["2.0.0", "3.13.0", "3.12.1", "4.0.0", "abc", "3.1", "3.11.5", "3.0.0"]
    },
    "api_null": ({"API_VERSION": "NULL"}, set(), set()),
    **{f"omit_{s}": ({f"OMIT_{s}": None}, set(), {s}) for s in sorted(REQUIRED | SOURCING | EXTRACTION)},
    "version_1.x": ({"PLUGIN_VERSION": cstr("1.x")}, set(), set()),
    "version_banana": ({"PLUGIN_VERSION": cstr("banana")}, set(), set()),
    "version_rc": ({"PLUGIN_VERSION": cstr("1.2.3-rc1")}, set(), set()),
    "version_null": ({"PLUGIN_VERSION": "NULL"}, set(), set()),
    "name_other": ({"PLUGIN_NAME": cstr("other")}, set(), set()),
    "name_null": ({"NAME_NULL": None}, set(), set()),
    "name_non_utf8": ({"NAME_NON_UTF8": None}, set(), set()),
    "description_null": ({"DESCRIPTION_NULL": None}, set(), set()),
    "contact_null": ({"CONTACT_NULL": None}, set(), set()),
    "id_0": ({"PLUGIN_ID": 0}, set(), set()),
    "id_other": ({"PLUGIN_ID": 4242}, set(), set()),
    "source_syscall": ({"EVENT_SOURCE": cstr("syscall")}, set(), set()),
    "source_empty": ({"EVENT_SOURCE": cstr("")}, set(), set()),
    "no_sourcing": ({"NO_SOURCING": None}, set(), SOURCING),
    "no_extraction": ({"NO_EXTRACTION": None}, set(), EXTRACTION),
    "no_capability": ({"NO_CAPABILITY": None}, set(), SOURCING | EXTRACTION),
    "no_capability_metrics_config": (
        {"NO_CAPABILITY": None, "WITH_METRICS": None, "WITH_SET_CONFIG": None},
        {"get_metrics", "set_config"},
        SOURCING | EXTRACTION,
    ),
    "zero_id_emits_322": ({"ZERO_ID_PLUGIN_EMITS_322": None}, set(), set()),
    "zero_id_emits_generic": ({"ZERO_ID_EMITS_GENERIC": None}, set(), set()),
    "with_parse": ({"WITH_PARSE": None}, {"parse_event"}, set()),
    "with_async": ({"WITH_ASYNC": None}, {"get_async_events", "set_async_event_handler"}, set()),
    "with_async_emit": (
        {"WITH_ASYNC": None, "ASYNC_EMIT": None},
        {"get_async_events", "set_async_event_handler"},
        set(),
    ),
    "async_events_empty": (
        {"ASYNC_EVENTS": cstr("")},
        {"get_async_events", "set_async_event_handler"},
        set(),
    ),
    "async_events_null": (
        {"ASYNC_EVENTS": "NULL"},
        {"get_async_events", "set_async_event_handler"},
        set(),
    ),
    "async_handler_only": ({"WITH_ASYNC_HANDLER_ONLY": None}, {"set_async_event_handler"}, set()),
    "with_capture": ({"WITH_CAPTURE": None}, {"capture_open", "capture_close"}, set()),
    "capture_open_only": ({"WITH_CAPTURE_OPEN_ONLY": None}, {"capture_open"}, set()),
    "with_metrics": ({"WITH_METRICS": None}, {"get_metrics"}, set()),
    "with_set_config": ({"WITH_SET_CONFIG": None}, {"set_config"}, set()),
    "set_config_fail": ({"WITH_SET_CONFIG": None, "SET_CONFIG_FAIL": None}, {"set_config"}, set()),
    "event_schema": (
        {"REQUIRED_EVENT_SCHEMA": cstr("4.0.0")},
        {"get_required_event_schema_version"},
        set(),
    ),
    "event_schema_null": ({"REQUIRED_EVENT_SCHEMA": "NULL"}, {"get_required_event_schema_version"}, set()),
    "fields_int": ({"FIELDS_JSON": cstr('[{"type":"int","name":"a.b","desc":"d"}]')}, set(), set()),
    "fields_not_json": ({"FIELDS_JSON": cstr("not json")}, set(), set()),
    "fields_empty": ({"FIELDS_JSON": cstr("[]")}, set(), set()),
    "fields_all_types": (
        {
            "FIELDS_JSON": cstr(
                json.dumps(
                    [
                        {"type": t, "name": f"broken.{t}", "desc": f"a {t}"}
                        for t in ["string", "uint64", "reltime", "abstime", "bool", "ipaddr", "ipnet"]
                    ]
                    + [{"type": "uint64", "name": "broken.list", "desc": "a list", "isList": True}]
                )
            )
        },
        set(),
        set(),
    ),
    "fields_null": ({"FIELDS_NULL": None}, set(), set()),
    "extract_event_types": ({"EXTRACT_EVENT_TYPES": None}, {"get_extract_event_types"}, set()),
    "extract_event_types_null": ({"EXTRACT_EVENT_TYPES_NULL": None}, {"get_extract_event_types"}, set()),
    "extract_event_sources": (
        {"EXTRACT_EVENT_SOURCES": cstr('["syscall","other"]')},
        {"get_extract_event_sources"},
        set(),
    ),
    "extract_null_string": ({"EXTRACT_NULL_STRING": None}, set(), set()),
    "extract_non_utf8": ({"EXTRACT_NON_UTF8": None}, set(), set()),
    "extract_wrong_count": ({"EXTRACT_WRONG_COUNT": None}, set(), set()),
    "extract_fail": ({"EXTRACT_FAIL": None}, set(), set()),
    "init_schema": ({"INIT_SCHEMA": cstr('{"type":"object"}')}, {"get_init_schema"}, set()),
    "init_schema_type_7": (
        {"INIT_SCHEMA": cstr('{"type":"object"}'), "INIT_SCHEMA_TYPE": 7},
        {"get_init_schema"},
        set(),
    ),
    "init_schema_null": ({"INIT_SCHEMA": "NULL"}, {"get_init_schema"}, set()),
    "init_fail": ({"INIT_FAIL": None}, set(), set()),
    "init_null_state": ({"INIT_NULL_STATE": None}, set(), set()),
    "init_echo_config": ({"INIT_ECHO_CONFIG": None}, set(), set()),
    "init_echo_config_schema": (
        {"INIT_ECHO_CONFIG": None, "INIT_SCHEMA": cstr('{"type":"object"}')},
        {"get_init_schema"},
        set(),
    ),
    "open_fail": ({"OPEN_FAIL": None}, set(), set()),
    "next_fail": ({"NEXT_FAIL": None}, set(), set()),
    "zero_batch": ({"ZERO_BATCH": None}, set(), set()),
    "null_evts": ({"NULL_EVTS": None}, set(), set()),
    "evt_wrong_type": ({"EVT_WRONG_TYPE": None}, set(), set()),
    "evt_wrong_id": ({"EVT_WRONG_ID": None}, set(), set()),
    "evt_own_id": ({"EVT_OWN_ID": None}, set(), set()),
    "evt_bad_len": ({"EVT_BAD_LEN": None}, set(), set()),
    "evt_bad_len_2": ({"EVT_BAD_LEN": 2}, set(), set()),
    "evt_nparams3": ({"EVT_NPARAMS3": None}, set(), set()),
    "list_open_params": (
        {"LIST_OPEN_PARAMS": cstr('[{"value":"a","desc":"b"}]')},
        {"list_open_params"},
        set(),
    ),
    "list_open_params_bad": ({"LIST_OPEN_PARAMS_BAD": None}, {"list_open_params"}, set()),
    "list_open_params_fail": ({"LIST_OPEN_PARAMS_FAIL": None}, {"list_open_params"}, set()),
    "progress_null_string": ({"PROGRESS_NULL_STRING": None}, {"get_progress"}, set()),
    "progress_pct": ({"PROGRESS_PCT": 12345}, {"get_progress"}, set()),
    "event_to_string": ({"EVENT_TO_STRING": cstr("text")}, {"event_to_string"}, set()),
    "event_to_string_null": ({"EVENT_TO_STRING": "NULL"}, {"event_to_string"}, set()),
}


def exported_plugin_symbols(lib) -> set[str]:
    out = subprocess.run(["nm", "-D", "--defined-only", str(lib)], capture_output=True, text=True, check=True)
    names = set()
    for line in out.stdout.splitlines():
        parts = line.split()
        if parts and parts[-1].startswith("plugin_"):
            names.add(parts[-1].removeprefix("plugin_"))
    return names


# ---- building ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["source_plugin", "extractor_plugin", "broken_plugin"])
def test_plugins_build_without_warnings(build_plugin, source):
    lib = build_plugin(source)
    assert lib.exists() and lib.parent == cbuild.BUILD_DIR
    assert cbuild.build_log(lib) == ""


def test_c_host_builds_without_warnings(c_host):
    assert os.access(c_host, os.X_OK)
    assert cbuild.build_log(c_host) == ""


def test_source_and_extractor_symbols(source_plugin, extractor_plugin):
    assert exported_plugin_symbols(source_plugin) == REQUIRED | SOURCING | EXTRACTION | {
        "get_init_schema", "list_open_params", "get_progress", "event_to_string",
    }  # fmt: skip
    assert exported_plugin_symbols(extractor_plugin) == REQUIRED | EXTRACTION | {
        "get_extract_event_sources", "get_extract_event_types",
    }  # fmt: skip


@pytest.mark.parametrize("variant", list(BROKEN_VARIANTS))
def test_broken_variant_builds_and_exports(build_plugin, variant):
    defines, added, removed = BROKEN_VARIANTS[variant]
    lib = build_plugin("broken_plugin", **defines)
    assert cbuild.build_log(lib) == "", f"warnings for {variant}"
    assert exported_plugin_symbols(lib) == (BROKEN_DEFAULT | added) - removed


def test_builds_are_cached_per_defines(build_plugin):
    first = build_plugin("broken_plugin", PLUGIN_ID=777)
    mtime = first.stat().st_mtime_ns
    assert build_plugin("broken_plugin", PLUGIN_ID=777) == first
    assert first.stat().st_mtime_ns == mtime
    other = build_plugin("broken_plugin", PLUGIN_ID=778)
    assert other != first and other.exists()
    assert build_plugin("broken_plugin", PLUGIN_ID=777, EVT_OWN_ID=False) == first


def test_build_error_is_reported(tmp_path):
    bad = tmp_path / "bad.c"
    bad.write_text("int f(void) { return undeclared_function(); }\n")
    with pytest.raises(cbuild.BuildError, match="undeclared_function"):
        cbuild.build_shared(bad, "bad", build_dir=tmp_path / "out")
    assert not [p for p in (tmp_path / "out").iterdir() if not p.name.endswith(".lock")]


def test_cstr_round_trips_through_the_compiler(tmp_path):
    text = 'quote " backslash \\ question ?? tab \t newline \n utf8 é byte'
    src = tmp_path / "s.c"
    src.write_text('const char* value(void) { return VALUE; }\n')
    lib = cbuild.build_shared(src, "s", {"VALUE": cstr(text)}, build_dir=tmp_path)
    fn = ctypes.CDLL(str(lib)).value
    fn.restype = ctypes.c_char_p
    assert fn().decode() == text
    assert cbuild.build_log(lib) == ""


# ---- the plugins' text answers (through ctypes) --------------------------------------------------


def _cfunc(lib, name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


def test_json_answers_are_valid(source_plugin, extractor_plugin, broken_plugin):
    src = ctypes.CDLL(str(source_plugin))
    fields = json.loads(_cfunc(src, "plugin_get_fields", ctypes.c_char_p)())
    assert [(f["name"], f["type"]) for f in fields] == [
        ("test.value", "uint64"), ("test.str", "string"), ("test.even", "bool"),
        ("test.ts", "abstime"), ("test.num", "uint64"), ("test.src", "string"),
    ]  # fmt: skip
    schema_type = ctypes.c_int(0)
    schema = json.loads(
        _cfunc(src, "plugin_get_init_schema", ctypes.c_char_p, ctypes.c_void_p)(ctypes.byref(schema_type))
    )
    assert schema_type.value == 1
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"start_ts", "payload_prefix"}
    rc = ctypes.c_int(-5)
    params = json.loads(
        _cfunc(src, "plugin_list_open_params", ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p)(
            None, ctypes.byref(rc)
        )
    )
    assert rc.value == 0 and params[0] == {"value": "count=10", "desc": "ten events"}

    ext = ctypes.CDLL(str(extractor_plugin))
    efields = json.loads(_cfunc(ext, "plugin_get_fields", ctypes.c_char_p)())
    assert len(efields) == 18
    assert {f["type"] for f in efields} == {"string", "uint64", "reltime", "abstime", "bool", "ipaddr", "ipnet"}
    by_name = {f["name"]: f for f in efields}
    assert by_name["ext.key"]["arg"] == {"isKey": True, "isRequired": True}
    assert by_name["ext.idx"]["arg"] == {"isIndex": True, "isRequired": True}
    assert by_name["ext.rel"]["properties"] == ["hidden"]
    assert json.loads(_cfunc(ext, "plugin_get_extract_event_sources", ctypes.c_char_p)()) == ["test"]

    broken = ctypes.CDLL(str(broken_plugin))
    assert json.loads(_cfunc(broken, "plugin_get_fields", ctypes.c_char_p)())[0]["name"] == "broken.value"


def test_source_plugin_progress_and_to_string(source_plugin):
    lib = ctypes.CDLL(str(source_plugin))
    init = _cfunc(lib, "plugin_init", ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
    open_ = _cfunc(lib, "plugin_open", ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)
    next_batch = _cfunc(
        lib, "plugin_next_batch", ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
    )
    progress = _cfunc(
        lib, "plugin_get_progress", ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
    )
    to_string = _cfunc(lib, "plugin_event_to_string", ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p)
    last_error = _cfunc(lib, "plugin_get_last_error", ctypes.c_char_p, ctypes.c_void_p)

    class InitInput(ctypes.Structure):
        _fields_ = [("config", ctypes.c_char_p), ("rest", ctypes.c_void_p * 4)]

    class EventInput(ctypes.Structure):
        _fields_ = [("evt", ctypes.c_void_p), ("evtnum", ctypes.c_uint64), ("evtsrc", ctypes.c_char_p)]

    rc = ctypes.c_int(-5)
    state = init(ctypes.byref(InitInput(b'{"payload_prefix": "x"}')), ctypes.byref(rc))
    assert rc.value == 0 and state
    inst = open_(state, b"count=10,batch=4", ctypes.byref(rc))
    assert rc.value == 0 and inst
    pct = ctypes.c_uint32(99)
    assert progress(state, inst, ctypes.byref(pct)) == b"0/10" and pct.value == 0
    nevts = ctypes.c_uint32()
    evts = ctypes.POINTER(ctypes.c_void_p)()
    assert next_batch(state, inst, ctypes.byref(nevts), ctypes.byref(evts)) == 0 and nevts.value == 4
    assert progress(state, inst, ctypes.byref(pct)) == b"4/10" and pct.value == 4000
    assert to_string(state, ctypes.byref(EventInput(evts[3], 4, b"test"))) == b'{"value": 3}'
    assert ctypes.string_at(evts[3], 40)[38:] == b"x3"

    bad = init(ctypes.byref(InitInput(b'{"nope": 1}')), ctypes.byref(rc))
    assert rc.value == 1 and last_error(bad) == b"config: unknown key 'nope'"
    assert open_(state, b"count=3,color=red", ctypes.byref(rc)) is None and rc.value == 1
    assert b"unknown key 'color'" in last_error(state)
    assert open_(state, b"count=abc", ctypes.byref(rc)) is None and rc.value == 1
    assert b"not a number" in last_error(state)


def _init_and_open(lib):
    init = _cfunc(lib, "plugin_init", ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
    open_ = _cfunc(lib, "plugin_open", ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)
    config = (ctypes.c_void_p * 5)()  # ss_plugin_init_input, all NULL
    rc = ctypes.c_int(-5)
    state = init(config, ctypes.byref(rc))
    assert rc.value == 0 and state
    return state, lambda: open_(state, b"", ctypes.byref(rc))


def test_broken_async_emit(build_plugin):
    lib = ctypes.CDLL(str(build_plugin("broken_plugin", WITH_ASYNC=None, ASYNC_EMIT=None)))
    assert _cfunc(lib, "plugin_get_async_events", ctypes.c_char_p)() == b'["broken_async"]'
    handler_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
    set_handler = _cfunc(
        lib, "plugin_set_async_event_handler", ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, handler_type
    )
    next_batch = _cfunc(
        lib, "plugin_next_batch", ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
    )
    last_error = _cfunc(lib, "plugin_get_last_error", ctypes.c_char_p, ctypes.c_void_p)
    got = []

    def handler(owner, evt, err):
        length = int.from_bytes(ctypes.string_at(evt + 16, 4), "little")
        got.append((owner, ctypes.string_at(evt, length)))
        if len(got) == 2:
            ctypes.memmove(err, b"nope\0", 5)
            return 1
        return 0

    callback = handler_type(handler)
    nevts = ctypes.c_uint32()
    evts = ctypes.c_void_p()
    for attempt in range(2):
        state, open_instance = _init_and_open(lib)
        assert set_handler(state, 1234, callback) == 0
        rc = next_batch(state, open_instance(), ctypes.byref(nevts), ctypes.byref(evts))
        if attempt == 0:
            assert rc == 0 and nevts.value == 2
        else:
            assert rc == 1 and last_error(state) == b"async handler failed: nope"
    expected = (
        b"\xff" * 16 + (60).to_bytes(4, "little") + (402).to_bytes(2, "little") + (3).to_bytes(4, "little")
        + b"".join(n.to_bytes(4, "little") for n in (4, 13, 5, 0)) + b"broken_async\0hello"
    )  # fmt: skip
    assert got == [(1234, expected), (1234, expected)]


def test_broken_metrics(build_plugin):
    class Metric(ctypes.Structure):
        _fields_ = [("name", ctypes.c_char_p), ("type", ctypes.c_int), ("value", ctypes.c_uint64),
                    ("value_type", ctypes.c_int)]  # fmt: skip

    lib = ctypes.CDLL(str(build_plugin("broken_plugin", WITH_METRICS=None)))
    get_metrics = _cfunc(lib, "plugin_get_metrics", ctypes.POINTER(Metric), ctypes.c_void_p, ctypes.c_void_p)
    state, _ = _init_and_open(lib)
    n = ctypes.c_uint32()
    metrics = get_metrics(state, ctypes.byref(n))
    assert n.value == 2 and ctypes.sizeof(Metric) == 32
    assert (metrics[0].name, metrics[0].type, metrics[0].value, metrics[0].value_type) == (b"next_calls", 0, 0, 2)
    ratio = ctypes.cast(ctypes.pointer(ctypes.c_uint64(metrics[1].value)), ctypes.POINTER(ctypes.c_double))
    assert (metrics[1].name, metrics[1].type, ratio[0], metrics[1].value_type) == (b"ratio", 1, 0.5, 4)


# ---- the C host with the source and extractor plugins -----------------------------------------------


def test_c_host_dumps_source_plugin(run_c_host, source_plugin):
    proc = run_c_host(
        "dump", source_plugin, "", "count=5",
        "test.value", "test.str", "test.even", "test.ts", "test.num", "test.src",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 5
    assert lines[0] == (
        "1 1700000000000000000 322 999 30 test.value=0 test.str=0 test.even=true "
        "test.ts=1700000000000000000 test.num=1 test.src=test"
    )
    assert lines[4] == (
        "5 1700000000000004000 322 999 34 test.value=4 test.str=4 test.even=true "
        "test.ts=1700000000000004000 test.num=5 test.src=test"
    )


def test_c_host_source_plugin_config_and_batches(run_c_host, source_plugin):
    proc = run_c_host(
        "dump", source_plugin, '{"start_ts": 5, "payload_prefix": "ab"}',
        "count=12,batch=5,timeouts=3,eof_with_batch=1", "test.value", "test.str",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 12
    assert lines[0] == "1 5 322 999 616230 test.value=0 test.str=ab0"
    assert lines[11] == "12 11005 322 999 61623131 test.value=11 test.str=ab11"


def test_c_host_value_offsets(run_c_host, source_plugin, extractor_plugin):
    proc = run_c_host(
        "dump", source_plugin, '{"payload_prefix": "pp"}', "count=11", "test.str", "test.value", "ext.u64",
        extractors=[(extractor_plugin, "")], offsets=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[10] == "11 1700000000000010000 322 999 70703130 test.str=pp10@38+4 test.value=10@0+0 ext.u64=20@-"


def test_c_host_verbose_shows_plugin_logs(c_host, source_plugin):
    argv = [str(c_host), "dump", str(source_plugin), '{"start_ts": 7}', "count=1"]
    quiet = subprocess.run(argv, capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == ""
    argv.insert(2, "-v")
    loud = subprocess.run(argv, capture_output=True, text=True)
    assert loud.returncode == 0
    assert loud.stderr == "[info] testsrc: initialized: start_ts=7, payload_prefix=''\n"
    assert loud.stdout == quiet.stdout == "1 7 322 999 30\n"


def test_c_host_tsnow(run_c_host, source_plugin):
    before = time.time_ns()
    proc = run_c_host("dump", source_plugin, "", "count=2,tsnow=1", "test.ts")
    after = time.time_ns()
    assert proc.returncode == 0, proc.stderr
    for line in proc.stdout.splitlines():
        ts = int(line.split()[1])
        assert before <= ts <= after
        assert line.endswith(f"test.ts={ts}")


@pytest.mark.parametrize(
    ("params", "events", "error"),
    [
        ("count=5,fail_at=3", 3, "error: next_batch failed: failed at event 3"),
        ("count=5,batch=2,fail_at=3,fail_with_batch=1", 3, "error: next_batch failed: failed at event 3"),
        ("count=5,fail_at=0", 0, "error: next_batch failed: failed at event 0"),
        (
            "count=5,colour=red",
            0,
            "error: cannot open plugin testsrc: open params: unknown key 'colour' (known: count, batch, "
            "timeouts, eof_with_batch, tsnow, fail_at, fail_with_batch)",
        ),
        ("count=5,batch=0", 0, "error: cannot open plugin testsrc: open params: batch must be between 1 and 4294967295"),
        ("count=0", 0, None),
    ],
)
def test_c_host_source_plugin_failures(run_c_host, source_plugin, params, events, error):
    proc = run_c_host("dump", source_plugin, "", params)
    assert len(proc.stdout.splitlines()) == events
    if error is None:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode == 1
        assert proc.stderr.strip() == error


def test_c_host_init_config_error(run_c_host, source_plugin):
    proc = run_c_host("dump", source_plugin, '{"start_ts": "soon"}', "")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: could not initialize plugin testsrc: config: start_ts must be a non-negative integer"


EXT_FIELDS = [
    "ext.u64", "ext.str", "ext.rel", "ext.abs", "ext.bool", "ext.ip4", "ext.ip6", "ext.net",
    "ext.list.u64", "ext.list.str", "ext.list.empty", "ext.list.ip",
    "ext.key[foo]", "ext.idx[7]", "ext.opt", "ext.opt[bar]", "ext.keyidx[3]", "ext.keyidx[x]", "ext.keyidx",
    "ext.odd", "ext.fail",
]  # fmt: skip


def test_c_host_extractor_fields_of_every_type(run_c_host, source_plugin, extractor_plugin):
    proc = run_c_host(
        "dump", source_plugin, "", "count=301,batch=100", "test.value", *EXT_FIELDS,
        extractors=[(extractor_plugin, "")],
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 301
    assert lines[0] == (
        "1 1700000000000000000 322 999 30 test.value=0 ext.u64=0 ext.str=v0 ext.rel=0 "
        "ext.abs=1700000000000000000 ext.bool=true ext.ip4=10.0.0.0 ext.ip6=2001:db8:: ext.net=<IPNET> "
        "ext.list.u64=(0,1,2) ext.list.str=(a0,b0) ext.list.empty=<NA> ext.list.ip=(10.0.0.0,2001:db8::) "
        "ext.key[foo]=foo=0 ext.idx[7]=7 ext.opt=none ext.opt[bar]=bar ext.keyidx[3]=3/3 ext.keyidx[x]=x/- "
        "ext.keyidx=-/- ext.odd=<NA> ext.fail=<NA>"
    )
    assert lines[1] == (
        "2 1700000000000001000 322 999 31 test.value=1 ext.u64=2 ext.str=v1 ext.rel=1000 "
        "ext.abs=1700000000000000001 ext.bool=false ext.ip4=10.0.0.1 ext.ip6=2001:db8::1 ext.net=<IPNET> "
        "ext.list.u64=(1,2,3) ext.list.str=(a1,b1) ext.list.empty=<NA> ext.list.ip=(10.0.0.1,2001:db8::1) "
        "ext.key[foo]=foo=1 ext.idx[7]=8 ext.opt=none ext.opt[bar]=bar ext.keyidx[3]=3/3 ext.keyidx[x]=x/- "
        "ext.keyidx=-/- ext.odd=odd1 ext.fail=ok1"
    )
    assert lines[300] == (
        "301 1700000000000300000 322 999 333030 test.value=300 ext.u64=600 ext.str=v300 ext.rel=300000 "
        "ext.abs=1700000000000000300 ext.bool=true ext.ip4=10.0.0.44 ext.ip6=2001:db8::12c ext.net=<IPNET> "
        "ext.list.u64=(300,301,302) ext.list.str=(a300,b300) ext.list.empty=<NA> "
        "ext.list.ip=(10.0.0.44,2001:db8::12c) ext.key[foo]=foo=300 ext.idx[7]=307 ext.opt=none "
        "ext.opt[bar]=bar ext.keyidx[3]=3/3 ext.keyidx[x]=x/- ext.keyidx=-/- ext.odd=<NA> ext.fail=<NA>"
    )
    # ext.fail fails the whole call for multiples of 5; the host then asks field by field
    assert lines[6].endswith("ext.odd=<NA> ext.fail=ok6")
    assert "ext.u64=10 " in lines[5] and lines[5].endswith("ext.odd=odd5 ext.fail=<NA>")


@pytest.mark.parametrize(
    ("field", "error"),
    [
        ("ext.key", "filter field ext.key requires an argument but none provided"),
        ("ext.u64[1]", "filter field ext.u64 does not allow nor require an argument but one is provided: 1"),
        ("ext.idx[01]", "filter field ext.idx: invalid index argument '01'"),
        ("ext.idx[x", "field ext.idx[x terminates with incomplete argument brackets"),
        ("ext.nope", "unknown field 'ext.nope'"),
    ],
)
def test_c_host_field_argument_errors(run_c_host, source_plugin, extractor_plugin, field, error):
    proc = run_c_host("dump", source_plugin, "", "count=1", field, extractors=[(extractor_plugin, "")])
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"error: {error}"


def test_c_host_bench(run_c_host, source_plugin, extractor_plugin):
    proc = run_c_host(
        "bench", source_plugin, "", "count=200000,batch=50000", "test.value", "ext.str", "ext.list.u64",
        extractors=[(extractor_plugin, "")],
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result) == {"events", "seconds", "events_per_sec", "extract_calls"}
    assert result["events"] == 200000
    assert result["extract_calls"] == 400000  # one call per plugin per event
    assert result["seconds"] > 0 and result["events_per_sec"] > 0


def test_c_host_bench_million_events(run_c_host, source_plugin):
    proc = run_c_host("bench", source_plugin, "", "count=1000000,batch=100000", "test.value")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["events"] == 1000000 and result["extract_calls"] == 1000000


# ---- the C host with broken variants ----------------------------------------------------------------

DEFAULT_LINES = ["1 1000 322 998 30 broken.value=0", "2 2000 322 998 31 broken.value=1"]

# variant -> expected stderr (a regex searched in it), or None for a run that must match DEFAULT_LINES
HOST_OUTCOMES: dict[str, str | None] = {
    "default": None,
    "api_3.11.5": None,
    "api_3.0.0": None,
    "api_2.0.0": r"'2\.0\.0' not compatible .*: major versions disagree",
    "api_4.0.0": r"major versions disagree",
    "api_3.13.0": r"framework's minor is less than the requested one",
    "api_3.12.1": r"framework's patch is less than the requested one",
    "api_abc": r"plugin provided an invalid required API version: 'abc'",
    "api_3.1": r"plugin provided an invalid required API version: '3\.1'",
    "api_null": r"plugin provided an invalid required API version: ''",
    **{
        f"omit_{s}": rf"required symbol not implemented: '{s}'"
        for s in ["get_required_api_version", "get_version", "get_name", "get_description", "get_contact",
                  "init", "destroy", "get_last_error"]
    },  # fmt: skip
    "version_1.x": r"invalid version string: '1\.x'",
    "version_banana": r"invalid version string: 'banana'",
    "version_null": r"invalid version string: ''",
    "version_rc": None,
    "omit_open": r"broken plugin capabilities",
    "omit_close": r"broken plugin capabilities",
    "omit_next_batch": r"broken plugin capabilities",
    "omit_get_id": r"must implement both 'plugin_get_id' and 'plugin_get_event_source'",
    "omit_get_event_source": r"must implement both",
    "id_0": r"must implement both",
    "source_empty": r"must implement both",
    "source_syscall": r"reserved event source 'syscall'",
    "omit_get_fields": r"broken plugin capabilities: must implement 'plugin_get_fields'",
    "omit_extract_fields": r"unknown field 'broken\.value'",
    "no_sourcing": r"has not event sourcing capabilities",
    "no_capability": r"has not event sourcing capabilities",
    "fields_null": r"get_fields returned a null string",
    "fields_not_json": r"'get_fields' returned invalid JSON",
    "fields_int": r"invalid field type int",
    "fields_empty": r"must export at least one field",
    "init_fail": r"^error: could not initialize plugin broken: init failed on purpose$",
    "init_null_state": r"plugin handle or 'get_last_error' function not defined",
    "init_echo_config": r"^error: could not initialize plugin broken: config=$",
    "init_echo_config_schema": r"^error: could not initialize plugin broken: config=\{\}$",
    "init_schema_type_7": r"get_init_schema returned an unknown schema type 7",
    "init_schema": None,
    "init_schema_null": None,
    "open_fail": r"^error: cannot open plugin broken: cannot open on purpose$",
    "next_fail": r"^error: next_batch failed: next failed on purpose$",
    "zero_batch": r"unexpected 0 size event returned by plugin broken",
    "null_evts": r"returned 1 events in a NULL batch",
    "evt_wrong_type": r"malformed plugin event produced by plugin: 'broken'",
    "evt_nparams3": r"malformed plugin event produced by plugin: 'broken'",
    "evt_bad_len": r"len 20 is smaller than the event header",
    "evt_bad_len_2": r"malformed plugin event produced by plugin: 'broken' \(parameter lengths",
    "evt_wrong_id": r"unexpected plugin ID in plugin event: plugin='broken', expected_id=998, actual_id=12345",
    "evt_own_id": None,
    "zero_id_emits_322": r"malformed plugin event produced by plugin \(no ID\): 'broken'",
    "extract_null_string": r"returned a NULL string for field broken\.value",
    "extract_wrong_count": r"returned 3 values for the non-list field broken\.value",
    "extract_event_types": None,
    "extract_event_sources": None,
    "with_metrics": None,
    "with_async": None,
    "with_capture": None,
}


@pytest.mark.parametrize("variant", list(HOST_OUTCOMES))
def test_c_host_with_broken_variants(build_plugin, run_c_host, variant):
    defines, _, _ = BROKEN_VARIANTS[variant]
    lib = build_plugin("broken_plugin", **defines)
    proc = run_c_host("dump", lib, "", "", "broken.value")
    expected = HOST_OUTCOMES[variant]
    if expected is None:
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == DEFAULT_LINES
    else:
        assert proc.returncode == 1, proc.stdout
        assert re.search(expected, proc.stderr.strip()), proc.stderr
        assert proc.stderr.startswith("error: ")


def test_c_host_next_fail_delivers_first_batch(build_plugin, run_c_host):
    proc = run_c_host("dump", build_plugin("broken_plugin", NEXT_FAIL=None), "", "", "broken.value")
    assert proc.stdout.splitlines() == DEFAULT_LINES and proc.returncode == 1


def test_c_host_broken_extract_values(build_plugin, run_c_host):
    proc = run_c_host("dump", build_plugin("broken_plugin", EXTRACT_FAIL=None), "", "", "broken.value")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [line[:-1] + "<NA>" for line in DEFAULT_LINES]

    lib = build_plugin("broken_plugin", EXTRACT_NON_UTF8=None)
    raw = subprocess.run([str(cbuild.build_c_host()), "dump", str(lib), "", "", "broken.value"], capture_output=True)
    assert raw.returncode == 0
    assert raw.stdout.splitlines()[0] == b"1 1000 322 998 30 broken.value=\xff\xfe"


def test_c_host_broken_fields_of_all_types(build_plugin, run_c_host):
    defines, _, _ = BROKEN_VARIANTS["fields_all_types"]
    lib = build_plugin("broken_plugin", **defines)
    names = ["broken." + t for t in ["string", "uint64", "reltime", "abstime", "bool", "ipaddr", "ipnet"]]
    proc = run_c_host("dump", lib, "", "", *names, "broken.list")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1] == (
        "2 2000 322 998 31 broken.string=1 broken.uint64=1 broken.reltime=1 broken.abstime=1 "
        "broken.bool=true broken.ipaddr=10.0.0.1 broken.ipnet=<IPNET> broken.list=(1)"
    )


def test_c_host_zero_id_plugin_emits_syscall_events(build_plugin, run_c_host):
    proc = run_c_host("dump", build_plugin("broken_plugin", ZERO_ID_EMITS_GENERIC=None), "", "", "broken.value")
    assert proc.returncode == 0, proc.stderr
    # GENERIC_E: lengths 2,2 then ID 1+i and nativeID 100+i (u16 little endian); tid and plugin_id untouched
    assert proc.stdout.splitlines() == [
        "1 1000 0 0 0200020001006400 broken.value=<NA>",
        "2 2000 0 0 0200020002006500 broken.value=<NA>",
    ]


def test_c_host_usage(c_host):
    proc = subprocess.run([str(c_host)], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("usage: host dump|bench")
    proc = subprocess.run([str(c_host), "dump", "/nonexistent.so", "", ""], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: can't load plugin dynamic library: /nonexistent.so")
