"""``falcoplug falco``: Falco 0.44's command line, flag by flag, side by side with the real Falco
(``../shared/peers/bin/falco`` with the official Go plugins; those tests skip without them), and
on the bundled plugins where no peer is needed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from falcoplug.cli.main import main as falcoplug_main
from falcoplug.falco.cli import main
from falcoplug.falco.config import FalcoConfig, apply_override, parse_override
from falcoplug.falco.errors import FalcoError
from falcoplug.falco.listing import wrap_text

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("FALCOPLUG_SHARED", REPO.parent / "shared"))
PEERS = SHARED / "peers"
FALCO = PEERS / "bin" / "falco"
GO = PEERS / "plugins" / "go"
K8S_RULES = SHARED / "data" / "rules" / "k8s_audit_rules.yaml"
CAPTURE = PEERS / "captures" / "go_k8saudit.scap"
AUDIT = SHARED / "data" / "k8s_audit" / "create_configmap.json"
BUNDLED_AUDIT = REPO / "src" / "falcoplug" / "plugins" / "data" / "k8s_audit"

needs_falco = pytest.mark.skipif(
    not (FALCO.exists() and (GO / "libk8saudit.so").exists() and K8S_RULES.exists()),
    reason="the real Falco and Go plugins (../shared/peers) are not here",
)

RULE = """
- rule: Every audit event
  desc: every k8s audit event [tests]
  condition: ka.verb exists
  output: "verb=%ka.verb user=%ka.user.name"
  priority: WARNING
  source: k8s_audit
  tags: [t1]
