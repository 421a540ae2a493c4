"""The condition grammar: precedence, lexing rules, strings and escapes, errors (reference §6 items 1-4)."""

from __future__ import annotations

import pytest

from falcoplug.filter import FilterError, as_string, parse
from falcoplug.filter.ast import (
    And,
    BinaryCheck,
    Field,
    Identifier,
    ListValue,
    Not,
    Or,
    Transformer,
    TransformerList,
    UnaryCheck,
    Value,
)


def check(field: str, op: str, value: str) -> BinaryCheck:
    return BinaryCheck(Field(field), op, Value(value))


def error_of(text: str) -> FilterError:
    with pytest.raises(FilterError) as info:
        parse(text)
    return info.value


# --- 1. precedence --------------------------------------------------------------------------------
def test_and_binds_tighter_than_or() -> None:
    assert parse("a or b and c") == Or((Identifier("a"), And((Identifier("b"), Identifier("c")))))


def test_not_binds_tighter_than_and() -> None:
    assert parse("not a and b") == And((Not(Identifier("a")), Identifier("b")))


def test_double_not_cancels() -> None:
    assert parse("not not a") == Identifier("a")
    assert parse("not not not a") == Not(Identifier("a"))


def test_and_or_are_nary_left_to_right() -> None:
    assert parse("a and b and c") == And((Identifier("a"), Identifier("b"), Identifier("c")))
    assert parse("a or b or c and d") == Or(
        (Identifier("a"), Identifier("b"), And((Identifier("c"), Identifier("d"))))
    )


def test_parentheses_override_precedence() -> None:
    assert parse("(a or b) and c") == And((Or((Identifier("a"), Identifier("b"))), Identifier("c")))


def test_not_with_parenthesis_without_blank() -> None:
    assert parse("not(a.b=1)") == Not(check("a.b", "=", "1"))


# --- 2. blanks around keywords and operators ------------------------------------------------------
def test_and_followed_by_parenthesis_parses() -> None:
    assert parse("a.b=1 and(b.c=2)") == And((check("a.b", "=", "1"), check("b.c", "=", "2")))
    assert parse("a.b=1 or(b.c=2)") == Or((check("a.b", "=", "1"), check("b.c", "=", "2")))


def test_keyword_glued_to_next_word_fails() -> None:
    assert error_of("a.b=1 andb.c=2").message == "expected blank or '(' after 'and'"
    assert error_of("x.y=1 oregon").message == "expected blank or '(' after 'or'"


def test_list_operators_need_no_blank() -> None:
    assert parse("x.y in(a,b)") == BinaryCheck(Field("x.y"), "in", ListValue(("a", "b")))
    assert parse("x.y intersects(a)") == BinaryCheck(Field("x.y"), "intersects", ListValue(("a",)))


def test_symbol_operators_need_no_blank() -> None:
    assert parse("a.b=c") == check("a.b", "=", "c")
    assert parse("a.b!=c") == check("a.b", "!=", "c")
    assert parse("a.b==c") == check("a.b", "==", "c")
    assert parse("a.b<=1") == BinaryCheck(Field("a.b"), "<=", Value("1"))


def test_word_operators_need_a_blank() -> None:
    assert error_of('x.y contains"y"').message.startswith("expected a valid check operator: one of 'exists'")
    assert parse('x.y contains "y"') == check("x.y", "contains", "y")


def test_blanks_include_newlines_tabs_and_backspace() -> None:
    assert parse("a.b\t=\n1\rand\bc.d = 2") == And((check("a.b", "=", "1"), check("c.d", "=", "2")))


def test_bare_word_is_a_macro_and_dotted_word_a_field() -> None:
    assert parse("my_macro") == Identifier("my_macro")
    assert error_of("a.b").message.startswith("expected a valid check operator")


def test_exists_is_unary() -> None:
    assert parse("ka.verb exists") == UnaryCheck(Field("ka.verb"), "exists")


