"""Conditions never hang on a pattern (issue 13, item 5): ``regex`` is RE2 itself (linear time, RE2's
syntax and messages, as libsinsp compiles it), ``glob`` a matcher without backtracking across
stars. Each case here took minutes with Python's backtracking ``re``; the bound is generous."""

from __future__ import annotations

import time

import pytest
from filter_support import DictValues, resolver

from falcoplug.filter import FilterError, compile_filter
from falcoplug.filter.matching import glob_matcher, regex_matcher

R = resolver()
BOUND = 2.0  # seconds, for what takes microseconds; the backtracking versions ran for minutes


def matches(condition: str, value: str) -> bool:
    return compile_filter(condition, R).evaluate(DictValues({"t.str": value}))


def timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


@pytest.mark.parametrize("size", [20, 30, 100_000])
def test_nested_quantifiers_regex_is_linear(size: int) -> None:
    result, seconds = timed(matches, "t.str regex '(a+)+b'", "a" * size + "!")
    assert result is False and seconds < BOUND
    assert matches("t.str regex '(a+)+b'", "a" * size + "b")


@pytest.mark.parametrize("size", [40, 100_000])
def test_many_stars_glob_is_linear(size: int) -> None:
    pattern = "*a" * 30 + "b"
    result, seconds = timed(matches, f"t.str glob '{pattern}'", "a" * size + "!")
    assert result is False and seconds < BOUND
    result, seconds = timed(matches, f"t.str glob '{pattern}'", "a" * size + "c" + "a" * 40 + "b")
    assert result is True and seconds < BOUND
    # A middle segment that is absent: found nowhere after a linear scan.
    result, seconds = timed(glob_matcher("*a*x*a*b"), "a" * size + "b")
    assert result is None and seconds < BOUND


def test_regex_is_re2_in_posix_mode_with_a_full_match() -> None:
    assert matches("t.str regex 'sam.*'", "sample")
    assert not matches("t.str regex 'sam'", "sample")  # a full match, not a search
    assert matches("t.str regex '[[:alpha:]]+'", "abc")
    assert matches("t.str regex 'a|b'", "b") and not matches("t.str regex 'a|b'", "ab")
    assert not matches("t.str regex 'a.b'", "a\nb")  # "." does not match a newline
    assert matches("t.str regex 'é+'", "éé")  # UTF-8, as libsinsp hands strings to RE2
    assert regex_matcher("x")("\ud800") is None  # a lone surrogate is only a non-match


@pytest.mark.parametrize(
    ("pattern", "message"),
    [  # as libsinsp 0.25 prints them (sinsp-capture -f), RE2's own words
        ("(", "invalid regex pattern: missing ): ("),
        ("(?i)a", "invalid regex pattern: no argument for repetition operator: ?"),
        ("\\\\d", "invalid regex pattern: invalid escape sequence: \\d"),
    ],
)
def test_regex_errors_are_re2s(pattern: str, message: str) -> None:
    with pytest.raises(FilterError) as info:
        compile_filter(f"t.str regex '{pattern}'", R)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "", True), ("*", "a/b", True), ("a*b*c", "abc", True), ("a*b*c", "acb", False),
        ("*.txt", "x.txt", True), ("*.txt", "x.txt.gz", False), ("a?c", "abc", True), ("a?c", "ac", False),
        ("[a-c]*", "b1", True), ("[!a-c]*", "b1", False), ("\\*", "*", True), ("\\*", "x", False),
        ("ab\\", "ab\\", False), ("*ab*ab*", "abab", True), ("*ab*ab*", "aba", False), ("**a", "a", True),
        ("a*", "a\nb", True), ("?", "\n", True), ("*[[:digit:]]", "x9", True),
    ],
)
def test_glob_keeps_fnmatch_semantics(pattern: str, value: str, expected: bool) -> None:
    assert (glob_matcher(pattern)(value) is not None) is expected


def test_iglob_folds_ascii_only() -> None:
    assert glob_matcher("*ABC*", True)("xabcx") is not None
    assert glob_matcher("É*", True)("é") is None
