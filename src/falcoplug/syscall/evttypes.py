"""The event codes a condition can match (libsinsp's ``ppm_event_codes``), for Falco's
"Rule matches too many evt.type values" warning.

``and`` intersects its children's sets, ``or`` unites them; ``evt.type`` checks (``=``, ``!=``,
``in``) give the codes of their names; every other check is neutral (all codes). Negations are
pushed down to the leaves (De Morgan), where a set that came from ``evt.type`` names is inverted
and a neutral one is not.
"""

from __future__ import annotations

from ..errors import FalcoplugError
from ..filter import ast
from .catalogue import event_table

_EVTTYPE_OPS = frozenset({"=", "==", "!=", "in"})


class EvttypeSearchError(FalcoplugError, ValueError):
    """A condition libsinsp's event code search cannot handle: Falco stops at startup with it."""


class _Search:
    def __init__(self) -> None:
        table = event_table()
        self.all = table.all_codes
        self.names = table.evttypes
        self.is_evttype = False
        self.is_field_or_transformer = True
        self.negated = False
        self.has_codes = False
        self.codes: frozenset[int] = frozenset()

    def _invert(self, codes: frozenset[int]) -> frozenset[int]:
        return self.all - codes if self.has_codes else codes

    def _maybe_invert(self, codes: frozenset[int]) -> frozenset[int]:
        return self._invert(codes) if self.negated else codes

    def _names(self, names: tuple[str, ...]) -> frozenset[int]:
        return frozenset().union(*(self.names.get(n, frozenset()) for n in names))

    def visit(self, node: ast.Node) -> None:
        if isinstance(node, ast.And):
            self._combine(node.children, intersect=not self.negated)
        elif isinstance(node, ast.Or):
            self._combine(node.children, intersect=self.negated)
        elif isinstance(node, ast.Not):
            self.codes = frozenset()
            saved, self.negated = self.negated, not self.negated
            self.visit(node.child)
            self.negated = saved
            self.is_evttype = False
        elif isinstance(node, ast.BinaryCheck):
            self._binary(node)
        elif isinstance(node, ast.UnaryCheck):
            self.visit(node.left)
            self.has_codes = self.is_evttype and node.op == "exists"
            self._neutral()
        elif isinstance(node, (ast.Value, ast.ListValue)):
            self.has_codes = True
            values = (node.value,) if isinstance(node, ast.Value) else node.values
            self.codes = self._maybe_invert(self._names(tuple(values)))
            self.is_evttype = False
        elif isinstance(node, ast.Field):
            self.has_codes = False
            self.is_field_or_transformer = True
            self.is_evttype = node.name in ("evt.type", "syscall.type") and not node.arg
            self.codes = self._maybe_invert(self.all)
        elif isinstance(node, ast.Transformer):
            if node.args:
                self.visit(node.args[0])
            if self.is_evttype:
                raise EvttypeSearchError("event code search does not support `evt.type` checks with transformers")
            self.is_field_or_transformer = True
        else:  # an identifier (an unresolved macro) or anything else: neutral
            self.has_codes = False
            self._neutral()

    def _neutral(self) -> None:
        self.codes = self._maybe_invert(self.all)
        self.is_evttype = False

    def _combine(self, children: tuple[ast.Node, ...], intersect: bool) -> None:
        out = self.all if intersect else frozenset()
        for child in children:
            self.visit(child)
            out = out & self.codes if intersect else out | self.codes
        self.codes = out
        self.is_evttype = False

    def _binary(self, node: ast.BinaryCheck) -> None:
        self.has_codes = False
        if node.op in _EVTTYPE_OPS and node.modifier is None:
            self.visit(node.left)
            if self.is_evttype:
                self.is_field_or_transformer = False
                self.visit(node.right)
                if self.is_field_or_transformer:
                    raise EvttypeSearchError(
                        "right-hand field comparisons on `evt.type`/`syscall.type` checks are not supported by "
                        "event code search"
                    )
                if node.op == "!=":
                    self.codes = self._invert(self.codes)
                self.is_evttype = False
                return
        self.has_codes = False
        self._neutral()


def event_codes(node: ast.Node) -> frozenset[int]:
    """The event codes for which ``node`` (macros resolved) can be true."""
    search = _Search()
    search.visit(node)
    return search.codes


def matches_too_many(node: ast.Node) -> bool:
    """Falco's test for its LOAD_NO_EVTTYPE warning: no code at all, or more than 100."""
    codes = event_codes(node)
    return not codes or len(codes) > 100
