"""The field table of a bundled plugin's ``README.md``, generated from its field declarations.

As in falcosecurity/plugins, the table sits between ``<!-- README-PLUGIN-FIELDS -->`` and
``<!-- /README-PLUGIN-FIELDS -->``; everything else in the README is written by hand. Regenerate
after changing a field::

    python -m falcoplug.plugins.readme            # rewrite every bundled plugin's table
    python -m falcoplug.plugins.readme --check    # exit 1 when a table is out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Final

from ..sdk.extract import ExtractPlugin
from ..sdk.reference import load_plugin_class
from . import BUNDLED

BEGIN: Final = "<!-- README-PLUGIN-FIELDS -->"
END: Final = "<!-- /README-PLUGIN-FIELDS -->"


def _arg_text(arg: dict[str, Any] | None) -> str:
    """The ARG column as the plugins repo words it: ``None``, ``Index``, ``Key, Required``..."""
    if not arg:
        return "None"
    kinds = [word for word, flag in (("Index", arg.get("isIndex")), ("Key", arg.get("isKey"))) if flag]
    return ", ".join(kinds + (["Required"] if arg.get("isRequired") else []))


def field_table(cls: type[ExtractPlugin]) -> str:
    """The Markdown table of ``cls``'s fields, in declaration order (markers included)."""
    rows = ["| NAME | TYPE | ARG | DESCRIPTION |", "|------|------|-----|-------------|"]
    for entry in json.loads(cls.fields_json()):
        ftype = f"{entry['type']} (list)" if entry.get("isList") else entry["type"]
        desc = entry.get("desc", "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{entry['name']}` | `{ftype}` | {_arg_text(entry.get('arg'))} | {desc} |")
    return "\n".join([BEGIN, *rows, END])


def with_table(readme: str, table: str) -> str:
    """``readme`` with the text between the markers replaced by ``table``."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no {BEGIN} ... {END} markers")
    return readme[:start] + table + readme[end + len(END):]


def readme_path(name: str) -> Path:
    """The README of a bundled plugin that is a package (``plugins/<name>/README.md``)."""
    module = sys.modules.get(BUNDLED[name]) or __import__(BUNDLED[name], fromlist=["_"])
    return Path(module.__file__ or "").parent / "README.md"


def stale_readmes(write: bool) -> list[Path]:
    """The bundled packages' READMEs whose table differs from the declarations (rewritten if ``write``)."""
    stale = []
    for name in BUNDLED:
        path = readme_path(name)
        if not path.exists():
            continue  # a single-module plugin: its documentation is the module docstring
        cls = load_plugin_class(BUNDLED[name])
        assert issubclass(cls, ExtractPlugin)
        text = path.read_text(encoding="utf-8")
        fresh = with_table(text, field_table(cls))
        if fresh != text:
            stale.append(path)
            if write:
                path.write_text(fresh, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (sys.argv[1:] if argv is None else argv)
    stale = stale_readmes(write=not check)
    for path in stale:
        print(f"{path}: field table {'out of date' if check else 'rewritten'}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
