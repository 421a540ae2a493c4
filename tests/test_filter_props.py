"""Property-based tests of the parser: printed ASTs parse back equal; arbitrary input never crashes."""

from __future__ import annotations

from typing import Any

from filter_support import DictValues, resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from falcoplug.filter import FilterError, as_string, ast, compile_filter, parse
from falcoplug.filter.lexer import RGX_HEX_NUM, RGX_NUMBER
from falcoplug.filter.matching import glob_matcher

KEYWORDS = {"and", "or", "not"}
word = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,5}", fullmatch=True)
identifier = word.filter(lambda w: w not in KEYWORDS)
field_name = st.builds(lambda parts: ".".join(parts), st.lists(word, min_size=2, max_size=3))
text_value = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=8)
number = st.one_of(
    st.from_regex(RGX_NUMBER.pattern, fullmatch=True), st.from_regex(RGX_HEX_NUM.pattern, fullmatch=True)
)

STR_OPS = [
    "==",
    "=",
    "!=",
    "glob",
    "iglob",
    "contains",
    "icontains",
    "bcontains",
    "startswith",
    "bstartswith",
    "endswith",
    "regex",
]
NUM_OPS = ["<=", "<", ">=", ">"]
LIST_OPS = ["intersects", "in", "pmatch"]


def field() -> st.SearchStrategy[ast.Field]:
    return st.builds(ast.Field, field_name, st.one_of(st.none(), text_value))


def transformer_arg(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    plain = st.one_of(field(), st.builds(ast.Value, st.one_of(text_value, number)), children)
    return st.one_of(plain, st.builds(ast.TransformerList, st.lists(plain, max_size=3).map(tuple)))


operand = st.recursive(
    field(),
    lambda children: st.builds(
        ast.Transformer,
        st.sampled_from(["tolower", "toupper", "b64", "basename", "len", "join", "concat", "getopt"]),
        st.lists(transformer_arg(children), min_size=1, max_size=3).map(tuple),
        st.one_of(st.none(), st.sampled_from(["t", "x"])),
    ),
    max_leaves=4,
)
val = st.builds(lambda f: ast.Transformer("val", (f,)), field())
rhs_operand = st.one_of(val, operand.filter(lambda o: isinstance(o, ast.Transformer)))


def check() -> st.SearchStrategy[ast.Node]:
    str_check = st.builds(
        ast.BinaryCheck,
        operand,
        st.sampled_from(STR_OPS),
        st.one_of(st.builds(ast.Value, text_value), rhs_operand),
    )
    num_check = st.builds(
        ast.BinaryCheck,
        operand,
        st.sampled_from(NUM_OPS),
        st.one_of(st.builds(ast.Value, number), rhs_operand),
    )
    list_check = st.builds(
        ast.BinaryCheck,
        operand,
        st.sampled_from(LIST_OPS),
        st.one_of(
            st.builds(ast.ListValue, st.lists(text_value, max_size=3).map(tuple)),
            st.builds(ast.Value, identifier),
            rhs_operand,
        ),
    )
    modifier_check = st.builds(
        ast.BinaryCheck,
        operand,
        st.sampled_from(STR_OPS),
        st.builds(ast.ListValue, st.lists(text_value, max_size=3).map(tuple)),
        st.sampled_from(["oneof", "anyof", "allof"]),
    )
    exists = st.builds(ast.UnaryCheck, operand, st.just("exists"))
    return st.one_of(
        str_check, num_check, list_check, modifier_check, exists, st.builds(ast.Identifier, identifier)
    )


def _not(child: ast.Node) -> ast.Node:
    return child.child if isinstance(child, ast.Not) else ast.Not(child)


condition = st.recursive(
    check(),
    lambda children: st.one_of(
        st.builds(ast.And, st.lists(children, min_size=2, max_size=3).map(tuple)),
        st.builds(ast.Or, st.lists(children, min_size=2, max_size=3).map(tuple)),
        st.builds(_not, children),
    ),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(condition)
def test_printed_conditions_parse_back_equal(node: ast.Node) -> None:
    printed = as_string(node)
    assert parse(printed, max_depth=1000) == node, printed


TOKENS = [
    "a.b",
    "c.d[x]",
    "(",
    ")",
    "and",
    "or",
    "not",
    "not(",
    "=",
    "!=",
    "<",
    "in",
    "exists",
    "contains",
    "startswith",
    "anyof",
    "oneof",
    "tolower(",
    "val(",
    "concat(",
    ",",
    '"q\\"',
    "'s'",
    "1",
    "0x1",
    "mac",
    "[",
    "]",
    "\\",
    "\n",
    "\t",
    "pmatch",
    "glob",
]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(TOKENS), max_size=12), st.lists(st.sampled_from(["", " ", "  "]), max_size=12)
)
def test_token_soup_parses_or_raises_filter_error(tokens: list[str], blanks: list[str]) -> None:
    text = "".join(t + (blanks[i] if i < len(blanks) else " ") for i, t in enumerate(tokens))
    _parse_or_filter_error(text)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_parse_or_raise_filter_error(data: bytes) -> None:
    _parse_or_filter_error(data.decode("utf-8", "replace"))
    _parse_or_filter_error(data.decode("latin-1"))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_random_text_parses_or_raises_filter_error(text: str) -> None:
    _parse_or_filter_error(text)


def _parse_or_filter_error(text: str) -> None:
    try:
        node = parse(text)
    except FilterError:
        return
    assert parse(as_string(node), max_depth=1000) == node


R = resolver()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(condition)
def test_compilation_fails_only_with_filter_error(node: ast.Node) -> None:
    try:
        compiled = compile_filter(node, R)
    except FilterError:
        return
    compiled.evaluate(DictValues({}))


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[abc*?]{0,6}", fullmatch=True), st.from_regex(r"[abc/]{0,6}", fullmatch=True))
def test_glob_agrees_with_fnmatch_on_simple_patterns(pattern: str, value: str) -> None:
    import fnmatch

    assert bool(glob_matcher(pattern)(value)) == fnmatch.fnmatchcase(value, pattern)
