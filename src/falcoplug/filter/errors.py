"""The filter package's error type and the source position it points at."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import FalcoplugError


@dataclass(frozen=True, slots=True)
class Pos:
    """A position in a condition string, as libsinsp counts it: ``idx`` from 0, line and column from 1."""

    idx: int = 0
    line: int = 1
    col: int = 1

    def as_string(self) -> str:
        return f"index {self.idx}, line {self.line}, column {self.col}"


START = Pos()


class FilterError(FalcoplugError):
    """A condition or output format that does not parse or compile.

    ``str(error)`` is libsinsp's own message (what Falco shows after ``LOAD_ERR_COMPILE_CONDITION``);
    ``pos`` is where the parser or compiler was when it failed, when known.
    """

    def __init__(self, message: str, pos: Pos | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos

    def describe(self) -> str:
        """The message as ``sinsp_filter_compiler`` words a parse error: with its position."""
        if self.pos is None:
            return self.message
        return f"filter error at {self.pos.as_string()}: {self.message}"
