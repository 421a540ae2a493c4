"""Every Python example of the docs runs (STYLE.md §2.5), so documentation cannot drift from the code.

Covered: the ```python blocks of ``README.md`` and ``docs/*.md`` (found when the tests are collected,
so a new page is covered without a change here), and the ``::`` blocks of the docstrings of
``falcoplug.sdk`` and its modules. A block whose first line is ``# fragment`` (optionally followed
by ``: why``) is not run, as Rust doctests mark ``ignore``.

How a block runs:
* Blocks of one page run in order in one namespace, as a reader types them into one session; a
  block that fails is reported with its page and number (``docs/sdk.md#3``).
* A block whose code is indented continues the last plugin class of the page (a walkthrough adds
  methods step by step): its top-level imports go first, its methods into that class. The page's
  classes, so completed, run once at the end of the page's class blocks; a page listed in
  :data:`PLUGIN_FILES` also gets them written to the file it tells the reader to create.
* Docstring examples run with the public names of ``falcoplug.sdk`` in scope (their hidden setup).
* Every plugin class a block defines passes the SDK's checks (``describe``), as ``falcoplug build``
  runs them. The working directory is a temporary one holding ``examples/`` from the repository.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import falcoplug.sdk
from falcoplug.sdk import Plugin, describe

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FRAGMENT = re.compile(r"#\s*fragment\b")
# The file a page tells its reader to create from its plugin class.
PLUGIN_FILES = {"walkthrough.md": "mydummy.py"}


@dataclass(frozen=True)
class Block:
    doc: str
    index: int
    code: str

    @property
    def name(self) -> str:
        return f"{self.doc}#{self.index}"

    @property
    def fragment(self) -> bool:
        first = self.code.lstrip("\n").split("\n", 1)[0]
        return bool(FRAGMENT.match(first.strip()))

    @property
    def continuation(self) -> bool:
        """Methods for the page's last class: the block alone is unexpectedly indented."""
        try:
            compile(self.code, self.name, "exec", dont_inherit=True)
        except IndentationError:
            return True
        except SyntaxError:
            return False
        return False


def _blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    doc = path.name if path.parent == ROOT else f"docs/{path.name}"
    return [Block(doc, i, code) for i, code in enumerate(re.findall(r"```python\n(.*?)```", text, re.S))]


def _docstring_blocks() -> list[Block]:
    modules = [falcoplug.sdk] + [
        importlib.import_module(f"falcoplug.sdk.{m.name}") for m in pkgutil.iter_modules(falcoplug.sdk.__path__)
    ]
    out = []
    for module in modules:
        doc = inspect.getdoc(module) or ""
        # A "::" paragraph ends a line; the example is the indented text after it.
        for i, match in enumerate(re.finditer(r"::\n\n((?:[ \t]+.*\n|\n)+)", doc + "\n")):
            out.append(Block(module.__name__, i, textwrap.dedent(match.group(1))))
    return out


PAGES = {path.name: _blocks(path) for path in DOCS}
DOCSTRINGS = _docstring_blocks()


def plugin_classes(scope: dict[str, Any]) -> list[type[Plugin]]:
    """The plugin classes a block defined (not the SDK's own bases it imported)."""
    return [
        value for value in scope.values()
        if isinstance(value, type) and issubclass(value, Plugin) and "name" in value.__dict__
        and not value.__module__.startswith("falcoplug.")
    ]  # fmt: skip


def _run(code: str, name: str, scope: dict[str, Any]) -> None:
    try:
        exec(compile(code, f"<{name}>", "exec", dont_inherit=True), scope)  # noqa: S102
    except Exception as exc:  # noqa: BLE001 - the block's name is the useful part of the report
        raise AssertionError(f"{name} does not run: {type(exc).__name__}: {exc}") from exc


def _split_continuation(code: str) -> tuple[str, str]:
    """(the top-level statements before the first indented line, the indented rest)."""
    lines = code.splitlines(keepends=True)
    for i, line in enumerate(lines):
        head = "".join(lines[:i])
        if line.strip() and line[0] in " \t" and _compiles(head):
            return head, "".join(lines[i:])
    return code, ""


