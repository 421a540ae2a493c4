"""The bundled k8saudit and json plugins built into shared libraries (``falcoplug build``) and loaded
back through the C adapter give the same events, field values and alerts as in-process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from falcoplug.export import build_library
from falcoplug.framework import Inspector
from falcoplug.pipeline import Pipeline, Rules

from test_k8saudit import DATA, requests
from test_k8saudit_rules import RULES


@pytest.fixture(scope="module")
def libs(tmp_path_factory) -> tuple[Path, Path]:
    if shutil.which("gcc") is None and shutil.which("cc") is None:
        pytest.skip("no C compiler to build the plugin libraries")
    out = tmp_path_factory.mktemp("built")
    return (
        build_library("falcoplug.plugins.k8saudit", out / "libk8saudit.so"),
        build_library("falcoplug.plugins.json", out / "libjson.so"),
    )


def run(k8saudit: str, json_lib: str, path: Path, texts: list[str]) -> tuple[list, list, list]:
    host = Inspector()
    host.load(k8saudit)
    host.load(json_lib)
    host.open("k8saudit", str(path))
    plan = host.plan("k8s_audit", texts)
    events, rows = [], []
    for batch in host.batches():
        for event, row in plan.rows(batch):
            events.append((event.num, event.ts, event.payload))
            rows.append(row)
    host.close()
    rules = Rules.load(host, [RULES])
    host.open("k8saudit", str(path))
    pipe = Pipeline(host, rules=rules)
    alerts = [(a.rule.name, a.text, json.dumps(a.output_fields, sort_keys=True)) for b in host.batches() for a in pipe.alerts(b)]
    host.destroy()
    return events, rows, alerts


def test_built_libraries_match_in_process(libs):
    k8s_lib, json_lib = libs
    texts = [t for _, _, t in requests()] + [
        "json.value[/requestObject/spec]", "json.obj", "jevt.rawtime", "evt.plugininfo", "evt.time.iso8601",
    ]  # fmt: skip
    in_process = run("k8saudit", "json", DATA, texts)
    built = run(str(k8s_lib), str(json_lib), DATA, texts)
    assert len(in_process[0]) == 51
    assert built[0] == in_process[0]  # the same events (numbers, timestamps, data)
    for a, b in zip(built[1], in_process[1]):
        assert a == b
    assert built[2] == in_process[2] and len(built[2]) == 46


def test_built_library_identity(libs):
    k8s_lib, json_lib = libs
    host = Inspector()
    k = host.load(str(k8s_lib))
    j = host.load(str(json_lib))
    assert (k.name, k.version, k.id, k.event_source) == ("k8saudit", "0.18.0", 1, "k8s_audit")
    assert (j.name, j.version) == ("json", "0.7.3")
    assert len(json.loads(k.backend.get_fields())) == 100
    host.destroy()