"""


def ours(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(args))
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def theirs(*args: str) -> tuple[int, str, str]:
    proc = subprocess.run([str(FALCO), *args], capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def go_config(tmp_path: Path) -> Path:
    config = tmp_path / "falco.yaml"
    config.write_text(
        "plugins:\n"
        f"  - {{name: k8saudit, library_path: {GO / 'libk8saudit.so'}, init_config: '', open_params: {AUDIT}}}\n"
        f"  - {{name: json, library_path: {GO / 'libjson.so'}, init_config: ''}}\n"
        "load_plugins: [k8saudit, json]\nstdout_output: {enabled: true}\n"
    )
    (tmp_path / "rules.yaml").write_text(RULE)
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "rules.d" / "b.yaml").write_text(RULE.replace("Every audit event", "Second"))
    (tmp_path / "rules.d" / "a.yml").write_text(RULE)
    (tmp_path / "rules.d" / "ignored.txt").write_text("not rules")
    return config


@pytest.fixture
def bundled_config(tmp_path: Path) -> Path:
    config = tmp_path / "bundled.yaml"
    config.write_text(
        "plugins:\n"
        f"  - {{name: k8saudit, library_path: k8saudit, open_params: {BUNDLED_AUDIT / 'create_configmap.json'}}}\n"
        "  - {name: json, library_path: json}\n"
        "stdout_output: {enabled: true}\n"
    )
    (tmp_path / "rules.yaml").write_text(RULE)
    return config


# -- side by side with the real Falco --------------------------------------------------------------
SAME_STDOUT = [
    ["-r", "{rules}", "--disable-source=syscall", "-o", "json_output=true"],
    ["-r", "{k8s}", "--enable-source=k8s_audit", "-o", "json_output=true", "-o", "rule_matching=all"],
    ["-r", "{k8s}", "-o", "engine.kind=replay", "-o", "engine.replay.capture_file={capture}",
     "-o", "priority=warning", "-o", "time_format_iso_8601=true", "-o", "json_output=true"],
    ["-r", "{rules}", "--disable-source=syscall", "-o", "json_output=true",
     "-o", 'append_output[]={"match": {"source": "k8s_audit"}, "extra_output": "X=%ka.uri"}'],
    ["-r", "{rules}", "--disable-source=syscall", "-p", "P=%ka.verb", "-o", "time_format_iso_8601=true"],
    ["-r", "{rules}", "--disable-source=syscall", "-o", "json_output=true", "-o", "json_include_output_property=false",
     "-o", "json_include_tags_property=false", "-o", "json_include_message_property=true",
     "-o", "json_include_output_fields_property=false"],
    ["-r", "{tmp}/rules.d", "--disable-source=syscall", "-U", "-o", "rule_matching=all"],  # a folder of rules
    ["-r", "{k8s}", "-L"],
    ["-r", "{k8s}", "-l", "K8s ConfigMap Created"],
    ["--list=k8s_audit", "-N"],
    ["--list"],  # every source's classes, syscall included, byte for byte
    ["--list=syscall"],
    ["--list=k8s_audit"],
    ["--list-plugins"],
    ["--plugin-info", "k8saudit"],
    ["-V", "{k8s}"],
    ["-r", "{k8s}", "--disable-source=syscall", "--dry-run"],
    ["-r", "{rules}", "--disable-source=syscall", "-M", "5"],
    ["-r", "{rules}", "-o", "plugins[0].open_params={other}", "--disable-source=syscall"],
    ["-r", "{rules}", "--disable-source=syscall", "-o", "json_output=maybe", "-o", "outputs_queue.capacity=abc"],
]
SAME_ERROR = [
    ["-r", "{rules}", "--disable-source=syscall", "-o", "priority=warn"],
    ["-r", "/nonexistent.yaml", "--disable-source=syscall"],
    ["--bogus"],
    ["-M"],
    ["-r", "{rules}", "--enable-source=foo"],
    ["-r", "{rules}", "--disable-source=syscall", "--disable-source=k8s_audit"],
    ["-r", "{rules}", "--disable-source=syscall", "-o", "file_output.enabled=true"],
    ["-r", "{rules}", "--disable-source=syscall", "-o", "rule_matching=foo"],
    ["-r", "{rules}", "--disable-source=syscall", "-o", "program_output.enabled=true"],
    ["--plugin-info", "nope"],
    ["-r", "{rules}", "-l", "nope"],
    ["-r", "{rules}", "--disable-source=syscall", "-o", "load_plugins[]=json"],
    ["-r", "{rules}", "--disable-source=syscall", "-o", "plugins[0].open_params=/nonexistent"],
    ["-r", "{rules}", "-o", "engine.kind=replay", "-o", "engine.replay.capture_file=/nonexistent.scap"],
]


def _args(args: list[str], config: Path) -> list[str]:
    tmp = config.parent
    values = {"rules": tmp / "rules.yaml", "k8s": K8S_RULES, "capture": CAPTURE, "tmp": tmp,
              "other": SHARED / "data" / "k8s_audit" / "attach_pod.json"}  # fmt: skip
    out = ["-c", str(config)]
    for arg in args:
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", str(value))
        out.append(arg)
    return out


@needs_falco
@pytest.mark.parametrize("args", SAME_STDOUT, ids=lambda a: " ".join(a)[:60])
def test_same_output_as_falco(args: list[str], go_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    full = _args(args, go_config)
    rc, out, _ = theirs(*full)
    assert (rc, out) == ours(capsys, *full)[:2]
    assert out or "--dry-run" in args  # something was compared


@needs_falco
@pytest.mark.parametrize("args", SAME_ERROR, ids=lambda a: " ".join(a)[:60])
def test_same_error_as_falco(args: list[str], go_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    full = _args(args, go_config)
    rc, out, err = theirs(*full)
    mine = ours(capsys, *full)
    assert rc == 1 and mine[0] == 1
    assert mine[1] == out
    assert mine[2].splitlines()[-1] == err.splitlines()[-1]


@needs_falco
def test_list_fields_of_plugins_as_falco(go_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every k8saudit/json field line as Falco lists it (the evt class's two descriptions that
    libsinsp words differently are left out)."""
    for fmt in ("text", "markdown"):
        full = ["-c", str(go_config), "--list=k8s_audit", "--format", fmt]
        rc, out, _ = theirs(*full)
        mine = ours(capsys, *full)
        assert rc == mine[0] == 0
        start = out.index("k8saudit (plugin)")
        assert mine[1][mine[1].index("k8saudit (plugin)"):] == out[start:]


