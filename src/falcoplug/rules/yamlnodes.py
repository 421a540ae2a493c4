"""YAML documents as nodes that remember where they are (for error locations).

PyYAML's composer gives nodes with 0-based line/column marks, the same numbers yaml-cpp gives
Falco. :class:`YNode` offers what the rules reader needs, with yaml-cpp's view of scalars: every
scalar is text; ``~``, ``null`` and empty plain scalars are null.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import yaml

from .results import Mark

_NULL_TAG = "tag:yaml.org,2002:null"
_TRUE = frozenset({"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
_FALSE = frozenset({"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})


class YamlParseError(Exception):
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


def load_documents(content: str) -> list[YNode | None]:
    """Every document of a YAML stream (None for empty documents); parse errors first, as
    yaml-cpp's ``LoadAll`` parses the whole stream before any document is read."""
    try:
        return [
            YNode(doc) if doc is not None else None
            for doc in yaml.compose_all(content, Loader=yaml.SafeLoader)
        ]
    except yaml.MarkedYAMLError as exc:
        message = exc.problem or str(exc)
        if exc.context:
            message = f"{exc.context}; {message}"
        raise YamlParseError(message, _mark(exc.problem_mark)) from None
    except yaml.YAMLError as exc:
        raise YamlParseError(str(exc), None) from None