def test_keywords_are_case_sensitive() -> None:
    # "AND" is not a keyword: it is a trailing token
    assert error_of("a.b=1 AND c.d=2").message == "unexpected token after '1', expecting 'or', 'and'"


# --- 3. errors ------------------------------------------------------------------------------------
def test_trailing_token_is_an_error() -> None:
    err = error_of("a.b=1 b.c=2")
    assert err.message == "unexpected token after '1', expecting 'or', 'and'"
    assert (err.pos.idx, err.pos.line, err.pos.col) == (6, 1, 7)


def test_empty_condition_is_an_error() -> None:
    assert error_of("").message == "filter input string is empty"


def test_unbalanced_parenthesis_is_an_error() -> None:
    assert error_of("(a.b=1").message == "expected a ')' token"
    assert error_of("a.b=1)").message == "unexpected token after '1', expecting 'or', 'and'"


def test_empty_list_item_is_an_error() -> None:
    assert error_of("x.y in (a,,b)").message == "expected a string value"


def test_empty_list_is_valid() -> None:
    assert parse("x.y in ()") == BinaryCheck(Field("x.y"), "in", ListValue(()))
    assert parse("x.y in ( )") == BinaryCheck(Field("x.y"), "in", ListValue(()))


def test_identifier_after_in_is_one_value() -> None:
    assert parse("x.y in foo") == BinaryCheck(Field("x.y"), "in", Value("foo"))


def test_unknown_operator_lists_the_operators() -> None:
    message = error_of("a.b ~ c").message
    assert message == (
        "expected a valid check operator: one of 'exists', '<=', '<', '>=', '>', '==', '=', '!=', 'glob', "
        "'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', "
        "'intersects', 'in', 'pmatch'"
    )


def test_numeric_operator_needs_a_number() -> None:
    assert error_of("ka.verb > abc").message.startswith(
        "expected a number value or a field with a valid transformer"
    )
    assert parse("a.b > 0x1F") == BinaryCheck(Field("a.b"), ">", Value("0x1F"))
    assert parse("a.b > -1.5e+3") == BinaryCheck(Field("a.b"), ">", Value("-1.5e+3"))


def test_error_positions_count_lines_and_columns() -> None:
    err = error_of("a.b = 1 and\n  c.d ~ 2")
    assert (err.pos.line, err.pos.col) == (2, 7)
    assert err.describe().startswith(
        "filter error at index 18, line 2, column 7: expected a valid check operator"
    )


def test_max_depth() -> None:
    deep = "(" * 30 + "a.b=1" + ")" * 30
    assert error_of(deep).message == "exceeded max depth limit of 100"
    assert parse(deep, max_depth=1000) == check("a.b", "=", "1")


# --- 4. strings and escapes -----------------------------------------------------------------------
def test_quoted_values() -> None:
    assert parse("a.b = 'a b'") == check("a.b", "=", "a b")
    assert parse('a.b = "a\\"b"') == check("a.b", "=", 'a"b')
    assert parse("a.b = 'a\\'b'") == check("a.b", "=", "a'b")
    assert parse('a.b = "a\\tb\\n\\/\\\\x"') == check("a.b", "=", "a\tb\n/\\x")


def test_wrong_quote_escape_is_an_error() -> None:
    assert error_of('a.b = "a\\\'b"').message == "invalid \\' escape in \"-quoted string"
    assert error_of("a.b = 'a\\\"b'").message == "invalid \\\" escape in '-quoted string"


def test_unknown_escape_is_an_error() -> None:
    assert error_of('a.b = "\\q"').message == "unsupported string escape sequence: \\q"
    assert error_of('a.b = "\\x41"').message == "unsupported string escape sequence: \\x"


def test_backslash_space_gives_a_backslash() -> None:
    assert parse('a.b = "a\\ b"') == check("a.b", "=", "a\\b")


def test_string_ends_at_first_unescaped_quote_only() -> None:
    # the lexer only looks at the previous character: "a\\" does not end at its last quote
    assert error_of('a.b = "a\\\\"').message.startswith("expected a string value")


