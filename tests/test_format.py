"""Output formats and alerts: tokens, widths, <NA>, lists, JSON alerts (reference §6 item 26)."""

from __future__ import annotations

import ipaddress
import json
import textwrap

import pytest
from filter_support import K8SAUDIT, DictValues, fi, resolver

from falcoplug.filter import FilterError, compile_format
from falcoplug.rules import AlertFormatter, AlertOptions, AppendOutput, CompileOptions, RulesLoader

R = resolver()
K8S = resolver("k8s_audit", K8SAUDIT)


def render(fmt: str, values: dict[str, object], res: object = R) -> str:
    return compile_format(fmt, res).text(DictValues(values))  # type: ignore[arg-type]


def test_fields_and_literals() -> None:
    assert render("user=%t.str n=%t.num", {"t.str": "bob", "t.num": 3}) == "user=bob n=3"


def test_missing_values_print_na() -> None:
    assert render("a=%t.str b=%t.num", {}) == "a=<NA> b=<NA>"


def test_values_render_by_type() -> None:
    values = {
        "t.bool": True,
        "t.ip": ipaddress.ip_address("::1"),
        "t.net": ipaddress.ip_address("10.0.0.1"),
        "t.list": ["a", "b"],
        "t.buf": b"hi",
        "t.rel": 5,
    }
    assert render("%t.bool %t.ip %t.net %t.list %t.buf %t.rel", values) == "true ::1 <IPNET> (a,b) hi 5"


def test_width_pads_and_truncates() -> None:
    assert render("[%5t.str]", {"t.str": "ab"}) == "[ab   ]"
    assert render("[%2t.str]", {"t.str": "abcdef"}) == "[ab]"
    assert render("[%6t.str]", {}) == "[<NA>  ]"
    assert render("[%5ka.verb]", {"ka.verb": "create"}, K8S) == "[creat]"


def test_longest_prefix_that_compiles() -> None:
    assert render("(%ka.user.name)", {"ka.user.name": "u"}, K8S) == "(u)"
    assert (
        render("%ka.target.name/%ka.target.resource", {"ka.target.name": "n", "ka.target.resource": "r"}, K8S)
        == "n/r"
    )
    assert render("%ka.verbx", {"ka.verb": "get"}, K8S) == "getx"  # ka.verbx is unknown: ka.verb + "x"
    assert render("%t.str.", {"t.str": "v"}) == "v."


def test_field_arguments_and_transformers() -> None:
    values = {"ka.uri.param[command]": "ls", "ka.user.name": "Bob"}
    assert render("cmd=%ka.uri.param[command] u=%toupper(ka.user.name)", values, K8S) == "cmd=ls u=BOB"


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("x %", "invalid formatting syntax: formatting cannot end with a %"),
        ("x %12", "invalid formatting syntax: formatting cannot end with a number"),
        ("%foo", "unknown filter: foo"),
        ("%(t.str)", "unknown filter: (t.str)"),
        ("% t.str", "unknown filter:  t.str"),
        ("%%t.str", "unknown filter: %t.str"),
        ("", "empty formatting token"),
    ],
)
def test_format_errors(fmt: str, message: str) -> None:
    with pytest.raises(FilterError) as info:
        compile_format(fmt, R)
    assert info.value.message == message


def test_json_fields() -> None:
    fmt = compile_format("%t.str %t.list %t.num %tolower(t.str2) %t.ip", R)
    values = DictValues({"t.str": "x", "t.list": ["a", "b"], "t.str2": "AB"})
    assert fmt.json_fields(values) == {
        "t.str": "x",
        "t.list": ["a", "b"],
        "t.num": None,
        "t.str2": "AB",
        "t.ip": None,
    }
    assert fmt.keys == ("t.str", "t.list", "t.num", "tolower(t.str2)", "t.ip")


def test_require_all_values_without_star() -> None:
    fmt = compile_format("%t.str %t.num", R)
    assert fmt.complete(DictValues({"t.str": "x"})) is None
    assert compile_format("*%t.str %t.num", R).text(DictValues({"t.str": "x"})) == "x <NA>"


# --- alerts ---------------------------------------------------------------------------------------
RULES = textwrap.dedent("""\
    - rule: Pod Created
      desc: d
      condition: ka.verb = create
      output: "Pod (user=%ka.user.name images=%ka.req.pod.containers.image ns=%ka.target.namespace)"
      priority: WARNING
      source: k8s_audit
      tags: [k8s, abc, zeta]
    """)
