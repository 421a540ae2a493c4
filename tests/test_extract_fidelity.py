"""Values must not depend on how many fields one extract_fields call asks for, and plugin events
with ts == UINT64_MAX get one clock reading each (issue 10, items 2 and 3).

libsinsp asks one field per call; libsinsp's test plugins (and others) keep one storage slot for
every field of a call. The real libsinsp (``../shared/peers``) is the oracle where it is present.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cbuild import build_plugin

from falcoplug.abi.ffi import fastpath
from falcoplug.framework import Inspector

PEERS = Path(os.environ.get("FALCOPLUG_SHARED_PEERS") or Path(__file__).resolve().parents[2] / "shared" / "peers")
SINSP_CAPTURE = PEERS / "bin" / "sinsp-capture"
LIBS_TEST = PEERS / "plugins" / "libs-test"
GO = PEERS / "plugins" / "go"
K8S_SAMPLES = PEERS.parent / "data" / "k8s_audit"

needs_peers = pytest.mark.skipif(
    not os.access(SINSP_CAPTURE, os.X_OK), reason=f"../shared/peers not found ({SINSP_CAPTURE}): no libsinsp oracle"
)

SYSCALL_PLUGINS = [
    f"{LIBS_TEST}/libtest_syscall_source.so||6",
    f"{LIBS_TEST}/libtest_syscall_parse.so",
    f"{LIBS_TEST}/libtest_syscall_extract.so",
]
# sample.is_open, sample.evt_count and sample.tick share one storage slot in the plugin
SYSCALL_FORMAT = "*%evt.num %evt.source %sample.is_open %sample.open_count %sample.evt_count %sample.tick"


def falcoplug_lines(plugins: list[str], fmt: str, env: dict[str, str] | None = None) -> list[str]:
    args = [sys.executable, "-m", "falcoplug", "run", "-o", fmt]
    for spec in plugins:
        args += ["-p", spec]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if not line.startswith("OK(")]


def sinsp_lines(plugins: list[str], fmt: str) -> list[str]:
    args = [str(SINSP_CAPTURE), "-o", fmt]
    for spec in plugins:
        args += ["-p", spec]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if not line.startswith("OK(")]


@needs_peers
@pytest.mark.parametrize("core", ["compiled", "abi"])
def test_one_storage_slot_plugins_give_libsinsps_values(core):
    env = {"FALCOPLUG_NO_FASTPATH": "1"} if core == "abi" else {}
    got = falcoplug_lines(SYSCALL_PLUGINS, SYSCALL_FORMAT, env)
    assert got == sinsp_lines(SYSCALL_PLUGINS, SYSCALL_FORMAT)
    assert got[1] == "2 syscall 1 2 2 false"  # the example: is_open is not evt_count's value


@needs_peers
def test_same_field_with_two_arguments_in_one_request():
    """The Go json plugin with jevt.value asked twice: each argument gets its own value."""
    sample = K8S_SAMPLES / "create_nginx_pod_sensitive_mount.json"
    if not sample.exists():
        pytest.skip(f"{sample} not found")
    plugins = [f"{GO}/libk8saudit.so||{sample}", f"{GO}/libjson.so"]
    fmt = "*%evt.num %jevt.value[/stage] %jevt.value[/requestObject/spec/volumes] %ka.verb %ka.target.name"
    got = falcoplug_lines(plugins, fmt)
    assert got == sinsp_lines(plugins, fmt)
    assert got[0].split()[1] == "ResponseComplete"


def two_field_host(extractor: str, fields: list[str]) -> tuple[Inspector, list[list[object]]]:
    host = Inspector()
    host.load(str(build_plugin("source_plugin")), "{}")
    host.load(extractor, "")
    host.open("testsrc", "count=50,batch=7")
    plan = host.plan("test", fields)
    rows = [row for batch in host.batches() for _, row in plan.rows(batch)]
    return host, rows


@pytest.mark.skipif(fastpath is None, reason="the one-call path needs the compiled core")
def test_plugins_with_a_slot_per_field_keep_one_call_per_event():
    extractor = str(build_plugin("extractor_plugin"))
    host, rows = two_field_host(extractor, ["ext.u64", "ext.str", "ext.list.str"])
    assert rows[3] == [6, "v3", ["a3", "b3"]]
    assert not host.plugin("testext").backend.extract_one_field_per_call  # proven safe, call after call
    host.destroy()


def test_same_field_twice_is_asked_one_field_per_call():
    extractor = str(build_plugin("extractor_plugin"))
    host, rows = two_field_host(extractor, ["ext.key[a]", "ext.key[b]", "ext.idx[2]", "ext.idx[5]"])
    assert rows[4] == ["a=4", "b=4", 6, 9]
    host.destroy()


def test_ts_now_is_read_per_event():
    """A plugin batch of many events with ts = UINT64_MAX: each event its own clock reading."""
    host = Inspector()
    host.load(str(build_plugin("source_plugin")), "{}")
    host.open("testsrc", "count=3000,batch=3000,tsnow=1")
    stamps = [e.ts for e in host.events()]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) > 1  # not one reading for the whole batch
    plan_host = Inspector()
    plan_host.load(str(build_plugin("source_plugin")), "{}")
    plan_host.open("testsrc", "count=3000,batch=3000,tsnow=1")
    plan = plan_host.plan("test", ["evt.reltime"])
    (batch,) = list(plan_host.batches())
    reltimes = plan.columns(batch)[0]
    assert reltimes[0] == 0 and reltimes[-1] > 0  # evt.reltime advances within a batch
    host.destroy()
    plan_host.destroy()


@pytest.mark.skipif(fastpath is None, reason="the one-call path needs the compiled core")
def test_a_field_named_twice_affects_its_request_only():
    extractor = str(build_plugin("extractor_plugin"))
    host, rows = two_field_host(extractor, ["ext.key[a]", "ext.key[b]"])
    assert rows[1] == ["a=1", "b=1"]
    assert not host.plugin("testext").backend.extract_one_field_per_call
    host.destroy()
