"""Loading and registering plugins: libsinsp's rules and messages, on real broken libraries."""

from __future__ import annotations

import json
import logging

import pytest
from cbuild import build_plugin, cstr
from click.testing import CliRunner, Result

from falcoplug.cli.main import main

from falcoplug.errors import ConfigError, PluginError, PluginLoadError
from falcoplug.framework import Inspector, Plugin, PluginManager
from falcoplug.framework.loading import load_backend


def broken(**defines: object) -> str:
    return str(build_plugin("broken_plugin", defines))


def register(**defines: object) -> Plugin:
    return Inspector().register(broken(**defines))


def load_error(**defines: object) -> str:
    with pytest.raises(PluginLoadError) as info:
        register(**defines)
    return str(info.value)


def test_valid_plugin_registers_with_its_info():
    plugin = register()
    assert (plugin.name, plugin.version, plugin.id, plugin.event_source) == ("broken", "0.1.0", 998, "broken")
    assert plugin.capability_names() == ["event sourcing", "field extraction"]
    assert [f.name for f in plugin.fields] == ["broken.value"]
    assert plugin.extract_sources == {"broken"}


def test_missing_library_and_non_elf_file(tmp_path):
    with pytest.raises(PluginLoadError, match=r"cannot load plugin /nope/x.so: can't load plugin dynamic library: .*No such file"):
        Inspector().register("/nope/x.so")
    text = tmp_path / "notelf.so"
    text.write_text("hello")
    with pytest.raises(PluginLoadError, match="can't load plugin dynamic library: .*(invalid ELF header|file too short)"):
        Inspector().register(text)


@pytest.mark.parametrize(
    ("version", "reason"),
    [
        ("2.0.0", "major versions disagree"),
        ("4.0.0", "major versions disagree"),
        ("3.13.0", "framework's minor is less than the requested one"),
        ("3.12.1", "framework's patch is less than the requested one"),
    ],
)
def test_incompatible_api_versions(version, reason):
    assert load_error(API_VERSION=cstr(version)).endswith(
        f"plugin required API version '{version}' not compatible with the framework's API version '3.12.0': {reason}"
    )


@pytest.mark.parametrize("version", ["3.0.0", "3.11.5", "3.12.0", "3.12.0-rc1"])
def test_compatible_api_versions(version):
    assert register(API_VERSION=cstr(version)).required_api_version == version


@pytest.mark.parametrize("version", ["abc", "3.1", ""])
def test_invalid_api_version(version):
    assert load_error(API_VERSION=cstr(version)).endswith(f"plugin provided an invalid required API version: '{version}'")


def test_missing_api_version_symbol_is_checked_first():
    assert load_error(OMIT_get_required_api_version=None).endswith(
        "plugin_get_required_api_version symbol not implemented"
    )


@pytest.mark.parametrize(
    "symbol", ["get_version", "get_name", "get_description", "get_contact", "init", "destroy", "get_last_error"]
)
def test_missing_required_symbols(symbol):
    message = load_error(**{f"OMIT_{symbol}": None})
    assert message.startswith("cannot load plugin ")
    assert message.endswith(f"required symbol not implemented: '{symbol}'")


def test_required_symbols_are_checked_in_libsinsp_order():
    assert load_error(OMIT_get_contact=None, OMIT_get_name=None).endswith("'get_name'")


@pytest.mark.parametrize("version", ["1.x", "banana", "1.2"])
def test_invalid_plugin_version(version):
    assert load_error(PLUGIN_VERSION=cstr(version)).endswith(f"plugin provided an invalid version string: '{version}'")


def test_version_with_suffix_is_accepted():
    assert register(PLUGIN_VERSION=cstr("1.2.3-beta+x")).version == "1.2.3-beta+x"


@pytest.mark.parametrize(
    ("defines", "message"),
    [
        ({"OMIT_next_batch": None}, "must implement all of 'plugin_open', 'plugin_close', and 'plugin_next_batch' (event sourcing)"),
        ({"OMIT_open": None}, "must implement all of 'plugin_open', 'plugin_close', and 'plugin_next_batch' (event sourcing)"),
        ({"OMIT_get_id": None}, "must implement both 'plugin_get_id' and 'plugin_get_event_source' or neither (event sourcing)"),
        ({"OMIT_get_event_source": None}, "must implement both 'plugin_get_id' and 'plugin_get_event_source' or neither (event sourcing)"),
        ({"PLUGIN_ID": 0}, "must implement both 'plugin_get_id' and 'plugin_get_event_source' or neither (event sourcing)"),
        ({"OMIT_get_fields": None}, "must implement both 'plugin_get_fields' and 'plugin_extract_fields' (field extraction)"),
        ({"WITH_ASYNC_HANDLER_ONLY": None}, "must implement both 'plugin_get_async_events' and 'plugin_set_async_event_handler' (async events)"),
        ({"WITH_CAPTURE_OPEN_ONLY": None}, "must implement both 'plugin_capture_open' and 'plugin_capture_close' (capture listening)"),
    ],
)
def test_broken_capabilities(defines, message):
    assert load_error(**defines).endswith(f"broken plugin capabilities: {message}")