def _compiles(code: str) -> bool:
    try:
        compile(code, "<head>", "exec", dont_inherit=True)
    except SyntaxError:
        return False
    return True


def page_program(blocks: list[Block]) -> tuple[list[tuple[str, str]], str]:
    """A page as (name, code) steps in reading order, continuation methods put into the class they
    continue; the second item is the source of the page's plugin classes (for ``PLUGIN_FILES``)."""
    steps: list[tuple[str, str]] = []
    class_step: int | None = None
    for block in blocks:
        if block.fragment:
            continue
        if block.continuation and class_step is not None:
            head, methods = _split_continuation(block.code)
            name, code = steps[class_step]
            steps[class_step] = (f"{name}+{block.index}", code.rstrip("\n") + "\n\n" + methods)
            if head.strip():  # its imports are needed before the class runs
                steps.insert(class_step, (block.name, head))
                class_step += 1
            continue
        steps.append((block.name, block.code))
        if re.search(r"^class \w+\(.*Plugin.*\):", block.code, re.M):
            class_step = len(steps) - 1
    # A class that a later block completes runs after the blocks its methods need (a config
    # dataclass defined below it on the page): move it after the last non-usage block before
    # its first use. Simplest faithful order: classes after the definitions that precede usage.
    classes = [s for s in steps if re.search(r"^class \w+\(.*Plugin.*\):", s[1], re.M) and "+" in s[0]]
    rest = [s for s in steps if s not in classes]
    usage = [i for i, s in enumerate(rest) if re.search(r"^(insp|host)\b|Inspector\(\)", s[1], re.M)]
    at = usage[0] if usage else len(rest)
    ordered = rest[:at] + classes + rest[at:]
    source = "\n\n".join(code for name, code in ordered[:at + len(classes)])
    return ordered, source


@pytest.fixture
def in_scratch_dir(tmp_path: Path) -> Path:
    """A temporary working directory with the repository's examples, for relative paths in docs."""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_examples_run(page: str, in_scratch_dir: Path) -> None:
    steps, source = page_program(PAGES[page])
    if not steps:
        pytest.skip(f"{page}: no runnable Python example")
    if page in PLUGIN_FILES:
        (in_scratch_dir / PLUGIN_FILES[page]).write_text(source)
    scope: dict[str, Any] = {"__name__": f"doc_{Path(page).stem}"}
    for name, code in steps:
        _run(code, name, scope)
        for cls in plugin_classes(scope):
            describe(cls)


@pytest.mark.parametrize("block", DOCSTRINGS, ids=[b.name for b in DOCSTRINGS])
def test_docstring_examples_run(block: Block) -> None:
    if block.fragment:
        pytest.skip(f"{block.name}: marked as a fragment")
    scope: dict[str, Any] = {name: getattr(falcoplug.sdk, name) for name in falcoplug.sdk.__all__}
    scope["__name__"] = f"doc_{block.name.replace('.', '_')}"
    _run(block.code, block.name, scope)
    for cls in plugin_classes(scope):
        describe(cls)


def test_every_page_with_python_is_covered() -> None:
    """The collection above is not empty by accident: the pages and docstrings with examples."""
    assert {"README.md", "sdk.md", "walkthrough.md"} <= {p for p, blocks in PAGES.items() if blocks}
    assert len(DOCSTRINGS) >= 7


def doc_plugins(page: str = "sdk.md") -> dict[str, type[Plugin]]:
    """The plugin classes of a page's examples, by class name (the other tests run them)."""
    found: dict[str, type[Plugin]] = {}
    scope: dict[str, Any] = {"__name__": f"doc_{Path(page).stem}"}
    for name, code in page_program(PAGES[page])[0]:
        if "Inspector" in code:
            continue  # usage, not a definition
        _run(code, name, scope)
        for cls in plugin_classes(scope):
            found[cls.__name__] = cls
    return found