@needs_falco
def test_schemas_have_falcos_shape(go_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("--config-schema", "--rule-schema"):
        _, out, _ = theirs("-c", str(go_config), flag)
        rc, mine, _ = ours(capsys, flag)
        assert rc == 0 and json.loads(mine) == json.loads(out)


@needs_falco
def test_describe_rules_json_info_as_falco(go_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    full = ["-c", str(go_config), "-r", str(K8S_RULES), "-L", "-o", "json_output=true"]
    real = json.loads(theirs(*full)[1])
    rc, out, _ = ours(capsys, *full)
    # "condition" is the rule's text in Falco, the compiled condition in falcoplug
    strip = lambda doc: [{k: v for k, v in r["info"].items() if k != "condition"} for r in doc["rules"]]  # noqa: E731
    assert rc == 0 and strip(json.loads(out)) == strip(real)


@needs_falco
def test_support_has_falcos_shape(go_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    full = ["-c", str(go_config), "-r", str(go_config.parent / "rules.yaml"), "--support"]
    real = json.loads(theirs(*full)[1])
    rc, out, _ = ours(capsys, *full)
    mine = json.loads(out)
    assert rc == 0 and mine.keys() == real.keys()
    assert mine["engine_info"].keys() == real["engine_info"].keys()
    assert mine["engine_info"]["plugin_versions"] == real["engine_info"]["plugin_versions"]
    assert mine["rules_files"] == real["rules_files"] and json.loads(mine["config"]) == json.loads(real["config"])
    assert mine["system_info"].keys() == real["system_info"].keys()


@needs_falco
def test_unknown_key_gets_falcos_schema_warning(go_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    go_config.write_text(go_config.read_text() + "foo: 1\n")
    full = ["-c", str(go_config), "-r", str(go_config.parent / "rules.yaml"), "--disable-source=syscall",
            "-o", "log_stderr=true"]  # fmt: skip
    real = next(line for line in theirs(*full)[2].splitlines() if "schema validation" in line)
    mine = next(line for line in ours(capsys, *full)[2].splitlines() if "schema validation" in line)
    assert mine.split(": ", 1)[1] == real.split(": ", 1)[1]
    assert "could not be validated using 'properties' or 'additionalProperties' constraints: 'foo'" in mine


# -- flags on the bundled plugins (no peer needed) ----------------------------------------------
def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = ours(capsys, "--version")
    assert rc == 0 and out.startswith("Falco version: 0.44.1") and "Plugin API:    3.12.0" in out
    rc, out, _ = ours(capsys, "-h")
    assert rc == 0 and "-o, --option <opt>=<val>" in out and "plugin sources only" in out


@pytest.mark.parametrize("flag", ["-i", "--list-events", "--page-size", "-pc", "-pk"])
def test_kernel_only_flags_say_plugin_sources_only(flag: str, bundled_config: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    rc, out, err = ours(capsys, "-c", str(bundled_config), flag)
    assert rc == 1 and not out and err.startswith("Error: ") and "falcoplug runs plugin sources only" in err


def test_syscall_source_needs_a_plugin_source(bundled_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = ours(capsys, "-c", str(bundled_config), "-r", str(bundled_config.parent / "rules.yaml"),
                      "--enable-source=syscall")  # fmt: skip
    assert rc == 1 and "syscall source" in err and "plugin sources only" in err


def test_run_list_dry_run_and_pidfile(bundled_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = str(bundled_config.parent / "rules.yaml")
    rc, out, _ = ours(capsys, "-c", str(bundled_config), "-r", rules, "-P", str(tmp_path / "pid"), "-v")
    assert rc == 0 and out.splitlines()[0].endswith("Warning verb=create user=minikube-user")
    assert (tmp_path / "pid").read_text().strip() == str(os.getpid())
    rc, out, _ = ours(capsys, "-c", str(bundled_config), "--list=k8s_audit", "--format", "json")
    classes = json.loads(out)["fieldclasses"]
    assert [c["name"] for c in classes] == ["evt", "k8saudit", "json"]
    assert ours(capsys, "-c", str(bundled_config), "-r", rules, "--dry-run")[:2] == (0, "")
    rc, out, _ = ours(capsys, "-c", str(bundled_config), "--list", "--markdown")
    assert rc == 0 and "## Field Class: k8saudit (plugin)" in out


def test_replay_without_capture_file_is_an_error(bundled_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = ours(capsys, "-c", str(bundled_config), "-o", "engine.kind=replay")
    assert rc == 1 and "engine.replay.capture_file" in err


def test_subcommand_and_exit_code() -> None:
    result = CliRunner().invoke(falcoplug_main, ["falco", "--bogus"])
    assert result.exit_code == 1 and "Error: Option ‘bogus’ does not exist" in result.output


# -- the pieces ---------------------------------------------------------------------------------------
def test_override_syntax() -> None:
    doc: dict = {"plugins": [{"name": "a"}], "load_plugins": ["a"]}
    for text in ("plugins[0].open_params=x=y", "load_plugins[]=b", "rules_files[]=r.yaml", "a\\.b.c=1",
                 "http_output.url=http://h/", "list[1]=z"):  # fmt: skip
        apply_override(doc, *parse_override(text))
    assert doc["plugins"][0]["open_params"] == "x=y" and doc["load_plugins"] == ["a", "b"]
    assert doc["rules_files"] == ["r.yaml"] and doc["a.b"] == {"c": "1"} and doc["list"] == ["z"]
    assert doc["http_output"] == {"url": "http://h/"}
    with pytest.raises(FalcoError, match="Must be of the form key=val"):
        parse_override("novalue")


def test_typed_reads_with_falcos_defaults(tmp_path: Path) -> None:
    config = FalcoConfig.load(None, ["json_output=true", "outputs_queue.capacity=10", "buffered_outputs=abc"])
    assert config.bool("json_output", False) is True and config.int("outputs_queue.capacity", 0) == 10
    assert config.bool("time_format_iso_8601", False) is False and config.str("priority", "debug") == "debug"
    # as Falco: a value that does not convert reads as the default (falcoplug notes it, for -v)
    assert config.bool("buffered_outputs", False) is False
    assert config.warnings == ["buffered_outputs: 'abc' is not of the expected type; using the default False"]


def test_falcos_word_wrap() -> None:
    assert wrap_text("a b", 5, 10) == "a b "
    assert wrap_text("aaaa bbbb", 2, 8) == "aaaa \n  bbbb "


def test_several_plugin_sources_at_once(bundled_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trail = SHARED / "data" / "cloudtrail" / "alice_start_instances.json"
    if not trail.exists():
        pytest.skip("no CloudTrail sample (../shared/data)")
    config = bundled_config.parent / "multi.yaml"
    config.write_text(bundled_config.read_text().replace(
        "  - {name: json, library_path: json}\n",
        f"  - {{name: cloudtrail, library_path: cloudtrail, open_params: {trail}}}\n  - {{name: json, library_path: json}}\n",
    ))  # fmt: skip
    rules = bundled_config.parent / "rules.yaml"
    rules.write_text(RULE + "\n- rule: Trail\n  desc: d\n  condition: ct.name exists\n  output: ct=%ct.name\n"
                     "  priority: ERROR\n  source: aws_cloudtrail\n")  # fmt: skip
    rc, out, err = ours(capsys, "-c", str(config), "-r", str(rules), "--disable-source=syscall", "-v")
    assert rc == 0 and "Error ct=StartInstances" in out and "Warning verb=create" in out
    assert out.endswith("Events detected: 2\nRule counts by severity:\n   ERROR: 1\n   WARNING: 1\n"
                        "Triggered rules by rule name:\n   Every audit event: 1\n   Trail: 1\n")  # fmt: skip
    assert "(aws_cloudtrail) Elapsed time:" in err and "Enabled event sources: k8s_audit, aws_cloudtrail" in err
    rc, out, _ = ours(capsys, "-c", str(config), "-r", str(rules), "--enable-source=aws_cloudtrail")
    assert rc == 0 and "Warning" not in out and "Events detected: 1" in out


def test_verbose_stays_falcos_under_the_falcoplug_group(bundled_config: Path) -> None:
    rules = str(bundled_config.parent / "rules.yaml")
    result = CliRunner().invoke(falcoplug_main, ["falco", "-c", str(bundled_config), "-r", rules, "-v", "--dry-run"])
    assert result.exit_code == 0 and "Enabled event sources: syscall, k8s_audit" in result.stderr


def _live(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], int]:
    """``falcoplug falco`` on the bundled k8saudit's webhook (a source that never ends)."""
    import socket
    import sys

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = tmp_path / "live.yaml"
    config.write_text("plugins:\n"
                      f"  - {{name: k8saudit, library_path: k8saudit, open_params: 'http://127.0.0.1:{port}/k8s-audit'}}\n"
                      "  - {name: json, library_path: json}\nstdout_output: {enabled: true}\n")  # fmt: skip
    (tmp_path / "rules.yaml").write_text(RULE)
    proc = subprocess.Popen([sys.executable, "-m", "falcoplug", "falco", "-c", str(config), "-r",
                             str(tmp_path / "rules.yaml"), "--disable-source=syscall", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    return proc, port


def test_duration_ends_a_live_source(tmp_path: Path) -> None:
    proc, _ = _live(tmp_path, "-M", "1")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out == "Events detected: 0\nRule counts by severity:\nTriggered rules by rule name:\n"


def test_sigterm_ends_a_live_source_after_its_alerts(tmp_path: Path) -> None:
    import signal
    import time
    import urllib.request

    proc, port = _live(tmp_path)
    body = (BUNDLED_AUDIT / "create_configmap.json").read_bytes()
    started = time.monotonic()
    while time.monotonic() - started < 30:
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/k8s-audit", data=body,
                                             headers={"Content-Type": "application/json"})  # fmt: skip
            urllib.request.urlopen(request, timeout=2).read()
            break
        except OSError:
            time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Warning verb=create user=minikube-user" in out and "Events detected: 1" in out


def test_long_forms_and_inline_values_mean_the_short_ones(bundled_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = str(bundled_config.parent / "rules.yaml")
    base = ["-c", str(bundled_config), "-r", rules, "--disable-source=syscall"]
    short = ours(capsys, *base, "-o", "json_output=true", "-U", "-p", "extra=%ka.uri")
    long = ours(capsys, *base, "--option", "json_output=true", "--unbuffered", "--print=extra=%ka.uri")
    glued = ours(capsys, "-c" + str(bundled_config), "-r" + rules, "--disable-source", "syscall",
                 "-ojson_output=true", "-U", "-pextra=%ka.uri")  # fmt: skip
    assert short[0] == 0 and short[1] == long[1] == glued[1]
    assert json.loads(short[1].splitlines()[0])["output"].endswith("extra=/api/v1/namespaces/default/configmaps")
    validated = ours(capsys, "-c", str(bundled_config), "--validate", rules)
    assert validated[:2] == ours(capsys, "-c", str(bundled_config), "-V", rules)[:2] == (0, f"{rules}: Ok\n")


def test_console_script(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from falcoplug.falco.cli import console_main

    assert 'falcoplug-falco = "falcoplug.falco.cli:console_main"' in (REPO / "pyproject.toml").read_text()
    monkeypatch.setattr("sys.argv", ["falcoplug-falco", "--version"])
    with pytest.raises(SystemExit) as stop:
        console_main()
    assert stop.value.code == 0 and capsys.readouterr().out.startswith("Falco version: 0.44.1")


@needs_falco
def test_config_files_are_merged_as_falco(go_config: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    tmp = go_config.parent
    (tmp / "conf.d").mkdir()
    (tmp / "conf.d" / "10-json.yaml").write_text("json_output: true\nrules_files: [rules.yaml]\n")
    (tmp / "conf.d" / "20-tags.yml").write_text("json_include_tags_property: false\n")
    (tmp / "extra.yaml").write_text("json_include_tags_property: true\npriority: debug\n")
    go_config.write_text(go_config.read_text() + "config_files: [conf.d, {path: extra.yaml, strategy: add-only}]\n")
    monkeypatch.chdir(tmp)  # relative config_files are found from the working directory, as in Falco
    args = ["-c", str(go_config), "--disable-source=syscall"]
    proc = subprocess.run([str(FALCO), *args], capture_output=True, text=True, timeout=60, cwd=tmp)
    rc, out, _ = ours(capsys, *args)
    assert (rc, out) == (proc.returncode, proc.stdout)
    assert "tags" not in json.loads(out.splitlines()[0])