def test_several_broken_capabilities_are_joined():
    assert load_error(OMIT_next_batch=None, OMIT_get_fields=None).endswith(
        "broken plugin capabilities: must implement all of 'plugin_open', 'plugin_close', and 'plugin_next_batch' "
        "(event sourcing), must implement both 'plugin_get_fields' and 'plugin_extract_fields' (field extraction)"
    )


def test_get_fields_without_extract_fields_is_no_extraction():
    plugin = register(OMIT_extract_fields=None)
    assert plugin.capability_names() == ["event sourcing"]


def test_no_capability():
    assert load_error(NO_CAPABILITY=None).endswith("plugin does not implement any capability")


def test_metrics_or_set_config_alone_are_no_capability():
    assert load_error(NO_CAPABILITY=None, WITH_METRICS=None, WITH_SET_CONFIG=None).endswith(
        "plugin does not implement any capability"
    )


def test_reserved_syscall_source():
    assert load_error(EVENT_SOURCE=cstr("syscall")).endswith(
        "plugin can't implement the reserved event source 'syscall'"
    )


def test_null_strings_become_empty():
    plugin = register(DESCRIPTION_NULL=None, CONTACT_NULL=None)
    assert (plugin.description, plugin.contact) == ("", "")


def test_non_utf8_name_is_a_clear_error():
    with pytest.raises(PluginError, match="not valid UTF-8"):
        register(NAME_NON_UTF8=None)


# -- get_fields ------------------------------------------------------------------------------------


def fields_error(fields: object) -> str:
    text = fields if isinstance(fields, str) else json.dumps(fields)
    return load_error(FIELDS_JSON=cstr(text))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("not json", "get_fields returned an invalid JSON"),
        ({"name": "a.b"}, "get_fields returned an invalid JSON"),
        ([{"name": "a.b", "desc": "d"}], "field JSON entry has no type"),
        ([{"type": "string", "desc": "d"}], "field JSON entry has no name"),
        ([{"type": "string", "name": "a.b"}], "field JSON entry has no desc"),
        ([{"type": "int", "name": "a.b", "desc": "d"}], "invalid field type int"),
        ([{"type": "string", "name": "a.b", "desc": "d", "isList": "yes"}], "field a.b isList property is not boolean "),
        ([{"type": "string", "name": "a.b", "desc": "d", "addOutput": 1}], "field a.b addOutput property is not boolean "),
        ([{"type": "string", "name": "a.b", "desc": "d", "arg": {"isRequired": True}}],
         "field a.b arg has isRequired true, but none of isKey nor isIndex is true"),
        ([{"type": "string", "name": "a.b", "desc": "d", "arg": {"isKey": "y"}}], "field a.b isKey property is not boolean"),
        ([{"type": "string", "name": "a.b", "desc": "d", "properties": "hidden"}], "field a.b properties property is not array "),
        ([{"type": "string", "name": "a.b", "desc": "d", "properties": [1]}], "field a.b properties value is not string "),
        ([], "plugins with extraction capability must export at least one field"),
    ],
)
def test_bad_fields_json(fields, message):
    assert fields_error(fields) == f"error in plugin broken: {message}"


def test_fields_null():
    assert load_error(FIELDS_NULL=None) == "error in plugin broken: get_fields returned a null string"


def test_every_field_type_and_flag_is_read():
    fields = [
        {"type": t, "name": f"x.{t}", "desc": "d"} for t in ("string", "uint64", "reltime", "abstime", "bool", "ipaddr", "ipnet")
    ] + [
        {"type": "string", "name": "x.l", "desc": "d", "isList": True, "display": "L", "addOutput": True,
         "arg": {"isIndex": True, "isRequired": True}, "properties": ["hidden", "info", "other"]},
    ]  # fmt: skip
    plugin = register(FIELDS_JSON=cstr(json.dumps(fields)))
    assert [f.ftype for f in plugin.fields[:7]] == [9, 8, 20, 21, 25, 40, 41]
    last = plugin.fields[-1]
    assert (last.is_list, last.display, last.add_output, last.arg_index, last.arg_required, last.arg_key) == (
        True, "L", True, True, True, False,
    )  # fmt: skip
    assert last.properties == ("hidden", "info", "other")


