"""Conditions (-f), output formats (-o) and Falco rules (-r) over real plugins, from the CLI and the API."""

from __future__ import annotations

import json

import pytest
from cbuild import build_plugin
from click.testing import CliRunner

from falcoplug.cli.main import main
from falcoplug.framework import Inspector
from falcoplug.pipeline import Pipeline, Rules, RuleSettings, RulesError

RULES = """
- required_engine_version: 10
- required_plugin_versions:
    - name: testsrc
      version: 0.2.0
- list: interesting
  items: [v3, v6]
- macro: is_interesting
  condition: ext.str in (interesting)
- rule: Interesting value
  desc: a value we like
  condition: is_interesting and test.value > 0
  output: "interesting value %test.value (str=%ext.str list=%ext.list.str odd=%ext.odd)"
  priority: WARNING
  source: test
  tags: [demo, b]
- rule: Big value
  desc: big
  condition: test.value >= 8
  output: "big %test.value"
  priority: info
  source: test
"""


@pytest.fixture(scope="module")
def libs() -> tuple[str, str]:
    return str(build_plugin("source_plugin")), str(build_plugin("extractor_plugin"))


@pytest.fixture()
def rules_file(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return str(path)


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args))


def test_alerts_text_and_summary(libs, rules_file):
    src, ext = libs
    result = invoke("run", "-p", f"{src}||count=10", "-p", ext, "-r", rules_file)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(": ", 1)[1].split(" (")[0].split(" test_value")[0] for line in lines] == [
        "Warning interesting value 3", "Warning interesting value 6", "Informational big 8", "Informational big 9",
    ]  # fmt: skip
    # addOutput fields of the plugins are appended as Falco's suggested output
    assert lines[0].endswith("odd=odd3) test_value=3 ext_u64=6 ext_str=v3")
    assert "Events processed: 10" in result.stderr and "Events detected: 4" in result.stderr
    assert "   WARNING: 2" in result.stderr and "   Big value: 2" in result.stderr  # Falco's summary words


def test_alerts_json(libs, rules_file):
    src, ext = libs
    result = invoke("run", "-p", f"{src}||count=4", "-p", ext, "-r", rules_file, "--json", "--no-summary")
    (line,) = result.stdout.splitlines()
    alert = json.loads(line)
    assert list(alert) == sorted(alert)
    assert alert["rule"] == "Interesting value" and alert["priority"] == "Warning" and alert["source"] == "test"
    assert alert["tags"] == ["b", "demo"] and alert["time"] == "2023-11-14T22:13:20.000003000Z"
    assert alert["output_fields"]["evt.time"] == 1700000000000003000
    assert alert["output_fields"]["ext.list.str"] == ["a3", "b3"]


def test_priority_and_rule_matching(libs, rules_file):
    src, ext = libs
    only_warnings = invoke("run", "-p", f"{src}||count=10", "-p", ext, "-r", rules_file, "--priority", "warning")
    assert len(only_warnings.stdout.splitlines()) == 2
    config = rules_file.replace("rules.yaml", "falco.yaml")
    with open(config, "w") as f:
        f.write(f"rules_files: [{rules_file}]\npriority: informational\nrule_matching: all\njson_output: true\n"
                f"json_include_tags_property: false\nplugins:\n  - name: testsrc\n    library_path: {src}\n"
                f"    open_params: count=10\n  - name: testext\n    library_path: {ext}\n"
                "append_output:\n  - match: {source: test}\n    extra_output: 'on %evt.source'\n")  # fmt: skip
    result = invoke("run", "-c", config, "--no-summary")
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(alerts) == 4 and all("tags" not in a for a in alerts)
    assert all(" on test" in a["output"] for a in alerts), alerts[0]["output"]


def test_filter_and_format(libs):
    src, ext = libs
    result = invoke("run", "-p", f"{src}||count=10", "-p", ext, "-f", "test.value in (2,4) or ext.str=v9",
                    "-o", "%evt.num %toupper(ext.str) %ext.list.str")  # fmt: skip
    assert result.stdout.splitlines() == ["3 V2 (a2,b2)", "5 V4 (a4,b4)", "10 V9 (a9,b9)"]
    bad = invoke("run", "-p", f"{src}||count=1", "-f", "test.value contains 3")
    assert bad.exit_code == 1 and "falcoplug: error:" in bad.stderr


def test_rule_errors_are_reported(libs, tmp_path):
    src, ext = libs
    bad = tmp_path / "bad.yaml"
    bad.write_text("- rule: r\n  desc: d\n  condition: test.nope = 1\n  output: o\n  priority: INFO\n  source: test\n")
    result = invoke("run", "-p", f"{src}||count=1", "-p", ext, "-r", str(bad))
    assert result.exit_code == 1 and "test.nope" in result.stderr
    validate = invoke("rules", "validate", "-r", str(bad), "-p", src, "-p", ext)
    assert validate.exit_code == 1 and "Invalid" in validate.stdout + validate.stderr


