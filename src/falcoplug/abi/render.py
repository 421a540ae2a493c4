"""Text output of a batch in the compiled core (paired with ``c/render.c``).

A format made of literals, ``evt.num`` and plain fields of one C plugin (strings, numbers, booleans;
no lists, no addresses) is written for every event of a batch straight from the extracted value
streams into one buffer: no Python object per value, one write per batch. The text is the one
``filter/render.py`` gives (the tests compare both); anything else is rendered in Python. For a format
without a leading ``*``, an event where a printed field has no value gets no line, as in libsinsp.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..events import EventBatch
from .constants import FieldType
from .ffi import fastpath, ffi

if TYPE_CHECKING:
    from .extractor import CExtractor

PART_LITERAL, PART_EVTNUM, PART_FIELD = 0, 1, 2
RENDERED_TYPES = frozenset({FieldType.STRING, FieldType.UINT64, FieldType.RELTIME, FieldType.ABSTIME, FieldType.BOOL})


@dataclass(frozen=True)
class Part:
    """A literal (``text``), ``evt.num``, or field ``column`` of the extractor's request."""

    kind: int
    text: str = ""
    column: int = 0
    width: int = 0


class BatchRenderer:
    """The compiled text output of one format over one extractor's request."""

    def __init__(self, extractor: CExtractor, parts: Sequence[Part], require_all: bool = False) -> None:
        self.extractor = extractor
        self.require_all = require_all  # a format without "*": an event with a missing value gets no line
        self._keep: list[Any] = []
        self._parts = ffi.new("fp_render_part[]", len(parts))
        fields = extractor.fields
        for cpart, part in zip(self._parts, parts):
            cpart.kind = part.kind
            cpart.width = part.width
            if part.kind == PART_LITERAL:
                raw = part.text.encode()
                buf = ffi.new("char[]", raw)
                self._keep.append(buf)
                cpart.literal, cpart.literal_len = buf, len(raw)
            elif part.kind == PART_FIELD:
                cpart.column = part.column
                cpart.ftype = fields[part.column].ftype
        self._nparts = len(parts)
        self._ftypes = ffi.new("uint32_t[]", [f.ftype for f in fields] or [0])
        self._cursor = ffi.new("uint64_t[]", max(1, len(fields)))
        self._out = ffi.new("fp_stream*")

    def __del__(self) -> None:
        out = getattr(self, "_out", None)
        if out is not None:
            fastpath.fp_stream_free(out)

    def render(self, batch: EventBatch, evtnums: Sequence[int], first_num: int, source: str | None,
               type_ok: bytes | None) -> str | None:  # fmt: skip
        """The batch's lines (each ending with a newline), or ``None`` when the text is not valid
        UTF-8 (the Python path then reports it as it always does)."""
        values = self.extractor.extract_values(batch, evtnums, source, type_ok)
        n = len(batch)
        fields = self.extractor.fields
        rc = fastpath.fp_render_batch(
            self._parts, self._nparts, values, self._ftypes, len(fields), n, first_num, int(self.require_all),
            self._cursor, self._out,
        )
        if rc != 0:
            raise MemoryError("out of memory while rendering a batch")
        try:
            return ffi.buffer(self._out.data, self._out.len)[:].decode("utf-8")
        except UnicodeDecodeError:
            return None


def parts_for(tokens: Sequence[tuple[str, Any, int]], columns: dict[Any, int]) -> list[Part] | None:
    """Parts of a format: ``tokens`` are ``(literal, None, 0)`` or ``("", field, width)``; ``columns``
    maps a plugin field to its index in the request. ``None`` when the core cannot render it."""
    parts = []
    for literal, field, width in tokens:
        if field is None:
            parts.append(Part(PART_LITERAL, text=literal))
        elif field == "evt.num":
            parts.append(Part(PART_EVTNUM, width=width))
        elif field in columns:
            parts.append(Part(PART_FIELD, column=columns[field], width=width))
        else:
            return None
    return parts
