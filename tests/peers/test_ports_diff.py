"""The official Go k8saudit + json plugins (in the real libsinsp) vs falcoplug's Python ports: every
``ka.*``, ``json.*`` and ``jevt.*`` field, with every argument form, over every sample trace.

The ports' deliberate deviations (``PORT_DEVIATIONS``, listed in the README) are left out by name.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from peerhosts import (
    ALL_K8S_AUDIT,
    GO_JSON,
    GO_K8SAUDIT,
    GO_K8SAUDIT_SCAP,
    HOSTS,
    PORT_DEVIATIONS,
    Scenario,
    assert_same_lines,
    declared_fields,
    field_tokens,
    joined_format,
)
from test_sinsp_diff import JSON_ARGUMENTS, KA_ARGUMENTS, SYNC, TIMES

GO = [f"{GO_K8SAUDIT}|{SYNC}|{ALL_K8S_AUDIT}", f"{GO_JSON}|{SYNC}"]
PORTS = [f"k8saudit||{ALL_K8S_AUDIT}", "json"]


def _tokens() -> list[str]:
    fields = [f for f in declared_fields(GO_K8SAUDIT) + declared_fields(GO_JSON) if f.name not in PORT_DEVIATIONS]
    return field_tokens(fields, {**KA_ARGUMENTS, **JSON_ARGUMENTS})


def _compare(tokens: list[str], read: object = None) -> None:
    fmt = joined_format(["%evt.num", "%evt.pluginname", *TIMES, *tokens])
    want = HOSTS["libsinsp"].run(Scenario(GO, fmt, read=read))  # type: ignore[arg-type]
    got = HOSTS["falcoplug"].run(Scenario(PORTS, fmt, read=read))  # type: ignore[arg-type]
    assert want.code == 0 and got.code == 0, (want.stderr, got.stderr)
    events = [line for line in want.stdout if line[:1].isdigit()]
    assert len(events) == 51
    assert_same_lines(want.stdout, got.stdout)


def test_deviations_are_real_fields() -> None:
    """The names excluded here exist in the official plugin (a typo would exclude nothing)."""
    assert PORT_DEVIATIONS <= {f.name for f in declared_fields(GO_K8SAUDIT)}


@pytest.mark.parametrize("read", [None, GO_K8SAUDIT_SCAP], ids=["live", "replay"])
def test_python_ports_match_the_go_plugins(read: object) -> None:
    _compare(_tokens(), read)


# A pod whose uids are set both where Kubernetes reads them (securityContext) and one level above
# (where the official code reads them): the documented eff_run_as_* deviation, pinned.
_POD = {
    "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse", "stage": "ResponseComplete",
    "auditID": "a1", "verb": "create", "user": {"username": "u"}, "responseStatus": {"code": 201},
    "requestURI": "/api/v1/namespaces/default/pods",
    "objectRef": {"resource": "pods", "namespace": "default", "name": "p1", "apiVersion": "v1"},
    "requestObject": {"kind": "Pod", "spec": {
        "runAsUser": 7, "securityContext": {"runAsUser": 5},
        "containers": [{"name": "a", "runAsUser": 11, "securityContext": {"runAsUser": 21}}, {"name": "b"}],
    }},
    "requestReceivedTimestamp": "2018-10-25T13:58:49.736141Z", "stageTimestamp": "2018-10-25T13:58:49.736141Z",
}  # fmt: skip


def test_eff_run_as_deviation_is_as_documented(tmp_path: Path) -> None:
    events = tmp_path / "pod.jsonl"
    events.write_text(json.dumps(_POD) + "\n")
    fmt = "*%evt.num %ka.req.pod.containers.eff_run_as_user %ka.req.pod.containers.eff_run_as_user[1]"
    want = HOSTS["libsinsp"].run(Scenario([f"{GO_K8SAUDIT}|{SYNC}|{events}"], fmt))
    got = HOSTS["falcoplug"].run(Scenario([f"k8saudit||{events}"], fmt))
    assert want.stdout == ["1 (11,7) <NA>"]  # spec.runAsUser and containers[*].runAsUser
    assert got.stdout == ["1 (21,5) (5)"]  # the securityContexts, as Kubernetes reads them
