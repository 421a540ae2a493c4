"""The same plugins driven by a plain C loop (tests/c_host/host.c) and by falcoplug give the same
events and field values, line for line."""

from __future__ import annotations

import subprocess

import pytest
from cbuild import build_c_host, build_plugin

from falcoplug.filter.render import render_text
from falcoplug.framework import Inspector

FIELDS = [
    "test.value", "test.str", "test.even", "test.ts", "test.num", "test.src",
    "ext.u64", "ext.str", "ext.rel", "ext.abs", "ext.bool", "ext.ip4", "ext.ip6", "ext.net",
    "ext.list.u64", "ext.list.str", "ext.list.empty", "ext.list.ip", "ext.key[abc]", "ext.idx[3]",
    "ext.opt", "ext.opt[zz]", "ext.keyidx[5]", "ext.odd", "ext.fail",
]  # fmt: skip


def c_host_lines(src: str, ext: str, params: str) -> list[str]:
    cmd = [str(build_c_host()), "dump", "-x", ext, "", src, "{}", params, *FIELDS]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()


def falcoplug_lines(src: str, ext: str, params: str) -> list[str]:
    host = Inspector()
    host.load(src, "{}")
    host.load(ext, "")
    host.open("testsrc", params)
    plan = host.plan("test", FIELDS)
    lines = []
    for batch in host.batches():
        for event, row in plan.rows(batch):
            head = f"{event.num} {event.ts} {event.type} {event.plugin_id} {event.payload.hex() or '-'}"
            values = " ".join(f"{bound.text}={render_text(bound.info, v)}" for bound, v in zip(plan.fields, row))
            lines.append(f"{head} {values}")
    host.destroy()
    return lines


@pytest.mark.parametrize("params", ["count=37,batch=5", "count=300,batch=64,eof_with_batch=1"])
def test_c_loop_and_falcoplug_agree(params):
    src, ext = str(build_plugin("source_plugin")), str(build_plugin("extractor_plugin"))
    expected = c_host_lines(src, ext, params)
    assert len(expected) == int(params.split(",")[0].split("=")[1])
    assert falcoplug_lines(src, ext, params) == expected
