"""Compilation and evaluation: type checks, unknown fields, missing values, lists, matching
semantics, field-to-field checks and transformers (reference §6 items 5-10, and more)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from filter_support import JSON, K8SAUDIT, DictValues, official_sources, resolver

from falcoplug.filter import FilterError, compile_filter
from falcoplug.filter.parser import parse

R = resolver()
K8S = official_sources()["k8s_audit"]


def run(condition: str, res: Any = R, **values: Any) -> bool:
    """Evaluate ``condition`` on an event whose values are given as ``t_str="x"`` (``_`` -> ``.``)."""
    event = {key.replace("_", ".", 1).replace("__", "_"): value for key, value in values.items()}
    return compile_filter(condition, res).evaluate(DictValues(event))


def run_with(condition: str, event: dict[str, Any], res: Any = R) -> bool:
    return compile_filter(condition, res).evaluate(DictValues(event))


def compile_error(condition: str, res: Any = R) -> str:
    with pytest.raises(FilterError) as info:
        compile_filter(condition, res)
    return info.value.message


# --- 5. compile-time type errors ------------------------------------------------------------------
def test_numeric_operator_needs_a_number_token() -> None:
    assert compile_error("ka.verb > abc", K8S).startswith("expected a number value")


def test_uint64_value_must_be_decimal() -> None:
    assert compile_error("t.num = 0x10") == "0x10 is not a valid number"
    assert compile_error("t.num = 1.5") == "1.5 is not a valid number"
    assert compile_error("t.num = abc") == "abc is not a valid number"


def test_uint64_value_parsing_follows_sscanf() -> None:
    assert run("t.num = +5", t_num=5)
    assert run("t.num = -1", t_num=2**64 - 1)  # a negative value wraps
    assert run("t.num = 99999999999999999999999", t_num=2**64 - 1)  # overflow saturates


def test_bool_values_are_exact() -> None:
    assert compile_error("t.bool = TRUE") == "filter error: unrecognized boolean value TRUE"
    assert run("t.bool = true", t_bool=True)
    assert run("t.bool = false", t_bool=False)
    assert run("t.bool in (true)", t_bool=True)
    assert not run("t.bool != true", t_bool=True)


def test_operator_not_supported_by_type() -> None:
    assert (
        compile_error("t.num contains 1")
        == "filter error: 'contains' operator not supported for numeric filters"
    )
    assert compile_error("t.bool > 1") == "filter error: '>' operator not supported for numeric filters"
    assert (
        compile_error("t.str bcontains 00")
        == "filter error: 'bcontains' operator not supported for string filters"
    )
    assert compile_error("t.ip startswith 1") == (
        "filter error: 'startswith' operator not supported for ip address and network filters"
    )
    assert compile_error("t.buf glob x") == "filter error: 'glob' operator not supported for buffer filters"


def test_list_fields_accept_only_in_intersects_exists() -> None:
    assert (
        compile_error("t.list startswith a")
        == "filter error: 'startswith' operator not supported list filters"
    )
    assert compile_error("t.list = a") == "filter error: '=' operator not supported list filters"
    assert compile_error("ka.req.pod.containers.image = x", K8S) == (
        "filter error: '=' operator not supported list filters"
    )
    compile_filter("t.list in (a) and t.list intersects (b) and t.list exists", R)


def test_invalid_regex_is_a_compile_error() -> None:
    assert compile_error("t.str regex '('").startswith("invalid regex pattern: ")
    assert compile_error("t.str regex '\\\\d+'") == "invalid regex pattern: invalid escape sequence: \\d"
    # RE2's own words, as libsinsp 0.25 (sinsp-capture) prints them; RE2's POSIX mode accepts "a*?".
    assert compile_error("t.str regex '('") == "invalid regex pattern: missing ): ("
    assert compile_error("t.str regex '(?i)a'") == "invalid regex pattern: no argument for repetition operator: ?"
    compile_filter("t.str regex 'a*?'", R)


def test_rhs_field_not_allowed_with_pmatch_or_regex() -> None:
    assert "'pmatch' operator does not support field values" in compile_error("t.str pmatch val(t.str2)")
    assert "'regex' operator does not support field values" in compile_error("t.str regex val(t.str2)")


def test_bcontains_needs_hex() -> None:
    assert compile_error("t.buf bcontains xyz") == (
        "filter error: bcontains and bstartswith operator support hex strings only"
    )
    assert run("t.buf bcontains 4142", t_buf=b"xxABxx")
    assert run("t.buf bstartswith 78", t_buf=b"xxAB")
    assert run("t.buf contains AB", t_buf=b"xxABxx")


# --- 6. unknown fields and bad arguments ----------------------------------------------------------
@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("ka.user.namex = a", "filter_check called with nonexistent field ka.user.namex"),
        (
            "ka.user.name[0] = a",
            "filter 'ka.user.name[0]': ka.user.name does not allow nor require an argument but one is provided: 0",
        ),
        ("ka.uri.param = a", "filter 'ka.uri.param': ka.uri.param requires an argument but none provided"),
        (
            "ka.req.pod.containers.image[01] in (a)",
            (
                "filter ka.req.pod.containers.image[01] ka.req.pod.containers.image has an invalid index argument "
                "starting with 0: 01"
            ),
        ),
        (
            "ka.req.pod.containers.image[x] in (a)",
            (
                "filter ka.req.pod.containers.image[x] ka.req.pod.containers.image has an invalid index argument "
                "not composed only by digits: x"
            ),
        ),
        ("json.value exists", "filter 'json.value': json.value requires an argument but none provided"),
    ],
)
def test_unknown_field_or_bad_argument(condition: str, message: str) -> None:
    assert compile_error(condition, K8S) == message


def test_error_position_points_at_the_field() -> None:
    with pytest.raises(FilterError) as info:
        compile_filter("ka.verb = x and ka.nope = y", K8S)
    assert info.value.pos is not None and info.value.pos.idx == 16


def test_field_arguments_are_passed_to_the_resolver() -> None:
    event = {"json.value[/stage]": "x", "ka.req.pod.containers.image[0]": ["a"]}
    assert run_with("json.value[/stage] = x and ka.req.pod.containers.image[0] in (a)", event, K8S)


# --- 7. missing values ----------------------------------------------------------------------------
def test_every_check_on_a_missing_value_is_false() -> None:
    for condition in (
        "t.str = x",
        "t.str != x",
        "t.str contains x",
        "t.str in (x)",
        "t.num < 3",
        "t.num != 3",
        "t.str glob '*'",
        "t.str regex '.*'",
        "t.str startswith ''",
        "t.ip != 1.2.3.4",
    ):
        assert not run(condition), condition


def test_not_equal_differs_from_not_equal_check_when_missing() -> None:
    assert not run("t.str != x")
    assert run("not t.str = x")


def test_exists() -> None:
    assert run("t.str exists", t_str="")
    assert not run("t.str exists")
    assert not run("t.list exists", t_list=[])
    assert run("t.list exists", t_list=["a"])


def test_missing_json_pointer_does_not_exist() -> None:
    assert not run_with("jevt.value[/nope] exists", {"jevt.value[/stage]": "x"}, K8S)


# --- 8. list fields -------------------------------------------------------------------------------
def test_list_in_is_subset() -> None:
    assert run("t.list in (a, b)", t_list=["a"])
    assert run("t.list in (a, b)", t_list=["a", "b", "a"])
    assert not run("t.list in (a, b)", t_list=["a", "c"])


def test_list_intersects_is_overlap() -> None:
    assert run("t.list intersects (a, b)", t_list=["c", "a"])
    assert not run("t.list intersects (a, b)", t_list=["c"])


def test_empty_list_makes_every_check_false() -> None:
    for condition in (
        "t.list in (a)",
        "t.list intersects (a)",
        "t.list exists",
        "len(t.list) = 0",
        "len(t.list) exists",
    ):
        assert not run(condition, t_list=[]), condition
        assert not run(condition), condition


def test_scalar_in_and_intersects() -> None:
    assert run("t.str in (a, b)", t_str="b")
    assert run("t.str intersects (a, b)", t_str="a")
    assert not run("t.str in (a, b)", t_str="c")
    assert not run("t.str in ()", t_str="c")
    assert run("t.num in (1, 2)", t_num=2)


def test_numeric_lists_and_ip_lists() -> None:
    assert run("t.numlist in (1, 2, 3)", t_numlist=[1, 3])
    assert run("t.iplist intersects (10.0.0.1, ::1)", t_iplist=[ipaddress.ip_address("::1")])


# --- 9. string matching semantics -----------------------------------------------------------------
def test_glob_star_crosses_slashes() -> None:
    assert run('t.str glob "/etc/*"', t_str="/etc/ssh/sshd_config")
    assert run("t.str glob 'a?c'", t_str="abc")
    assert not run("t.str glob 'a?c'", t_str="abbc")
    assert run("t.str glob '[!x]b'", t_str="ab") and run("t.str glob '[^x]b'", t_str="ab")
    assert run("t.str glob 'a\\\\*'", t_str="a*") and not run("t.str glob 'a\\\\*'", t_str="ab")
    assert not run("t.str glob 'ABC'", t_str="abc")


def test_iglob_and_icontains_fold_ascii_case() -> None:
    assert run("t.str iglob 'ABC*'", t_str="abcdef")
    assert run("t.str icontains BASH", t_str="/bin/Bash -c")
    assert not run("t.str contains BASH", t_str="/bin/Bash -c")


def test_startswith_endswith_contains_with_empty_operand() -> None:
    assert run('t.str startswith ""', t_str="abc")
    assert run('t.str endswith ""', t_str="abc")
    assert run('t.str contains ""', t_str="abc")
    assert run("t.str endswith bc", t_str="abc")


def test_pmatch_matches_whole_components() -> None:
    assert run("t.str pmatch (/var/run, /etc)", t_str="/var/run/docker.sock")
    assert run("t.str pmatch (/var/run)", t_str="/var/run")
    assert not run("t.str pmatch (/var/run)", t_str="/var/running")
    assert run("t.str pmatch (/home/*/.ssh)", t_str="/home/bob/.ssh/id_rsa")


def test_regex_is_a_full_match() -> None:
    assert not run("t.str regex 'ab'", t_str="xaby")
    assert run("t.str regex 'ab'", t_str="ab")
    assert run("t.str regex '.*ab.*'", t_str="xaby")
    assert run("t.str regex '[[:digit:]]+'", t_str="123")


def test_string_ordering_is_strcmp() -> None:
    # k8saudit's response code is a string: ">= 400" compares text
    assert run_with("ka.response.code >= 400", {"ka.response.code": "500"}, K8S)
    assert run_with("ka.response.code >= 400", {"ka.response.code": "5"}, K8S)
    assert not run_with("ka.response.code >= 400", {"ka.response.code": "1000"}, K8S)


def test_numbers_compare_numerically() -> None:
    assert run("t.num > 9", t_num=10)
    assert run("t.rel <= 5 and t.abs >= 5", t_rel=5, t_abs=5)


def test_ip_addresses_and_networks() -> None:
    ip = ipaddress.ip_address
    assert run("t.ip = 10.0.0.1", t_ip=ip("10.0.0.1"))
    assert run("t.ip = ::1", t_ip=ip("::1"))
    assert not run("t.ip = 10.0.0.1", t_ip=ip("::1"))
    assert run("t.ip != 10.0.0.1", t_ip=ip("::1"))  # v4/v6 size mismatch: unequal
    assert run("t.net = 10.0.0.0/8", t_net=ip("10.2.3.4"))
    assert not run("t.net = 10.0.0.0/8", t_net=ip("11.2.3.4"))
    assert run("t.net in (192.168.0.0/16, 10.0.0.0/8)", t_net=ipaddress.ip_network("10.1.0.0/16"))
    assert not run("t.net = 10.0.0.0/8", t_net=ip("::a00:1"))
    assert compile_error("t.ip = 10.0.0") == "unrecognized IPv4 address 10.0.0"
    assert compile_error("t.net = 10.0.0.0") == "unrecognized IP network 10.0.0.0"
    assert compile_error("t.net = 10.0.0.0/40") == "invalid netmask 40"


# --- 10. field-to-field comparisons ---------------------------------------------------------------
def test_field_to_field_type_mismatch() -> None:
    assert compile_error("t.str = val(t.num)") == (
        "filter error: left-hand side field 't.str' has type 'CHARBUF' while the right-hand side field "
        "'val(t.num)' has incompatible type 'UINT64'"
    )
    assert "incompatible type 'LIST(CHARBUF)'" in compile_error("t.str in val(t.list)")
    assert "IPNET" in compile_error("t.net = val(t.net)")


def test_field_to_field_comparisons() -> None:
    assert run("tolower(t.str) = val(t.str2)", t_str="ABC", t_str2="abc")
    assert not run("t.str = val(t.str2)", t_str="ABC", t_str2="abc")
    assert run("t.str != val(t.str2)", t_str="ABC", t_str2="abc")
    assert not run("t.str = val(t.str2)", t_str="a")  # right-hand side missing: false
    assert run("t.str startswith val(t.str2)", t_str="abc", t_str2="ab")
    assert run("t.str glob val(t.str2)", t_str="abc", t_str2="a*")
    assert run("t.num < val(t.num2)", t_num=1, t_num2=2)
    assert run("t.list in val(t.list2)", t_list=["a"], t_list2=["a", "b"])
    assert not run("t.list intersects val(t.list2)", t_list=["c"], t_list2=["a", "b"])
    assert run("t.str = toupper(t.str2)", t_str="AB", t_str2="ab")


def test_bare_field_name_on_the_right_is_a_string_with_a_warning() -> None:
    compiled = compile_filter("t.str = t.str2", R)
    assert compiled.evaluate(DictValues({"t.str": "t.str2"}))
    assert [w.message for w in compiled.warnings] == [
        "'t.str2' may be a valid field misused as a const string value"
    ]


# --- transformers ---------------------------------------------------------------------------------
def test_single_value_transformers() -> None:
    assert run("toupper(t.str) = ABC", t_str="aBc")
    assert run("tolower(t.str) = 'éa'", t_str="éA")  # ASCII-only folding
    assert run("basename(t.str) = sh", t_str="/bin/sh")
    assert run("basename(t.str) = sh", t_str="sh")
    assert run("toupper(basename(t.str)) = SH", t_str="/bin/sh")
    assert run("b64(t.str) = hello", t_str="aGVsbG8=")
    assert not run("b64(t.str) exists", t_str="!!")  # a decode failure is a failed extraction
    assert run("len(t.str) = 3", t_str="abc")
    assert run("len(t.str) = 2", t_str="é")  # strlen counts bytes
    assert run("len(t.list) = 2", t_list=["a", "b"])
    assert run("tolower(t.list) in (a, b)", t_list=["A", "B"])


def test_transformer_type_errors() -> None:
    assert (
        compile_error("toupper(t.num) = 1")
        == "can't add field transformer: type 'UINT64' is not supported by 'toupper'"
    )
    assert (
        compile_error("len(t.num) = 1")
        == "can't add field transformer: type 'UINT64' is not supported by 'len'"
    )
    assert (
        compile_error("b64(t.ip) = 1")
        == "can't add field transformer: type 'IPADDR' is not supported by 'b64'"
    )
    assert compile_error("tolower(t.str)[x] = a") == "transformer 'tolower' does not support field arguments"
    assert (
        compile_error("len(t.list) contains 1")
        == "filter error: 'contains' operator not supported for numeric filters"
    )


def test_join_concat_getopt() -> None:
    assert run('join(",", t.list) = "a,b"', t_list=["a", "b"])
    assert run('concat(t.str, "-", t.str2) = "a-b"', t_str="a", t_str2="b")
    assert not run('concat(t.str, "-", t.str2) exists', t_str="a")
    args = ["-n", "-t", "5", "file"]
    assert run('getopt(t.list, "nt:") in (n, t, 5)', t_list=args)
    assert run('getopt(t.list, "nt:")[t] = 5', t_list=args)
    assert run('getopt(t.list, "nt:")[n] = n', t_list=args)
    assert not run('getopt(t.list, "nt:")[x] exists', t_list=args)
    assert run('getopt(t.list, "nt:")[t] = 7', t_list=["-nt7"])
    assert run('getopt(t.list, "nt:") intersects ("?")', t_list=["-z"])
    assert run('join(",", (t.str, "x")) = "a,x"', t_str="a")


def test_multivalue_transformer_errors() -> None:
    assert compile_error("join(t.list, t.list) = a") == (
        "join() first argument (separator) must be a single value, not a list"
    )
    assert compile_error('join(",", t.str) = a') == "join() second argument must be a list"
    assert compile_error("concat(t.str) = a") == "concat() requires at least 2 arguments"
    assert compile_error("concat(t.str, t.num) = a") == "concat() arguments must be strings"
    assert compile_error('getopt(t.str, "n") = a') == "getopt() first argument must be a list"
    assert (
        compile_error('getopt(t.list, "n")[ab] = a')
        == "getopt() field argument must be a single option character"
    )


# --- modifiers (libs 0.25) ------------------------------------------------------------------------
def test_modifiers_semantics() -> None:
    assert run("t.str startswith anyof (x, ab)", t_str="abc")
    assert not run("t.str startswith allof (x, ab)", t_str="abc")
    assert run("t.str contains allof (a, c)", t_str="abc")
    assert run("t.str contains oneof (a, z)", t_str="abc")
    assert not run("t.str contains oneof (a, b)", t_str="abc")
    assert run("t.str = anyof (x, abc)", t_str="abc")
    assert run("t.str glob anyof ('*.sh', '*.py')", t_str="x.py")
    assert not run("t.str startswith anyof (x)")  # missing value
    assert (
        compile_error("t.list startswith anyof (a)")
        == "filter error: 'startswith' operator not supported list filters"
    )


# --- compilation products -------------------------------------------------------------------------
def test_compiled_filter_lists_its_fields_once() -> None:
    compiled = compile_filter("t.str = a or (t.str = b and t.num = 1)", R)
    assert [f.text for f in compiled.fields] == ["t.str", "t.num"]


def test_evaluation_is_lazy_and_short_circuits() -> None:
    values = DictValues({"t.str": "x"})
    assert not compile_filter("t.str = y and t.num = 1", R).evaluate(values)
    assert values.calls == {"t.str": 1}
    values = DictValues({"t.str": "x"})
    assert compile_filter("t.str = x or t.num = 1", R).evaluate(values)
    assert values.calls == {"t.str": 1}


def test_repeated_field_is_read_once_per_evaluation() -> None:
    values = DictValues({"t.str": "x"})
    assert compile_filter("t.str = y or t.str = z or t.str = x", R).evaluate(values)
    assert values.calls == {"t.str": 1}


def test_guards_are_necessary_conditions() -> None:
    guards = compile_filter("t.str = a and (t.num in (1, 2) or t.num = 3) and not t.str2 = b", R).guards
    assert {(g.field.text, g.values) for g in guards} == {
        ("t.str", frozenset({"a"})),
        ("t.num", frozenset({1, 2, 3})),
    }
    assert compile_filter("t.str = a or t.num = 1", R).guards == ()
    assert compile_filter("not t.str = a", R).guards == ()
    assert compile_filter("tolower(t.str) = a", R).guards == ()


def test_deep_conditions_compile() -> None:
    # 100 nested boolean levels: the generated code is split into helpers Python can compile
    condition = (
        "".join(f"(t.num != {i} and not (t.str = w{i} or " for i in range(50)) + "t.str = x" + "))" * 50
    )
    compiled = compile_filter(parse(condition, max_depth=2000), R)
    assert "def h" in compiled.source_code
    for event in (
        {"t.str": "y", "t.num": 99},
        {"t.str": "x", "t.num": 99},
        {"t.str": "w49", "t.num": 99},
        {"t.str": "w3", "t.num": 7},
        {"t.str": "x"},
    ):
        expected = event.get("t.str") == "x"
        for i in reversed(range(50)):
            expected = (
                event.get("t.num", i) != i
                and "t.num" in event
                and not (event["t.str"] == f"w{i}" or expected)
            )
        assert compiled.evaluate(DictValues(event)) == expected


def test_macro_identifier_is_not_compilable() -> None:
    assert compile_error("t.str = a and my_macro") == "filter error: unexpected identifier 'my_macro'"


def test_k8s_field_table_is_consistent() -> None:
    names = [f.name for f in K8SAUDIT + JSON]
    assert len(names) == len(set(names))
