"""The official Go k8saudit + json plugins (in the real libsinsp) vs falcoplug's Python ports: every
``ka.*``, ``json.*`` and ``jevt.*`` field, with every argument form, over every sample trace.

The ports' deliberate deviations (``PORT_DEVIATIONS``, listed in the README) are left out by name.
"""

from __future__ import annotations

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

# Differences found by this test that the k8saudit port's owner (H5) is fixing: compared in
# test_known_port_differences (a strict xfail) until then, so that the rest stays checked.
KNOWN_DIFFERENCES = (
    "%ka.target.pod.name",  # Go: the pod's name on pod creates, <NA> on subresources (attach, exec)
    "%ka.req.pod.containers.eff_run_as_user[0]",  # Go: <NA> with an index; the port gives (0)
    "%ka.req.pod.containers.eff_run_as_user[1]",
    "%ka.req.pod.containers.eff_run_as_group[0]",
    "%ka.req.pod.containers.eff_run_as_group[1]",
)


def _tokens() -> list[str]:
    fields = [f for f in declared_fields(GO_K8SAUDIT) + declared_fields(GO_JSON) if f.name not in PORT_DEVIATIONS]
    tokens = field_tokens(fields, {**KA_ARGUMENTS, **JSON_ARGUMENTS})
    return [t for t in tokens if t not in KNOWN_DIFFERENCES]


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


@pytest.mark.xfail(strict=True, reason="k8saudit port: ka.target.pod.name and indexed eff_run_as_user/group differ from Go (H5)")
def test_known_port_differences() -> None:
    _compare(list(KNOWN_DIFFERENCES))