def test_extract_sources_include_the_own_source_and_drop_empty_items():
    plugin = register(EXTRACT_EVENT_SOURCES=cstr('["aws", "", "gcp"]'))
    assert plugin.extract_sources == {"aws", "gcp", "broken"}


def test_extract_sources_not_an_array():
    assert load_error(EXTRACT_EVENT_SOURCES=cstr('{"a": 1}')).endswith(
        "'get_extract_event_sources' did not return a json array"
    )


def test_async_events_must_be_an_array():
    assert load_error(WITH_ASYNC=None, ASYNC_EVENTS=cstr("")).endswith(
        "'get_async_events' did not return a json array but it should"
    )
    assert register(WITH_ASYNC=None, ASYNC_EVENTS=cstr("[]")).async_events == frozenset()
    assert register(WITH_ASYNC=None).async_events == {"broken_async"}


# -- init ------------------------------------------------------------------------------------------

SCHEMA = json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": False})


def test_init_schema_validates_the_config():
    plugin = register(INIT_SCHEMA=cstr(SCHEMA))
    with pytest.raises(ConfigError, match=r"^error in plugin broken init config: In <root>, 'n' is a required property$"):
        plugin.init("{}")


def test_init_schema_error_context_names_the_property():
    plugin = register(INIT_SCHEMA=cstr(SCHEMA))
    with pytest.raises(ConfigError, match=r"In <root>\[n\], 'x' is not of type 'integer'"):
        plugin.init('{"n": "x"}')


def test_init_config_not_json():
    plugin = register(INIT_SCHEMA=cstr(SCHEMA))
    with pytest.raises(ConfigError, match="^error in plugin broken: init config is not a valid json$"):
        plugin.init("{nope")


def test_empty_config_becomes_an_empty_object_with_a_schema():
    plugin = register(INIT_SCHEMA=cstr('{"type": "object"}'), INIT_ECHO_CONFIG=None)
    with pytest.raises(PluginError, match=r"could not initialize plugin: config=\{\}$"):
        plugin.init("")


def test_empty_config_stays_empty_without_a_schema():
    plugin = register(INIT_ECHO_CONFIG=None)
    with pytest.raises(PluginError, match=r"could not initialize plugin: config=$"):
        plugin.init("")


def test_mapping_config_is_sent_as_json():
    plugin = register(INIT_ECHO_CONFIG=None)
    with pytest.raises(PluginError, match=r'config=\{"a":1\}$'):
        plugin.init({"a": 1})


@pytest.mark.parametrize(
    ("defines", "message"),
    [
        ({"INIT_SCHEMA": cstr("[1]")}, "error in plugin broken: get_init_schema did not return a json object"),
        ({"INIT_SCHEMA": cstr('{"type":"object"}'), "INIT_SCHEMA_TYPE": 7},
         "error in plugin broken: get_init_schema returned an unknown schema type 7"),
    ],
)
def test_bad_init_schema(defines, message):
    with pytest.raises(ConfigError) as info:
        register(**defines).init("{}")
    assert str(info.value) == message


def test_schema_type_none_skips_validation():
    register(INIT_SCHEMA=cstr("garbage"), INIT_SCHEMA_TYPE=0).init("not json either")


def test_failing_init_reports_the_last_error():
    with pytest.raises(PluginError, match="^could not initialize plugin: init failed on purpose$"):
        register(INIT_FAIL=None).init("")


def test_failing_init_without_state():
    with pytest.raises(PluginError, match="^could not initialize plugin: plugin handle or 'get_last_error' function not defined$"):
        register(INIT_NULL_STATE=None).init("")


def test_init_twice():
    plugin = register()
    plugin.init("")
    with pytest.raises(PluginError, match="^plugin has been initialized twice: broken$"):
        plugin.init("")


def test_capability_before_init():
    with pytest.raises(PluginError, match="^plugin capability used before init: broken$"):
        register().list_open_params()


def test_extract_event_types_default_and_declared():
    plugin = register()
    plugin.init("")
    types = plugin.extract_event_types
    assert types[322] and not types[0]  # only plugin events for a non-syscall source
    syscall_compatible = register(EXTRACT_EVENT_SOURCES=cstr('["syscall"]'), NO_SOURCING=None)
    syscall_compatible.init("")
    assert all(syscall_compatible.extract_event_types[t] for t in (0, 3, 322, 402))
    declared = register(EXTRACT_EVENT_TYPES=None, EXTRACT_EVENT_SOURCES=cstr('["syscall"]'), NO_SOURCING=None)
    declared.init("")
    assert declared.extract_event_types[322] and not declared.extract_event_types[3]


