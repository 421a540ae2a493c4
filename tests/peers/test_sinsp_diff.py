"""falcoplug run vs the real libsinsp (``sinsp-capture``): the same plugins, formats, filters, counts
and captures on both hosts, every output line compared.

Each scenario is written once and run by both hosts (STYLE.md 2.6). Fields are enumerated from what
the real loader reads (``plugin_info``), every one with every argument form.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from peerhosts import (
    ALL_K8S_AUDIT,
    C_DUMMY,
    GO_DUMMY,
    GO_JSON,
    GO_K8SAUDIT,
    GO_K8SAUDIT_SCAP,
    HOSTS,
    LIBS_TEST,
    Scenario,
    assert_same_lines,
    declared_fields,
    joined_format,
    field_tokens,
    json_rows,
)

# Generic fields of a plugin event whose values do not depend on when it ran.
GENERIC = ["%evt.num", "%evt.source", "%evt.pluginname", "%evt.plugininfo", "%evt.is_async", "%evt.asynctype",
           "%evt.hostname"]  # fmt: skip
# Time fields, compared where timestamps are reproducible (k8saudit events carry their own; replays).
TIMES = ["%evt.time", "%evt.time.s", "%evt.time.iso8601", "%evt.datetime", "%evt.datetime.s", "%evt.rawtime",
         "%evt.rawtime.s", "%evt.reltime.s"]  # fmt: skip
# libsinsp prints these zero-padded to 9 digits (PF_10_PADDED_DEC).
PADDED_TIMES = ["%evt.reltime", "%evt.rawtime.ns", "%evt.reltime.ns"]

# Arguments for fields that require one, and extra ones for index fields.
KA_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "ka.uri.param": ("container", "stdout", "missing"),
    "ka.req.binding.subject.has_name": ("minikube", "nobody"),
    "ka.req.volume.hostpath": ("/etc", "/var/run/docker.sock", "/"),
}
POINTERS = ("/stage", "/verb", "/user/username", "/user/groups/0", "/objectRef/resource", "/responseStatus/code",
            "/requestObject/spec/volumes", "/annotations/authorization.k8s.io~1decision", "/missing")  # fmt: skip
JSON_ARGUMENTS = {"json.value": POINTERS, "jevt.value": POINTERS}
DUMMY_ARGUMENTS = {"dummy.divisible": ("2", "3", "7")}


def _spec(path: Path, config: str = "", params: str | None = None) -> str:
    return f"{path}|{config}" + ("" if params is None else f"|{params}")


def _dummy(path: Path, count: int) -> list[str]:
    return [_spec(path, '{"jitter":0}', '{"start":1,"maxEvents":%d}' % count)]


# libs-test plugins that source or extract. libtest_extract_schema_version.so is left out: with any
# syscall source, libsinsp itself crashes (SIGSEGV) on its foo.bar field, so there is no reference.
SAMPLE = [_spec(LIBS_TEST / "libtest_plugin_source.so", "", "7"), str(LIBS_TEST / "libtest_plugin_extract.so")]
SYSCALL = [_spec(LIBS_TEST / "libtest_syscall_source.so", "", "6"), str(LIBS_TEST / "libtest_syscall_parse.so"),
           str(LIBS_TEST / "libtest_syscall_extract.so")]  # fmt: skip
# The Go SDK's async extraction spins a thread per call site; on two shared cores it makes libsinsp
# ten times slower without changing a value, so the tests turn it off.
SYNC = '{"useAsync":false}'
K8S = [_spec(GO_K8SAUDIT, SYNC, str(ALL_K8S_AUDIT)), _spec(GO_JSON, SYNC)]


@cache
def _tokens(library: Path, arguments: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> list[str]:
    """Every field of a library with every argument form, all in one format: libsinsp asks a
    plugin for one field per call, and falcoplug must give the same values however it asks."""
    return field_tokens(declared_fields(library), dict(arguments))


def _k8s_tokens() -> list[str]:
    return _tokens(GO_K8SAUDIT, tuple(KA_ARGUMENTS.items())) + _tokens(GO_JSON, tuple(JSON_ARGUMENTS.items()))


def compare(scenario: Scenario) -> list[str]:
    """Run a scenario on both hosts; assert the same exit status and the same stdout, line by line."""
    want = HOSTS["libsinsp"].run(scenario)
    got = HOSTS["falcoplug"].run(scenario)
    assert want.code == 0, f"libsinsp failed: {want.stderr}"
    assert got.code == 0, f"falcoplug failed: {got.stderr}"
    assert_same_lines(want.stdout, got.stdout)
    return [line for line in got.stdout if line[:1].isdigit() or line[:1] == "{"]  # event lines (plugins print too)


# -- every field, every argument ------------------------------------------------------------------


def test_sample_plugins_every_field() -> None:
    tokens = GENERIC + _tokens(LIBS_TEST / "libtest_plugin_extract.so")
    assert len(compare(Scenario(SAMPLE, joined_format(tokens)))) == 7


@pytest.mark.parametrize("library", [C_DUMMY, GO_DUMMY], ids=["dummy_c", "go_dummy"])
def test_dummy_every_field_every_argument(library: Path) -> None:
    tokens = GENERIC + _tokens(library, tuple(DUMMY_ARGUMENTS.items()))
    assert len(compare(Scenario(_dummy(library, 9), joined_format(tokens)))) == 9


def test_k8saudit_json_every_field_every_argument() -> None:
    """Every ka.*, json.* and jevt.* field with each argument form, over all 47 sample traces."""
    assert len(compare(Scenario(K8S, joined_format(GENERIC + TIMES + _k8s_tokens())))) == 51


def test_syscall_plugins_every_field() -> None:
    """The issue's example: a syscall source, a parser and an extractor that reuses one storage slot
    for every field of a call (libsinsp's threads table has no process name for these events)."""
    tokens = ["%evt.num", "%evt.source"] + _tokens(LIBS_TEST / "libtest_syscall_extract.so")
    assert len(compare(Scenario(SYSCALL, joined_format(tokens)))) == 6


@pytest.mark.parametrize(
    ("plugins", "tokens"),
    [
        (_dummy(GO_DUMMY, 9), ["%dummy.divisible[2]", "%dummy.divisible[3]"]),
        (K8S, ["%ka.uri.param[container]", "%ka.uri.param[stdout]", "%ka.req.role.rules.verbs",
               "%ka.req.role.rules.verbs[0]"]),  # fmt: skip
        (K8S, ["%json.value[/stage]", "%json.value[/verb]", "%jevt.value[/user/username]"]),
    ],
    ids=["go_dummy", "k8saudit", "json"],
)
def test_several_arguments_of_one_field_in_one_event(plugins: list[str], tokens: list[str]) -> None:
    """The Go SDK keeps one result per field id: two arguments of one field asked in one call
    would overwrite each other."""
    assert compare(Scenario(plugins, joined_format(["%evt.num", *tokens])))


def test_padded_time_fields() -> None:
    compare(Scenario(K8S, joined_format(["%evt.num", *PADDED_TIMES])))


@pytest.mark.parametrize("json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("fmt", ["%evt.num %ka.req.pod.containers.image %ka.target.namespace", "%evt.num %ka.target.name"])
def test_format_without_star_drops_events_with_missing_values(fmt: str, json: bool) -> None:
    """Without a leading ``*``, an event where a value is missing is not printed (``-j`` too)."""
    lines = compare(Scenario(K8S, fmt, as_json=json))
    assert 0 < len(lines) < 51


def test_format_without_star_counts_dropped_events() -> None:
    """``-n`` with ``-f`` counts matching events, printed or not."""
    lines = compare(Scenario(K8S, "%evt.num %ka.req.pod.containers.image", condition="ka.verb = create", count=22))
    assert len(lines) == 3  # of the first 22 creates, 3 have images


# -- filters and counts ---------------------------------------------------------------------------

FILTERS = [
    (SAMPLE, "evt.num > 2 and sample.hello contains hello", ["%sample.hello"]),
    (_dummy(C_DUMMY, 30), "dummy.divisible[3] = 1 and dummy.value > 4", ["%dummy.value"]),
    (_dummy(C_DUMMY, 30), "dummy.strvalue in (5, 7, 11) or dummy.value >= 29", ["%dummy.strvalue"]),
    (K8S, "ka.verb = create and ka.target.resource in (pods, configmaps)", ["%ka.target.name", "%ka.user.name"]),
    (K8S, "ka.req.pod.containers.privileged intersects (true) or ka.user.groups in (system:masters)",
     ["%ka.req.pod.containers.privileged"]),  # fmt: skip
    (K8S, "json.value[/stage] = ResponseComplete and jevt.value[/verb] startswith d", ["%ka.verb"]),
    (K8S, "ka.uri.param[stdout] exists and not ka.target.namespace = kube-system", ["%ka.uri"]),
]


@pytest.mark.parametrize(("plugins", "condition", "tokens"), FILTERS, ids=lambda x: x if isinstance(x, str) else None)
def test_filter(plugins: list[str], condition: str, tokens: list[str]) -> None:
    lines = compare(Scenario(plugins, joined_format(["%evt.num", *tokens]), condition=condition))
    assert lines, "the condition should keep some events"


@pytest.mark.parametrize(("plugins", "count"), [(SAMPLE, 3), (_dummy(C_DUMMY, 30), 11), (K8S, 17), (K8S, 0)],
                         ids=["sample", "dummy_c", "k8saudit", "zero"])  # fmt: skip
def test_count(plugins: list[str], count: int) -> None:
    assert len(compare(Scenario(plugins, joined_format(["%evt.num", "%evt.source"]), count=count))) == count


def test_count_with_filter() -> None:
    lines = compare(Scenario(K8S, joined_format(["%evt.num", "%ka.verb"]), condition="ka.verb = delete", count=3))
    assert len(lines) == 3


# -- captures: replays, and files written by one host and read by the other ------------------------


def test_replay_of_libsinsp_capture() -> None:
    """``-r captures/go_k8saudit.scap`` (written by sinsp-capture): every field, times included."""
    tokens = GENERIC + TIMES + _k8s_tokens()
    assert len(compare(Scenario(K8S, joined_format(tokens), read=GO_K8SAUDIT_SCAP))) == 51


@pytest.mark.parametrize("na", [True, False], ids=["star", "no_star"])
def test_replay_hostname(na: bool) -> None:
    """Replaying a capture, libsinsp's evt.hostname is an empty string (a value: printed without ``*``)."""
    lines = compare(Scenario(K8S, joined_format(["%evt.num", "%evt.hostname"], na=na), read=GO_K8SAUDIT_SCAP))
    assert len(lines) == 51


CAPTURE_CASES = {
    "dummy_c": (_dummy(C_DUMMY, 12), ["%dummy.value", "%dummy.strvalue", "%dummy.divisible[3]"]),
    "k8saudit": (K8S, ["%ka.auditid", "%ka.verb", "%ka.req.pod.containers.image", "%json.value[/stage]"]),
}


@pytest.mark.parametrize("writer", ["libsinsp", "falcoplug"])
@pytest.mark.parametrize("case", list(CAPTURE_CASES))
def test_capture_written_by_one_read_by_both(case: str, writer: str, tmp_path: Path) -> None:
    plugins, tokens = CAPTURE_CASES[case]
    path = tmp_path / "events.scap"
    wrote = HOSTS[writer].run(Scenario(plugins, write=path))
    assert wrote.code == 0 and path.exists(), wrote.stderr
    lines = compare(Scenario(plugins, joined_format(GENERIC + TIMES + tokens), read=path))
    assert lines


# -- JSON ------------------------------------------------------------------------------------------


def _json_compare(scenario: Scenario) -> None:
    want = HOSTS["libsinsp"].run(scenario)
    got = HOSTS["falcoplug"].run(scenario)
    assert want.code == 0 and got.code == 0, (want.stderr, got.stderr)
    # jsoncpp writes keys sorted; the objects are compared, not the key order
    assert json_rows(got.stdout) == json_rows(want.stdout)


def test_json_every_field() -> None:
    tokens = ["%evt.num", "%evt.source", "%evt.pluginname", "%evt.is_async"] + _k8s_tokens()
    _json_compare(Scenario(K8S, "*" + " ".join(tokens), as_json=True))


def test_json_time_fields() -> None:
    _json_compare(Scenario(K8S, "*%evt.num " + " ".join(TIMES + PADDED_TIMES), as_json=True))
