"""Load results as Falco reports them: error and warning codes, item contexts, ``falco -V`` text.

A context is the chain of locations Falco prints (``In rules content: (file:0:0)`` then
``    rule 'x': (file:12:2)`` ...). Lines and columns are 0-based, as yaml-cpp marks are and as Falco
prints them; a condition-expression location adds the parser's 1-based position to its parent's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class ErrorCode(Enum):
    LOAD_ERR_FILE_READ = "File read error"
    LOAD_ERR_YAML_PARSE = "YAML parse error"
    LOAD_ERR_YAML_VALIDATE = "Error validating internal structure of YAML file"
    LOAD_ERR_COMPILE_CONDITION = "Error compiling condition"
    LOAD_ERR_COMPILE_OUTPUT = "Error compiling output"
    LOAD_ERR_VALIDATE = "Error validating rule/macro/list/exception objects"
    LOAD_ERR_EXTENSION = "Error in extension item"


class WarningCode(Enum):
    LOAD_UNKNOWN_SOURCE = "Unknown event source"
    LOAD_UNSAFE_NA_CHECK = "Unsafe <NA> comparison in condition"
    LOAD_NO_EVTTYPE = "Condition has no event-type restriction"
    LOAD_UNKNOWN_FILTER = "Unknown field or event-type in condition or output"
    LOAD_UNUSED_MACRO = "Unused macro"
    LOAD_UNUSED_LIST = "Unused list"
    LOAD_UNKNOWN_ITEM = "Unknown rules file item"
    LOAD_DEPRECATED_ITEM = "Used deprecated item"
    LOAD_WARNING_EXTENSION = "Warning in extension item"
    LOAD_APPEND_NO_VALUES = "Overriding/appending with no values"
    LOAD_EXCEPTION_NAME_NOT_UNIQUE = "Multiple exceptions defined with the same name"
    LOAD_INVALID_MACRO_NAME = "Invalid macro name"
    LOAD_INVALID_LIST_NAME = "Invalid list name"
    LOAD_COMPILE_CONDITION = "Warning in rule condition"
    LOAD_UNKNOWN_KEY = "Unknown key in item definition"


class ItemType(Enum):
    VALUE_FOR = "value for"
    EXCEPTIONS = "exceptions"
    EXCEPTION = "exception"
    EXCEPTION_VALUES = "exception values"
    EXCEPTION_VALUE = "exception value"
    RULES_CONTENT = "rules content"
    RULES_CONTENT_ITEM = "rules content item"
    REQUIRED_ENGINE_VERSION = "required_engine_version"
    REQUIRED_PLUGIN_VERSIONS = "required plugin versions"
    REQUIRED_PLUGIN_VERSIONS_ENTRY = "required plugin versions entry"
    REQUIRED_PLUGIN_VERSIONS_ALTERNATIVE = "required plugin versions alternative"
    LIST = "list"
    LIST_ITEM = "list item"
    MACRO = "macro"
    MACRO_CONDITION = "macro condition"
    RULE = "rule"
    RULE_CONDITION = "rule condition"
    CONDITION_EXPRESSION = "condition expression"
    RULE_OUTPUT = "rule output"
    RULE_OUTPUT_EXPRESSION = "rule output expression"
    RULE_PRIORITY = "rule priority"
    OVERRIDE = "overrides"
    EXTENSION_ITEM = "extension item"


@dataclass(frozen=True, slots=True)
class Mark:
    """A position in a document: byte-ish offset, 0-based line and column (yaml-cpp's Mark)."""

    pos: int = 0
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True)
class Location:
    name: str  # the file name, or a quoted prefix of a condition
    mark: Mark
    item_type: ItemType
    item_name: str = ""


