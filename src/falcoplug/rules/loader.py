"""Load rules files into one collection, in order, as Falco does (``falco_engine::load_rules``).

Each file is read into the shared collector and **everything collected so far is recompiled**, so a
later file can append to or override an earlier one; the first file with an error stops the load.
Plugin requirements are checked against the loaded plugins' versions after all files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..filter import FieldResolver
from ..filter.parser import RULES_MAX_DEPTH, recursion_room
from .collector import Collector
from .compiler import CompiledCollection, CompiledRule, CompileOptions, compile_collection
from .engine import RuleEngine
from .items import PluginRequirement
from .priority import Priority
from .reader import Reader
from .results import Context, ErrorCode, LoadResult
from .versions import ENGINE_VERSION, Version


class RulesLoader:
    """The rules of several files for a set of event sources.

    ``sources`` maps each loaded event source to its :class:`FieldResolver`; rules of other sources
    are skipped with a warning. ``plugin_versions`` maps plugin names to their versions, for
    ``required_plugin_versions``.
    """

    def __init__(
        self,
        sources: Mapping[str, FieldResolver],
        plugin_versions: Mapping[str, str] | None = None,
        *,
        options: CompileOptions | None = None,
        engine_version: str = ENGINE_VERSION,
    ) -> None:
        version = Version.parse(engine_version)
        if version is None:
            raise ValueError(f"invalid engine version {engine_version!r}")
        self.sources = dict(sources)
        self.plugin_versions = dict(plugin_versions or {})
        self.options = options or CompileOptions()
        self.collector = Collector(version)
        self.contents: dict[str, str] = {}
        self.results: list[LoadResult] = []
        self.compiled: CompiledCollection | None = None

    # loading ------------------------------------------------------------------------------------
    def load(self, content: str, name: str) -> LoadResult:
        """Read one file's content and recompile the whole collection; the result of this file."""
        result = LoadResult(name)
        self.contents[name] = content
        self.results.append(result)
        if Reader(self.collector, self.sources, result).read(content, name):
            # A condition may be RULES_MAX_DEPTH levels deep with its macros in (expansion.py);
            # compiling and printing it recurse a few frames per level.
            with recursion_room(4 * RULES_MAX_DEPTH):
                compiled = compile_collection(self.collector, self.sources, self.options, result)
            if compiled is not None:
                self.compiled = compiled
        return result

    def load_file(self, path: str | os.PathLike[str]) -> LoadResult:
        name = os.fspath(path)
        try:
            content = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            result = LoadResult(name)
            result.add_error(
                ErrorCode.LOAD_ERR_FILE_READ,
                f"Could not read rules file {name}: {exc}",
                Context.for_file(name),
            )
            self.results.append(result)
            return result
        return self.load(content, name)

    def load_paths(self, paths: Iterable[str | os.PathLike[str]]) -> list[LoadResult]:
        """Load files and directories (a directory's files sorted by name); stop at the first error."""
        results = []
        for path in expand_paths(paths):
            result = self.load_file(path)
            results.append(result)
            if not result.successful:
                break
        return results

    @property
    def successful(self) -> bool:
        return all(r.successful for r in self.results)

    # results ------------------------------------------------------------------------------------
    @property
    def rules(self) -> list[CompiledRule]:
        """Every compiled rule of a loaded source (enabled or not), in evaluation order."""
        return list(self.compiled.rules) if self.compiled is not None and self.successful else []

    def check_plugin_requirements(self) -> str | None:
        """None when every ``required_plugin_versions`` entry is met, else Falco's error text."""
        return check_plugin_requirements(self.collector.required_plugin_versions, self.plugin_versions)

    def engine(
        self, *, min_priority: Priority | str = Priority.DEBUG, rule_matching: str = "first"
    ) -> RuleEngine:
        return RuleEngine(self.rules, min_priority=min_priority, rule_matching=rule_matching)


RULES_SUFFIXES = (".yml", ".yaml")


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Rules files as Falco reads them: a folder gives its ``.yml`` / ``.yaml`` files by name."""
    out: list[str] = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            out.extend(str(c) for c in sorted(p.iterdir()) if c.is_file() and c.suffix in RULES_SUFFIXES)
        else:
            out.append(os.fspath(path))
    return out


def check_plugin_requirements(
    required: Iterable[list[PluginRequirement]], loaded: Mapping[str, str]
) -> str | None:
    """Falco's check: each entry needs one loaded plugin (or alternative) with a compatible version."""
    for alternatives in required:
        error = _check_alternatives(alternatives, loaded)
        if error is not None:
            return error
    return None


def _check_alternatives(alternatives: list[PluginRequirement], loaded: Mapping[str, str]) -> str | None:
    for plugin_name, plugin_version in loaded.items():
        for req in alternatives:
            if req.name != plugin_name:
                continue
            required = Version.parse(req.version)
            available = Version.parse(plugin_version)
            if available is None:
                return f"Plugin '{plugin_name}' has invalid version string '{plugin_version}'"
            if required is None or not available.compatible_with(required):
                return (
                    f"Plugin '{plugin_name}' version '{plugin_version}' is not compatible with required "
                    f"plugin version '{req.version}'"
                )
            return None
    wanted = ", ".join(f"{r.name} (>= {r.version})" for r in alternatives)
    return f"Plugin requirement not satisfied, must load one of: {wanted}"