def test_rules_validate_ok_and_plugin_requirements(libs, rules_file):
    src, ext = libs
    ok = invoke("rules", "validate", "-r", rules_file, "-p", src, "-p", ext)
    assert ok.exit_code == 0 and f"{rules_file}: Ok" in ok.stdout
    missing = invoke("rules", "validate", "-r", rules_file, "-p", ext)
    assert missing.exit_code == 1


def test_fields_command(libs):
    src, ext = libs
    result = invoke("fields", "-p", src, "-p", ext, "--json")
    doc = json.loads(result.stdout)
    names = {f["name"] for f in doc["test"]}
    assert {"evt.num", "test.value", "ext.list.str", "ext.key"} <= names
    assert "ext.u64" not in {f["name"] for f in doc["syscall"]}
    text = invoke("fields", "-p", src, "--source", "test").stdout
    assert "Field Class: testsrc (plugin)" in text


def test_python_api(libs, rules_file):
    src, ext = libs
    host = Inspector()
    host.load(src, "{}")
    host.load(ext)
    rules = Rules.load(host, [rules_file], RuleSettings(min_priority="warning"))
    host.open("testsrc", "count=10")
    pipeline = Pipeline(host, rules=rules)
    alerts = [a for batch in host.batches() for a in pipeline.alerts(batch)]
    assert [a.rule.name for a in alerts] == ["Interesting value", "Interesting value"]
    assert pipeline.stats.events == 10 and pipeline.stats.alerts == 2
    with pytest.raises(RulesError):
        Rules.load(host, ["/nope/rules.yaml"])


def test_a_mixed_capture_prints_missing_fields_as_na(libs, tmp_path):
    """Events of another source (here syscall events next to plugin events) print the fields they
    lack as <NA>; the main source's fields must exist."""
    from falcoplug.capture import CaptureWriter
    from falcoplug.events import encode_event, encode_plugin_event

    path = tmp_path / "mixed.scap"
    with CaptureWriter(path) as writer:
        writer.write(encode_event(0, [b"\x01\x00", b"\x07\x00"], ts=5, tid=42))
        writer.write(encode_plugin_event(b"7", ts=6, plugin_id=999))
    src, ext = libs
    result = invoke("run", "-R", str(path), "-p", src, "-o", "*%evt.num %evt.source %test.value")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["1 syscall <NA>", "2 test 7"]
    only = invoke("run", "-R", str(path), "-p", src, "-f", "test.value = 7", "-o", "%evt.num")
    assert only.stdout.splitlines() == ["2"]
    bad = invoke("run", "-R", str(path), "-p", src, "-o", "%evt.num %nope.field")
    assert bad.exit_code == 1 and "nope.field" in bad.stderr


JSON_FORMATS = [
    "*%evt.num %ext.u64 %ext.str %ext.rel %ext.abs %ext.bool %ext.ip4 %ext.ip6 %ext.net %ext.list.u64 %ext.list.str "
    "%ext.list.empty %ext.list.ip %ext.key[a] %ext.idx[2] %ext.opt %ext.odd %test.value %test.str %evt.source",
    "%evt.num %ext.odd %ext.str %ext.odd",  # no '*': events without ext.odd print nothing; a key printed twice
    "*%ext.str literal text %evt.pluginname",
]


@pytest.mark.parametrize("fmt", JSON_FORMATS)
def test_json_lines_of_a_batch_are_those_of_each_event(libs, fmt):
    """``--json`` over C plugins' fields renders whole columns; every line is the one the
    per-event path (``OutputFormat.json_line``) gives."""
    from falcoplug.filter.format import json_object

    src, ext = libs
    host = Inspector()
    host.load(src, "{}")
    host.load(ext)
    host.open("testsrc", "count=12,batch=5")
    pipeline = Pipeline(host, output_format=fmt, as_json=True)
    batches = list(host.batches())
    columnar = [line for batch in batches for line in pipeline.outputs(batch)]
    state = pipeline._state(batches[0].source)
    assert state.render is not None, "the columnar path was not taken"
    output = state.output
    per_event = []
    for batch in batches:
        values = state.groups.values(batch)
        for i in range(len(batch)):
            fields = output.json_line(values.at(i))
            per_event.append(None if fields is None else json_object(fields))
    assert columnar == per_event
    assert any(line is not None for line in columnar)
    if not fmt.startswith("*"):
        assert None in columnar  # ext.odd is missing on even events
