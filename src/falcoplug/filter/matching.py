"""String matching with libsinsp's semantics, not Python's defaults.

* ``glob``/``iglob``: POSIX ``fnmatch(pattern, value, 0 | FNM_CASEFOLD)``: ``*`` also matches ``/``,
  a backslash escapes the next character, brackets take ``!`` or ``^`` and ``[:class:]``; a
  trailing backslash never matches. (:mod:`fnmatch` has no escapes and only ``[!...]``.)
* ``regex``: RE2 in POSIX mode with a full match. Perl-only syntax (``\\d``, ``(?i)``, lazy
  quantifiers, back-references) is a compile error as in RE2; ``[[:alpha:]]`` classes work.
* ``pmatch``: component-wise path prefixes; components may be globs.
* ``icontains`` and ``iglob`` fold ASCII letters only, like ``strcasestr`` in the C locale.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from .errors import FilterError

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")

# C-locale character classes, as Python character-set bodies.
_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": " \\t\\n\\r\\f\\v",
    "blank": " \\t",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "print": "\\x20-\\x7e",
    "graph": "\\x21-\\x7e",
    "cntrl": "\\x00-\\x1f\\x7f",
    "xdigit": "0-9a-fA-F",
    "word": "a-zA-Z0-9_",
}


def ascii_lower(text: str) -> str:
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def ascii_upper(text: str) -> str:
    return text.upper() if text.isascii() else text.translate(_ASCII_UPPER)


# --- glob --------------------------------------------------------------------------------------
def _glob_bracket(pattern: str, start: int) -> tuple[str, int] | None:
    """Translate ``[...]`` starting at ``start`` (the ``[``); None when it is not closed."""
    i = start + 1
    negate = i < len(pattern) and pattern[i] in "!^"
    if negate:
        i += 1
    items: list[str] = []
    first = True
    while i < len(pattern):
        ch = pattern[i]
        if ch == "]" and not first:
            body = "".join(items) or "\\x00-\\U0010ffff"
            return ("[^" if negate else "[") + body + "]", i + 1
        first = False
        if ch == "[" and pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            name = pattern[i + 2 : end] if end >= 0 else ""
            if name in _CLASSES:
                items.append(_CLASSES[name])
                i = end + 2
                continue
        if ch == "\\" and i + 1 < len(pattern):
            i += 1
            ch = pattern[i]
        if i + 2 < len(pattern) and pattern[i + 1] == "-" and pattern[i + 2] != "]":
            high = pattern[i + 2]
            if high == "\\" and i + 3 < len(pattern):
                high = pattern[i + 3]
                i += 1
            if ord(high) >= ord(ch):
                items.append(re.escape(ch) + "-" + re.escape(high))
            i += 3
            continue
        items.append(re.escape(ch))
        i += 1
    return None


def glob_to_regex(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "\\":
            if i + 1 == len(pattern):
                return "(?!)"  # glibc: a trailing backslash loses
            i += 1
            out.append(re.escape(pattern[i]))
        elif ch == "[":
            bracket = _glob_bracket(pattern, i)
            if bracket is None:
                out.append(re.escape(ch))
            else:
                out.append(bracket[0])
                i = bracket[1]
                continue
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def glob_matcher(pattern: str, casefold: bool = False) -> Callable[[str], object]:
    """A ``fullmatch`` callable: truthy when ``value`` matches ``pattern``."""
    flags = re.DOTALL | (re.IGNORECASE | re.ASCII if casefold else 0)
    return re.compile(glob_to_regex(pattern), flags).fullmatch


# --- regex (RE2, POSIX syntax) ------------------------------------------------------------------
_PERL_ONLY_ESCAPES = frozenset("dDsSwWbBAzCQEpPGZ123456789")


def _re2_error(message: str) -> FilterError:
    return FilterError(f"invalid regex pattern: {message}")


_REPEAT = re.compile(r"\{[0-9]+(?:,[0-9]*)?\}")


def re2_posix_to_python(pattern: str) -> str:
    """Check RE2's POSIX syntax and translate the few spellings Python reads differently."""
    out: list[str] = []
    i = 0
    after_repeat = False  # RE2 rejects a repetition applied to a repetition ("a*?", "a**")
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i = _translate_escape(pattern, i, out)
            after_repeat = False
            continue
        if ch == "[":
            i = _translate_class(pattern, i, out)
            after_repeat = False
            continue
        if ch == "(" and pattern.startswith("(?", i):
            raise _re2_error("missing argument to repetition operator: ?")
        repeat = _REPEAT.match(pattern, i) if ch == "{" else None
        if ch in "*+?" or repeat:
            if after_repeat:
                end = repeat.end() if repeat else i + 1
                raise _re2_error(f"bad repetition operator: {pattern[i - 1 : end]}")
            token = repeat.group(0) if repeat else ch
            out.append(token)
            i += len(token)
            after_repeat = True
            continue
        after_repeat = False
        out.append("\\{" if ch == "{" else ch)  # a "{" that is no repetition is literal in RE2
        i += 1
    return "".join(out)


def _translate_escape(pattern: str, i: int, out: list[str]) -> int:
    if i + 1 == len(pattern):
        raise _re2_error("trailing \\")
    nxt = pattern[i + 1]
    if nxt in _PERL_ONLY_ESCAPES:
        raise _re2_error(f"invalid escape sequence: \\{nxt}")
    if nxt == "x" and pattern.startswith("{", i + 2):
        end = pattern.find("}", i + 3)
        digits = pattern[i + 3 : end] if end > 0 else ""
        if not digits or any(c not in "0123456789abcdefABCDEF" for c in digits) or int(digits, 16) > 0x10FFFF:
            raise _re2_error(f"invalid escape sequence: {pattern[i : end + 1 if end > 0 else None]}")
        out.append(re.escape(chr(int(digits, 16))))
        return end + 1
    out.append(pattern[i : i + 2])
    return i + 2


def _translate_class(pattern: str, i: int, out: list[str]) -> int:
    """A bracket expression: ``[:name:]`` classes become ranges, a leading ``]`` is literal."""
    out.append("[")
    i += 1
    if pattern.startswith("^", i):
        out.append("^")
        i += 1
    if pattern.startswith("]", i):
        out.append("\\]")
        i += 1
    while i < len(pattern):
        ch = pattern[i]
        if ch == "]":
            out.append("]")
            return i + 1
        if ch == "\\":
            i = _translate_escape(pattern, i, out)
            continue
        if pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            name = pattern[i + 2 : end] if end >= 0 else None
            if name is not None:
                if name not in _CLASSES:
                    raise _re2_error(f"invalid character class range: {pattern[i : end + 2]}")
                out.append(_CLASSES[name])
                i = end + 2
                continue
        out.append("\\[" if ch == "[" else ch)
        i += 1
    raise _re2_error(f"missing ]: {pattern}")


@lru_cache(maxsize=4096)
def regex_matcher(pattern: str) -> Callable[[str], object]:
    """A full-match callable for an RE2 POSIX pattern; raise ``invalid regex pattern`` when bad."""
    translated = re2_posix_to_python(pattern)
    try:
        compiled = re.compile(translated, re.MULTILINE)
    except re.error as exc:
        raise _re2_error(str(exc)) from None
    return compiled.fullmatch


# --- pmatch -------------------------------------------------------------------------------------
def _components(path: str) -> tuple[str, ...]:
    return tuple(c for c in path.split("/") if c)


class PathMatcher:
    """``pmatch (p1, p2, ...)``: true when some ``p`` is a component-wise prefix of the value."""

    __slots__ = ("_exact", "_globbed")

    def __init__(self, paths: Iterable[str]) -> None:
        exact: set[tuple[str, ...]] = set()
        globbed: list[tuple[Callable[[str], object], ...]] = []
        for path in paths:
            comps = _components(path)
            if any(c in comp for comp in comps for c in "*?["):
                globbed.append(tuple(glob_matcher(comp) for comp in comps))
            else:
                exact.add(comps)
        self._exact = frozenset(exact)
        self._globbed = tuple(globbed)

    def __call__(self, value: str) -> bool:
        comps = _components(value)
        exact = self._exact
        for n in range(len(comps) + 1):
            if comps[:n] in exact:
                return True
        for matchers in self._globbed:
            if len(matchers) <= len(comps) and all(m(c) for m, c in zip(matchers, comps, strict=False)):
                return True
        return False
