"""String matching with libsinsp's semantics, not Python's defaults.

* ``glob``/``iglob``: POSIX ``fnmatch(pattern, value, 0 | FNM_CASEFOLD)``: ``*`` also matches ``/``,
  a backslash escapes the next character, brackets take ``!`` or ``^`` and ``[:class:]``; a
  trailing backslash never matches. (:mod:`fnmatch` has no escapes and only ``[!...]``.)
* ``regex``: RE2 itself (the ``google-re2`` bindings), in POSIX mode with a full match, as
  libsinsp compiles it: the same syntax, the same error messages, linear time. Perl-only syntax
  (``\\d``, ``(?i)``, back-references) is a compile error; ``[[:alpha:]]`` classes work.
* Neither backtracks: ``regex '(a+)+b'`` or a glob of 30 stars takes time linear in the value.
* ``pmatch``: component-wise path prefixes; components may be globs.
* ``icontains`` and ``iglob`` fold ASCII letters only, like ``strcasestr`` in the C locale.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, Final

import re2

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


def _glob_atoms(pattern: str) -> list[str] | None:
    """The pattern as atoms: ``"*"`` for a star (runs of stars are one), else a Python regex that
    matches exactly one character. ``None``: the pattern can match nothing (a trailing backslash)."""
    atoms: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if not atoms or atoms[-1] != "*":
                atoms.append("*")
        elif ch == "?":
            atoms.append(".")
        elif ch == "\\":
            if i + 1 == len(pattern):
                return None  # glibc: a trailing backslash loses
            i += 1
            atoms.append(re.escape(pattern[i]))
        elif ch == "[" and (bracket := _glob_bracket(pattern, i)) is not None:
            atoms.append(bracket[0])
            i = bracket[1]
            continue
        else:
            atoms.append(re.escape(ch))
        i += 1
    return atoms


def glob_to_regex(pattern: str) -> str:
    """The glob as one Python regex (for reading; matching uses :func:`glob_matcher`)."""
    atoms = _glob_atoms(pattern)
    return "(?!)" if atoms is None else "".join(".*" if a == "*" else a for a in atoms)


class _GlobMatcher:
    """A glob cut at its stars into fixed-length segments, each a star-free regex: the first must
    match at the start, the last at the end, and each middle one is searched leftmost from where
    the previous one ended (the leftmost place is always a right one, as a star takes anything).
    No backtracking across stars: time linear in the value for a given pattern, unlike a ``.*``
    regex (``*a*a*a...b`` takes exponential time in a backtracking engine)."""

    __slots__ = ("_head", "_head_len", "_middle", "_tail", "_tail_len")

    def __init__(self, segments: list[list[str]], flags: int) -> None:
        def piece(atoms: list[str]) -> re.Pattern[str] | None:
            return re.compile("".join(atoms), flags) if atoms else None

        head, *middle, tail = segments
        self._head, self._head_len = piece(head), len(head)
        self._tail, self._tail_len = piece(tail), len(tail)
        self._middle = tuple(re.compile("".join(seg), flags).search for seg in middle)

    def __call__(self, value: str) -> bool | None:
        end = len(value) - self._tail_len
        pos = self._head_len
        if end < pos:
            return None
        if self._head is not None and self._head.match(value) is None:
            return None
        if self._tail is not None and self._tail.fullmatch(value, end) is None:
            return None
        for search in self._middle:
            found = search(value, pos, end)
            if found is None:
                return None
            pos = found.end()
        return True


def _never(value: str) -> None:
    return None


@lru_cache(maxsize=4096)
def glob_matcher(pattern: str, casefold: bool = False) -> Callable[[str], object]:
    """A match callable: not ``None`` when ``value`` matches ``pattern`` (``fnmatch`` semantics)."""
    atoms = _glob_atoms(pattern)
    if atoms is None:
        return _never
    flags = re.DOTALL | (re.IGNORECASE | re.ASCII if casefold else 0)
    if "*" not in atoms:  # one fixed-length segment: a plain full match, no backtracking possible
        return re.compile("".join(atoms), flags).fullmatch
    segments: list[list[str]] = [[]]
    for atom in atoms:
        if atom == "*":
            segments.append([])
        else:
            segments[-1].append(atom)
    return _GlobMatcher(segments, flags)


# --- regex (RE2 itself, POSIX syntax) ------------------------------------------------------------
def _re2_options() -> re2.Options:
    # libsinsp compiles with RE2::POSIX (POSIX syntax, leftmost-longest) and tests FullMatch.
    options = re2.Options()
    options.posix_syntax = True
    options.longest_match = True
    options.log_errors = False
    options.never_capture = True  # only whether it matches is asked
    return options


_RE2_OPTIONS: Final = _re2_options()


def _re2_error(message: str) -> FilterError:
    return FilterError(f"invalid regex pattern: {message}")


class _RegexMatcher:
    """RE2's full match on a value's UTF-8 bytes (what libsinsp hands RE2): linear time.

    A call through the bindings costs several microseconds, and event streams repeat their values
    (user names, paths, verbs): the answers for recent values are kept, a bounded table emptied
    when full, so a repeated value costs a dict lookup.
    """

    __slots__ = ("_fullmatch", "_seen")
    SEEN_LIMIT: Final = 4096

    def __init__(self, compiled: Any) -> None:
        self._fullmatch = compiled.fullmatch
        self._seen: dict[str, bool | None] = {}

    def __call__(self, value: str) -> bool | None:
        seen = self._seen
        known = seen.get(value, 0)
        if known != 0:
            return known  # type: ignore[return-value]
        if len(seen) >= self.SEEN_LIMIT:
            seen.clear()
        result = seen[value] = True if self._fullmatch(value.encode("utf-8", "surrogatepass")) else None
        return result


@lru_cache(maxsize=4096)
def regex_matcher(pattern: str) -> Callable[[str], object]:
    """A full-match callable for an RE2 POSIX pattern; raise ``invalid regex pattern`` when bad,
    with RE2's own message."""
    try:
        compiled = re2.compile(pattern.encode("utf-8", "surrogatepass"), _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "bad pattern"
        raise _re2_error(reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)) from None
    return _RegexMatcher(compiled)


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