def test_set_config_and_metrics():
    plugin = register(WITH_SET_CONFIG=None, WITH_METRICS=None)
    plugin.init("")
    assert plugin.set_config('{"x":1}') is True
    names = {m.name: m for m in plugin.metrics()}
    assert set(names) == {"broken.next_calls", "broken.ratio"}
    assert names["broken.ratio"].value == 0.5 and names["broken.ratio"].monotonic is False
    failing = register(WITH_SET_CONFIG=None, SET_CONFIG_FAIL=None)
    failing.init("")
    assert failing.set_config("{}") is False
    without = register()
    without.init("")
    assert without.set_config("{}") is False


@pytest.mark.parametrize(
    ("defines", "message"),
    [
        ({"LIST_OPEN_PARAMS_BAD": None}, "error in plugin broken: list_open_params returned a non-array JSON"),
        ({"LIST_OPEN_PARAMS": cstr('[{"desc": "x"}]')}, "error in plugin broken: list_open_params has entry with no value"),
    ],
)
def test_bad_list_open_params(defines, message):
    plugin = register(**defines)
    plugin.init("")
    with pytest.raises(PluginError) as info:
        plugin.list_open_params()
    assert str(info.value) == message


def test_list_open_params():
    plugin = register(LIST_OPEN_PARAMS=cstr('[{"value": "a", "desc": "first"}, {"value": "b;c", "separator": ";"}]'))
    plugin.init("")
    assert plugin.list_open_params() == [
        {"value": "a", "desc": "first", "separator": ""},
        {"value": "b;c", "desc": "", "separator": ";"},
    ]


def test_plugin_logs_reach_python_logging(caplog):
    source = build_plugin("source_plugin")
    with caplog.at_level(logging.DEBUG, logger="falcoplug.plugin"):
        Inspector().load(source, "{}")
    # the test source plugin logs once at init through the owner's log function
    assert any(r.name.startswith("falcoplug.plugin.testsrc") for r in caplog.records)


# -- the plugin manager ----------------------------------------------------------------------------


def test_duplicate_names_and_ids():
    manager = PluginManager()
    manager.add(Plugin(load_backend(broken())))
    with pytest.raises(PluginLoadError, match=r"in inspector: found another plugin with name broken\. Aborting\.$"):
        manager.add(Plugin(load_backend(broken(PLUGIN_VERSION=cstr("0.2.0")))))
    with pytest.raises(PluginLoadError, match=r"in inspector: found another plugin with ID 998\. Aborting\.$"):
        manager.add(Plugin(load_backend(broken(PLUGIN_NAME=cstr("other")))))


def test_several_id0_plugins_and_source_indexes():
    manager = PluginManager()
    manager.add(Plugin(load_backend(broken())))
    manager.add(Plugin(load_backend(broken(PLUGIN_NAME=cstr("b2"), PLUGIN_ID=997))))
    manager.add(Plugin(load_backend(broken(PLUGIN_NAME=cstr("b3"), PLUGIN_ID=996, EVENT_SOURCE=cstr("broken")))))
    manager.add(Plugin(load_backend(broken(PLUGIN_NAME=cstr("e1"), NO_SOURCING=None))))
    manager.add(Plugin(load_backend(broken(PLUGIN_NAME=cstr("e2"), NO_SOURCING=None))))
    assert manager.sources == ["syscall", "broken"]
    assert manager.source_index("broken") == 1
    assert manager.by_id(996).name == "b3"


@pytest.mark.parametrize(
    ("schema", "config", "message"),
    [
        ('{"type": "foo"}', "{}", "get_init_schema did not return a valid json schema"),
        ('{"properties": {"a": {"minimum": "x"}}}', '{"a": 3}', "get_init_schema did not return a valid json schema"),
        ('{"properties": {"a": {"type": "string", "pattern": "("}}}', '{"a": "x"}', "error in plugin broken"),
    ],
)
def test_an_invalid_init_schema_is_a_clear_error(schema, config, message):
    plugin = register(INIT_SCHEMA=cstr(schema))
    with pytest.raises(ConfigError, match=message):
        plugin.init(config)