@dataclass(frozen=True, slots=True)
class Context:
    """Where an item (or a part of it) is: Falco's ``rule_loader::context``."""

    locations: tuple[Location, ...]
    alt_content: str = ""  # the condition text, for condition-expression contexts

    @staticmethod
    def for_file(name: str) -> Context:
        return Context((Location(name, Mark(), ItemType.RULES_CONTENT),))

    def child(self, mark: Mark, item_type: ItemType, item_name: str = "") -> Context:
        return Context(self.locations + (Location(self.name, mark, item_type, item_name),))

    def condition(self, idx: int, line: int, col: int, condition: str) -> Context:
        """A position inside a condition string (the parser's, 1-based) under this context."""
        short = condition if len(condition) <= 20 else condition[:17] + "..."
        name = ('"' + short + '"').replace("\n", " ").replace("\r", " ")
        last = self.locations[-1].mark
        mark = Mark(idx + last.pos, line + last.line, col + last.column)
        return Context(self.locations + (Location(name, mark, ItemType.CONDITION_EXPRESSION),), condition)

    @property
    def name(self) -> str:
        return self.locations[0].name

    @property
    def file(self) -> str:
        return self.locations[0].name

    @property
    def line(self) -> int:
        """The 0-based line of the innermost location in the file (not in a condition)."""
        for loc in reversed(self.locations):
            if loc.item_type is not ItemType.CONDITION_EXPRESSION:
                return loc.mark.line
        return 0

    def as_string(self) -> str:
        lines = []
        for i, loc in enumerate(self.locations):
            label = loc.item_type.value + (f" '{loc.item_name}'" if loc.item_name else "")
            lines.append(
                f"{'In ' if i == 0 else '    '}{label}: ({loc.name}:{loc.mark.line}:{loc.mark.column})\n"
            )
        return "".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "locations": [
                {
                    "item_type": loc.item_type.value,
                    "item_name": loc.item_name,
                    "position": {
                        "name": loc.name,
                        "line": loc.mark.line,
                        "column": loc.mark.column,
                        "offset": loc.mark.pos,
                    },
                }
                for loc in self.locations
            ]
        }

    def snippet(self, contents: Mapping[str, str], width: int = 160) -> str:
        """The line around the innermost position, with a ``^`` under it (Falco's ``snippet``)."""
        loc = self.locations[-1]
        content = self.alt_content or contents.get(loc.name)
        if content is None:
            return f"<No context for file + {loc.name}>\n"
        if not content:
            return "<No context available>\n"
        pos = loc.mark.pos
        while pos > 0 and (pos >= len(content) or content[pos] == "\n"):
            pos -= 1
        start = pos
        while start > 0 and content[start] != "\n" and pos - start < width // 2:
            start -= 1
        end = pos
        while end < len(content) - 1 and content[end] != "\n" and end - pos < width // 2:
            end += 1
        if content[start] == "\n":
            start += 1
        if end < len(content) and content[end] == "\n":
            end -= 1
        text = content[start : end + 1]
        if not text:
            return "<No context available>\n"
        if pos - start >= width // 2:
            text = "..." + text[3:]
        if end - pos >= width // 2:
            text = text[:-3] + "..."
        out = text + "\n"
        if pos - start <= len(out) - 1:
            out += " " * (pos - start) + "^\n"
        return out


@dataclass(frozen=True, slots=True)
class Problem:
    """One error or warning: its code, Falco's message and where it is."""

    code: ErrorCode | WarningCode
    message: str
    context: Context
    title: str = ""  # the text form's description when Falco names the item (deprecated fields)

    @property
    def is_error(self) -> bool:
        return isinstance(self.code, ErrorCode)


@dataclass
class LoadResult:
    """The result of loading one rules file (``falco::load_result``)."""

    name: str
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def successful(self) -> bool:
        return not self.errors

    def add_error(self, code: ErrorCode, message: str, context: Context) -> None:
        self.errors.append(Problem(code, message, context))

    def add_warning(self, code: WarningCode, message: str, context: Context, title: str = "") -> None:
        self.warnings.append(Problem(code, message, context, title))

    def as_summary_string(self) -> str:
        out = [f"{self.name}: " if self.name else ""]
        out.append("Ok" + (", with warnings" if self.warnings else "") if self.successful else "Invalid")
        if self.errors:
            codes = " ".join(f"{p.code.name} ({p.code.value})" for p in self.errors)
            out.append(f"\n {len(self.errors)} errors: [{codes}]")
        if self.warnings:
            codes = " ".join(f"{p.code.name} ({p.code.value})" for p in self.warnings)
            out.append(f"\n {len(self.warnings)} warnings: [{codes}]")
        return "".join(out)

    def as_verbose_string(self, contents: Mapping[str, str]) -> str:
        """The text ``falco -V`` prints for a file."""
        out = [f"{self.name}: " if self.name else ""]
        out.append("Ok" + (", with warnings" if self.warnings else "") if self.successful else "Invalid")
        for title, problems in (("Errors", self.errors), ("Warnings", self.warnings)):
            if not problems:
                continue
            out.append(f"\n{len(problems)} {title}:\n")
            for p in problems:
                out.append(p.context.as_string())
                out.append("------\n" + p.context.snippet(contents) + "------\n")
                out.append(f"{p.code.name} ({p.title or p.code.value}): {p.message}\n")
        return "".join(out)

    def as_json(self, contents: Mapping[str, str]) -> dict[str, Any]:
        def entry(p: Problem) -> dict[str, Any]:
            ctx = p.context.as_json()
            ctx["snippet"] = p.context.snippet(contents)
            return {"context": ctx, "code": p.code.name, "codedesc": p.code.value, "message": p.message}

        return {
            "name": self.name,
            "successful": self.successful,
            "errors": [entry(p) for p in self.errors],
            "warnings": [entry(p) for p in self.warnings],
        }


def format_validation(
    results: Sequence[LoadResult], contents: Mapping[str, str], *, json_output: bool = False
) -> tuple[str, str, bool]:
    """Render results like ``falco -V``: (stdout text, stderr text, all successful).

    Files that fail, or load without warnings, are printed in full on stdout; files with only
    warnings print ``<file>: Ok, with warnings`` there and their warnings go to stderr.
    """
    ok = all(r.successful for r in results)
    if json_output:
        body = json.dumps(
            {"falco_load_results": [r.as_json(contents) for r in results]},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return body + "\n", "", ok
    summary: list[str] = []
    stderr: list[str] = []
    for r in results:
        if not r.successful or not r.warnings:
            summary.append(r.as_verbose_string(contents))
        else:
            summary.append(f"{r.name}: Ok, with warnings")
            stderr.append(r.as_verbose_string(contents) + "\n")
    return "\n".join(summary) + "\n", "".join(stderr), ok
