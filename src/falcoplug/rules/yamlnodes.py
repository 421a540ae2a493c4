"""YAML documents as nodes that remember where they are (for error locations).

PyYAML's composer gives nodes with 0-based line/column marks, the same numbers yaml-cpp gives
Falco. :class:`YNode` offers what the rules reader needs, with yaml-cpp's view of scalars: every
scalar is text; ``~``, ``null`` and empty plain scalars are null.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import yaml

from ..errors import FalcoplugError
from ..filter.parser import recursion_room
from .results import Mark

_NULL_TAG = "tag:yaml.org,2002:null"
_TRUE = frozenset({"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
_FALSE = frozenset({"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})


MAX_DEPTH: Final = 1000  # nested sequences and mappings in a rules file (yaml-cpp stops deeper input too)


class YamlParseError(FalcoplugError):
    """A rules file that is not valid YAML; the loader reports it as Falco does (``LOAD_ERR_YAML_PARSE``
    at ``mark``), so it normally never leaves ``rules/``."""

    def __init__(self, message: str, mark: Mark | None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


def _mark(m: yaml.Mark | None) -> Mark:
    return Mark(m.index, m.line, m.column) if m is not None else Mark()


@dataclass(frozen=True, slots=True)
class YNode:
    node: yaml.Node

    @property
    def mark(self) -> Mark:
        return _mark(self.node.start_mark)

    @property
    def is_map(self) -> bool:
        return isinstance(self.node, yaml.MappingNode)

    @property
    def is_seq(self) -> bool:
        return isinstance(self.node, yaml.SequenceNode)

    @property
    def is_null(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and self.node.tag == _NULL_TAG

    @property
    def is_scalar(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and not self.is_null

    @property
    def text(self) -> str:
        return str(self.node.value) if isinstance(self.node, yaml.ScalarNode) else ""

    def items(self) -> Iterator[YNode]:
        """The elements of a sequence (nothing for other nodes)."""
        if self.is_seq:
            for child in self.node.value:
                yield YNode(child)

    def pairs(self) -> Iterator[tuple[str, YNode, YNode]]:
        """``(key text, key node, value node)`` of a mapping."""
        if self.is_map:
            for key, value in self.node.value:
                yield (str(key.value) if isinstance(key, yaml.ScalarNode) else "", YNode(key), YNode(value))

    def get(self, key: str) -> YNode | None:
        """The value of ``key`` in a mapping (the first one, as yaml-cpp), or None."""
        for name, _, value in self.pairs():
            if name == key:
                return value
        return None

    def key_node(self, key: str) -> YNode | None:
        for name, key_node, _ in self.pairs():
            if name == key:
                return key_node
        return None

    def as_bool(self) -> bool | None:
        text = self.text
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return None

    def as_uint(self, bits: int = 32) -> int | None:
        text = self.text.strip().removeprefix("+")
        if not text.isdigit():
            return None
        value = int(text)
        return value if value < (1 << bits) else None


class _DepthLimitedLoader(yaml.SafeLoader):
    """PyYAML's composer recurses once per nesting level: deeper than :data:`MAX_DEPTH` is a
    parse error at the node where it happens, not a ``RecursionError``."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:  # type: ignore[override]
        if self._depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, f"nesting deeper than {MAX_DEPTH} levels", mark
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


def _libyaml_loader() -> type | None:
    """LibYAML's composer (ten times PyYAML's speed), where it stops at :data:`MAX_DEPTH` levels
    itself (libyaml 0.2.5 and later): it gives the same nodes and marks."""
    try:
        from yaml import _yaml
    except ImportError:
        return None
    return getattr(yaml, "CSafeLoader", None) if _yaml.get_version() >= (0, 2, 5) else None


_FAST_LOADER: Final = _libyaml_loader()


def load_documents(content: str) -> list[YNode | None]:
    """Every document of a YAML stream (None for empty documents); parse errors first, as
    yaml-cpp's ``LoadAll`` parses the whole stream before any document is read."""
    if _FAST_LOADER is not None:
        try:
            return [YNode(doc) if doc is not None else None for doc in yaml.compose_all(content, Loader=_FAST_LOADER)]
        except yaml.YAMLError:
            pass  # PyYAML's own composer below words the error as it always has
    try:
        with recursion_room(3 * MAX_DEPTH):  # a few frames per level, for MAX_DEPTH levels
            return [
                YNode(doc) if doc is not None else None
                for doc in yaml.compose_all(content, Loader=_DepthLimitedLoader)
            ]
    except yaml.MarkedYAMLError as exc:
        message = exc.problem or str(exc)
        if exc.context:
            message = f"{exc.context}; {message}"
        raise YamlParseError(message, _mark(exc.problem_mark)) from None
    except yaml.YAMLError as exc:
        raise YamlParseError(str(exc), None) from None