# -- Falco's checks of a set of plugins (falco::app::actions::init_inspectors) ---------------------


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _extractor(name: str, fields: list[str], sources: str | None = None) -> str:
    """An extraction-only plugin with these string fields (and these extract sources, as JSON)."""
    defines: dict[str, object] = {
        "NO_SOURCING": None,
        "PLUGIN_NAME": cstr(name),
        "FIELDS_JSON": cstr(json.dumps([{"name": f, "type": "string", "desc": f} for f in fields])),
    }
    if sources is not None:
        defines["EXTRACT_EVENT_SOURCES"] = cstr(sources)
    return broken(**defines)


def test_two_plugins_extracting_one_field_for_one_source_are_refused_naming_the_later(tmp_path):
    src, dup = broken(), _extractor("dup", ["broken.value"], '["broken"]')
    result = _cli("run", "-p", src + "||", "-p", dup, "-o", "%broken.value")
    assert result.exit_code == 1
    assert "Plugin 'dup' supports extraction of field 'broken.value' that is overlapping for source 'broken'" in result.output
    result = _cli("run", "-p", dup, "-p", src + "||", "-o", "%broken.value")
    assert "Plugin 'broken' supports extraction of field 'broken.value' that is overlapping for source 'broken'" in result.output


def test_a_plugin_field_shadowing_a_host_field_is_refused():
    shadow = _extractor("shadow", ["evt.num"], '["broken"]')
    result = _cli("run", "-p", broken() + "||", "-p", shadow, "-o", "%evt.num")
    assert result.exit_code == 1
    assert "Plugin 'shadow' supports extraction of field 'evt.num' that is overlapping for source 'broken'" in result.output


def test_the_same_field_for_different_sources_is_not_an_overlap():
    other = _extractor("other", ["broken.value"], '["elsewhere"]')
    host = Inspector()
    host.register(broken())
    host.register(other)
    host.manager.check_overlaps(lambda source: [])  # no exception: "other" extracts from another source
    assert not host.manager.is_used(host.plugins[1])


def test_a_plugin_compatible_with_no_known_source_is_fatal_in_run_and_a_warning_in_inspect():
    lone = _extractor("lone", ["lone.value"], '["nowhere"]')
    result = _cli("run", "-p", broken() + "||", "-p", lone, "-o", "%evt.num")
    assert result.exit_code == 1
    message = "Plugin 'lone' is loaded but unused as not compatible with any known event source"
    assert message in result.output
    result = _cli("inspect", lone)
    assert result.exit_code == 0 and f"warning: {message}" in result.output


def test_syscall_is_always_a_known_source_and_no_sources_means_every_source():
    syscall_only = Inspector().register(_extractor("sys", ["sys.value"], '["syscall"]'))
    anywhere = Inspector().register(_extractor("any", ["any.value"]))
    from falcoplug.framework.manager import is_used

    assert is_used(syscall_only, ["syscall"]) and is_used(anywhere, ["syscall"])
    result = _cli("run", "-p", broken() + "||", "-p", _extractor("sys", ["sys.value"], '["syscall"]'), "-o", "%evt.num")
    assert result.exit_code == 0, result.output


def test_library_path_relative_to_the_working_directory_never_through_the_system_search(tmp_path, monkeypatch):
    import shutil

    from falcoplug.framework.config import load_falco_config

    lib = tmp_path / "work" / "libmine.so"
    lib.parent.mkdir()
    shutil.copy(broken(), lib)
    config = tmp_path / "conf" / "falco.yaml"
    config.parent.mkdir()
    config.write_text("plugins:\n  - {name: broken, library_path: libmine.so}\n  - {name: x, library_path: ./libmine.so}\n")
    monkeypatch.chdir(lib.parent)
    specs = load_falco_config(config).plugins
    assert [s.location for s in specs] == [str(lib), str(lib)]
    monkeypatch.chdir(tmp_path)  # neither Falco's plugins folder, nor here, nor the config's folder
    with pytest.raises(ConfigError, match=r"plugins\[0\]: library_path 'libmine.so' not found \(looked in /usr/share/falco/plugins, "):
        load_falco_config(config)
    config.write_text("plugins:\n  - {name: k8saudit, library_path: libk8saudit.so}\n")
    assert load_falco_config(config).plugins[0].location == "libk8saudit.so"  # the bundled port


def test_rules_validate_refuses_an_unused_plugin_as_falco_V(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("- list: l\n  items: [a]\n")
    result = _cli("rules", "validate", "-r", str(rules), "-p", _extractor("lone", ["lone.value"], '["nowhere"]'))
    assert result.exit_code == 1
    assert "Plugin 'lone' is loaded but unused as not compatible with any known event source" in result.output
