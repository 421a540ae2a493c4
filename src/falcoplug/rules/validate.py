"""``rules validate``: load files like ``falco -V`` and render the result like it."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..filter import FieldResolver
from ..syscall.evttypes import EvttypeSearchError
from .compiler import CompileOptions
from .loader import RulesLoader, expand_paths
from .results import format_validation


@dataclass(frozen=True)
class Validation:
    stdout: str
    stderr: str
    ok: bool

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


def validate_files(
    paths: Iterable[str | os.PathLike[str]],
    sources: Mapping[str, FieldResolver],
    plugin_versions: Mapping[str, str] | None = None,
    *,
    json_output: bool = False,
    options: CompileOptions | None = None,
) -> Validation:
    """Load every file in order (into one collection, not stopping at errors, as ``falco -V``) and
    render each file's result.

    As Falco, plugin requirements are checked after each file: an unmet one is a fatal error that
    prints nothing else. An invalid file makes Falco fail with the whole summary (``Error: ...``)
    on stderr, after the summary on stdout.
    """
    loader = RulesLoader(sources, plugin_versions, options=options)
    for path in expand_paths(paths):
        try:
            loader.load_file(path)
        except EvttypeSearchError as exc:  # Falco stops at startup: nothing else is printed
            return Validation("", f"Runtime error: {exc}. Exiting.\n", False)
        requirement_error = loader.check_plugin_requirements()
        if requirement_error is not None:
            return Validation("", f"Error: {requirement_error}\n", False)
    stdout, stderr, ok = format_validation(loader.results, loader.contents, json_output=json_output)
    if not ok:
        summary = stdout if not json_output else format_validation(loader.results, loader.contents)[0]
        stderr += f"Error: {summary}"
    return Validation(stdout, stderr, ok)
