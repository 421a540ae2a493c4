"""A quick look at a JSON text, in compiled code when the fast path is built."""

from __future__ import annotations

from .ffi import fastpath


def orjson_reads_as_standard(text: bytes) -> bool:
    """Whether orjson would read ``text`` as the json plugin's standard decoding does (no float, no
    number of 19 digits or more, no ``\\u`` escape). ``False`` without the compiled fast path: the
    standard decoder then reads everything."""
    return fastpath is not None and bool(fastpath.fp_json_plain(text, len(text)))