def test_bare_strings_have_no_escapes() -> None:
    assert parse("a.b = a\\n") == check("a.b", "=", "a\\n")


def test_values_with_specials_must_be_quoted() -> None:
    assert error_of("a.b = a,b").message == "unexpected token after 'a', expecting 'or', 'and'"
    assert parse("a.b = 'a,b=c'") == check("a.b", "=", "a,b=c")


# --- field arguments and transformers -------------------------------------------------------------
def test_field_arguments() -> None:
    assert parse("json.value[/a/b] exists") == UnaryCheck(Field("json.value", "/a/b"), "exists")
    assert parse('json.value["a b"] exists') == UnaryCheck(Field("json.value", "a b"), "exists")
    assert (
        error_of("json.value[] exists").message
        == "expected a valid field argument: a quoted string or a bare string"
    )
    assert error_of("json.value[a exists").message == "expected a ']' token"


def test_transformers_nest() -> None:
    node = parse("toupper(basename(a.b)) = X")
    assert node == BinaryCheck(
        Transformer("toupper", (Transformer("basename", (Field("a.b"),)),)), "=", Value("X")
    )


def test_val_on_the_right_hand_side() -> None:
    node = parse("tolower(a.b) = val(c.d)")
    assert node == BinaryCheck(
        Transformer("tolower", (Field("a.b"),)), "=", Transformer("val", (Field("c.d"),))
    )
    assert error_of("a.b = val(tolower(c.d))").message == "expected a field within 'val' transformer"


def test_multivalue_transformers() -> None:
    node = parse('concat(a.b, "-", 12) = x')
    assert node.left == Transformer("concat", (Field("a.b"), Value("-"), Value("12")))  # type: ignore[union-attr]
    node = parse('getopt(p.args, "nt:")[t] = v')
    assert node.left == Transformer("getopt", (Field("p.args"), Value("nt:")), "t")  # type: ignore[union-attr]
    node = parse('join(",", (a.b, "x")) = y')
    assert node.left == Transformer("join", (Value(","), TransformerList((Field("a.b"), Value("x")))))  # type: ignore[union-attr]


def test_modifiers() -> None:
    assert parse("a.b startswith anyof (x, y)") == BinaryCheck(
        Field("a.b"), "startswith", ListValue(("x", "y")), "anyof"
    )
    assert parse("a.b = oneof (x)") == BinaryCheck(Field("a.b"), "=", ListValue(("x",)), "oneof")
    assert parse("a.b contains allof mylist") == BinaryCheck(
        Field("a.b"), "contains", Value("mylist"), "allof"
    )
    # not a modifier: no blank before it, nothing list-like after it, or a keyword after it
    assert parse("a.b =oneof") == check("a.b", "=", "oneof")
    assert parse("a.b = anyof") == check("a.b", "=", "anyof")
    assert parse("a.b = anyof and c") == And((check("a.b", "=", "anyof"), Identifier("c")))


def test_printer_output() -> None:
    text = "a.b = 1 and not (c.d in (x, 'y z') or e.f exists) and g.h startswith anyof (p, q)"
    printed = as_string(parse(text))
    assert printed == '(a.b = 1 and not (c.d in (x, "y z") or e.f exists) and g.h startswith anyof (p, q))'
    assert parse(printed) == parse(text)


def test_printer_quotes_what_needs_quotes() -> None:
    assert as_string(parse("a.b = 'x y'")) == 'a.b = "x y"'
    assert as_string(parse('a.b = "q\\"\\\\x"')) == 'a.b = "q\\"\\\\x"'
    assert as_string(parse("a.b = 'a(b'")) == 'a.b = "a(b"'
    assert as_string(parse("a.b = ''")) == 'a.b = ""'
    assert as_string(parse('json.value["a b"] exists')) == 'json.value["a b"] exists'
    assert as_string(parse('concat(a.b, "-") = x')) == 'concat(a.b,"-") = x'
