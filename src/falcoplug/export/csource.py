"""Writing the C source of a plugin library: literals and the ``#define`` block the builder
puts before the C code of each capability (``c/*.c``)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources


class CRaw(str):
    """A ``#define`` value written as it is (C code), not as a string literal."""


def c_string(text: str) -> str:
    """A C string literal for ``text`` (UTF-8), with every byte outside printable ASCII escaped
    in octal (which, unlike ``\\x``, cannot swallow the characters that follow)."""
    out = ['"']
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F and char != "?":  # '?' escaped to rule out trigraphs
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    out.append('"')
    return "".join(out)


def define_block(defines: Mapping[str, str | int | None]) -> str:
    """``#define`` lines: str values become string literals, ints numbers, ``None`` a bare flag."""
    lines = []
    for name, value in defines.items():
        if value is None:
            lines.append(f"#define {name} 1")
        elif isinstance(value, CRaw):
            lines.append(f"#define {name} {value}")
        elif isinstance(value, bool) or not isinstance(value, (int, str)):
            raise TypeError(f"cannot write {name}={value!r} as a C define")
        elif isinstance(value, int):
            lines.append(f"#define {name} {value}")
        else:
            lines.append(f"#define {name} {c_string(value)}")
    return "\n".join(lines) + "\n"


def c_file(name: str) -> str:
    """The text of one of the C files shipped with falcoplug.export (``c/<name>``)."""
    return resources.files(__package__).joinpath("c", name).read_text()