TS = 1540476552_000000123  # 2018-10-25T14:09:12.000000123Z


def alert_for(
    values: dict[str, object],
    options: AlertOptions | None = None,
    compile_options: CompileOptions | None = None,
) -> object:
    sources = {"k8s_audit": K8S}
    loader = RulesLoader(sources, options=compile_options)
    assert loader.load(RULES, "k8s.yaml").successful
    (rule,) = loader.rules
    return AlertFormatter(sources, options or AlertOptions(hostname="host1")).alert(
        rule, DictValues(values), TS
    )


def test_text_alert_line() -> None:
    alert = alert_for(
        {
            "evt.time": "14:09:12.000000123",
            "ka.user.name": "bob",
            "ka.req.pod.containers.image": ["nginx", "busybox"],
        }
    )
    assert alert.text == "14:09:12.000000123: Warning Pod (user=bob images=(nginx,busybox) ns=<NA>)"  # type: ignore[attr-defined]


def test_text_alert_with_iso8601_time() -> None:
    alert = alert_for(
        {"evt.time.iso8601": "2018-10-25T14:09:12.000000123+0000"}, AlertOptions(time_format_iso_8601=True)
    )
    assert alert.text.startswith("2018-10-25T14:09:12.000000123+0000: Warning Pod (user=<NA>")  # type: ignore[attr-defined]


def test_json_alert() -> None:
    alert = alert_for(
        {"evt.time": "14:09:12.000000123", "ka.user.name": "bob", "ka.req.pod.containers.image": ["nginx"]}
    )
    line = alert.json_line()  # type: ignore[attr-defined]
    data = json.loads(line)
    assert list(data) == sorted(data)
    assert line.startswith('{"hostname":"host1","output":"14:09:12.000000123: Warning Pod (user=bob')
    assert data["time"] == "2018-10-25T14:09:12.000000123Z"
    assert data["priority"] == "Warning" and data["rule"] == "Pod Created" and data["source"] == "k8s_audit"
    assert data["tags"] == ["abc", "k8s", "zeta"]
    assert data["output_fields"] == {
        "evt.time": TS,
        "ka.user.name": "bob",
        "ka.req.pod.containers.image": ["nginx"],
        "ka.target.namespace": None,
    }
    assert '"output_fields":{"evt.time":1540476552000000123,"ka.req.pod.containers.image":["nginx"]' in line
    assert ", " not in line.replace("Pod (user", "")  # compact separators


def test_json_alert_options() -> None:
    alert = alert_for(
        {},
        AlertOptions(
            json_include_output_property=False,
            json_include_tags_property=False,
            json_include_message_property=True,
            json_include_output_fields_property=False,
        ),
    )
    data = alert.as_json()  # type: ignore[attr-defined]
    assert sorted(data) == ["hostname", "message", "priority", "rule", "source", "time"]
    assert data["message"] == "Pod (user=<NA> images=<NA> ns=<NA>)"


def test_append_output_and_extra_fields() -> None:
    options = CompileOptions(
        append_output=(
            AppendOutput(
                source="k8s_audit",
                extra_output="verb=%ka.verb",
                extra_fields=(("ka.uri", "%ka.uri", True), ("where", "in %ka.target.namespace", False)),
            ),
            AppendOutput(tags=frozenset({"nope"}), extra_output="never"),
            AppendOutput(rule="Pod Created", tags=frozenset({"k8s"}), extra_output="by-name"),
        )
    )
    alert = alert_for(
        {"ka.verb": "create", "ka.uri": "/api", "ka.target.namespace": "ns"}, compile_options=options
    )
    assert alert.message.endswith("ns=ns) verb=create by-name")  # type: ignore[attr-defined]
    fields = alert.output_fields  # type: ignore[attr-defined]
    assert fields["ka.uri"] == "/api" and fields["where"] == "in ns" and fields["ka.verb"] == "create"


def test_suggested_output_fields() -> None:
    res = resolver("test", [fi("t.str"), fi("t.added", add_output=True)])
    loader = RulesLoader({"test": res})
    content = (
        "- rule: r\n  desc: d\n  condition: t.str = a\n  output: out\n  priority: INFO\n  source: test\n"
    )
    assert loader.load(content, "x.yaml").successful
    assert loader.rules[0].output_format.text(DictValues({"t.added": "v"})) == "out t_added=v"
    loader = RulesLoader({"test": res}, options=CompileOptions(suggested_output=False))
    assert loader.load(content, "x.yaml").successful
    assert loader.rules[0].output == "out"
