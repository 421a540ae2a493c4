"""A condition over a batch's columns (CompiledFilter.test_columns) decides as its per-event test."""

from __future__ import annotations

import ipaddress

import pytest
from filter_support import DictValues, resolver
from hypothesis import given, settings
from hypothesis import strategies as st

from falcoplug.filter import ast, compile_filter, parse

R = resolver()
CONDITIONS = [
    't.str = "a"',
    't.str != "a"',
    't.str in ("a", "bc") and t.num > 2',
    "t.str glob 'a*' or t.str2 contains b",
    "not t.str exists",
    "t.num <= 3 or (t.str2 = t.str and not t.bool = true)",
    "tolower(t.str) = 'a' and tolower(t.str) != t.str",
    "t.list intersects (a, b) or t.list in (c)",
    "t.ip in (10.1.2.3, 192.168.0.2) or t.ip = ::1",
    "t.str = a and t.str = a and t.num = 1",  # one field read twice: memoized in the per-event form
    "t.str endswith c or t.num2 exists or t.str startswith b",
]
texts = st.one_of(st.none(), st.sampled_from(["a", "A", "ab", "bc", "b", "c", ""]))
rows = st.fixed_dictionaries({
    "t.str": texts, "t.str2": texts,
    "t.num": st.one_of(st.none(), st.integers(0, 5)), "t.num2": st.one_of(st.none(), st.integers(0, 5)),
    "t.bool": st.one_of(st.none(), st.booleans()),
    "t.list": st.one_of(st.none(), st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=3)),
    "t.ip": st.one_of(st.none(), st.sampled_from([ipaddress.ip_address("10.1.2.3"), ipaddress.ip_address("::1"),
                                                  ipaddress.ip_address("192.168.0.1")])),
})  # fmt: skip


@pytest.mark.parametrize("condition", CONDITIONS)
@settings(max_examples=60, deadline=None)
@given(batch=st.lists(rows, max_size=12))
def test_columns_decide_as_the_per_event_test(condition, batch):
    compiled = compile_filter(condition, R)
    columns = [[row.get(f.text) for row in batch] for f in compiled.fields]
    expected = [compiled.evaluate(DictValues(row)) for row in batch]
    assert compiled.test_columns(columns, len(batch)) == expected


def test_a_condition_without_fields_gives_one_answer_per_event():
    compiled = compile_filter("t.str exists or not t.str exists", R)
    assert compiled.test_columns([[None, "x", None]], 3) == [True, True, True]


def test_a_condition_nested_too_deep_for_columns_says_so():
    deep = "(" * 10 + 't.str = "a"' + ")" * 10  # parentheses alone do not nest the booleans
    assert compile_filter(deep, R).test_columns([["a", "b"]], 2) == [True, False]
    node, other = parse("t.str = a"), parse("t.num = 1")
    for _ in range(13):  # 26 boolean levels (as macros nest them): helpers are hoisted out
        node = ast.Not(ast.Or((other, node)))
    compiled = compile_filter(node, R, max_depth=1000)
    assert compiled.test_columns([[1], ["a"]], 1) is None
    assert compiled.evaluate(DictValues({"t.str": "a", "t.num": 2})) is False
