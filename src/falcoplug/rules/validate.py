"""``rules validate``: load files like ``falco -V`` and render the result like it."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..filter import FieldResolver
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
    render each file's result; unmet plugin requirements are a fatal error after the files."""
    loader = RulesLoader(sources, plugin_versions, options=options)
    for path in expand_paths(paths):
        loader.load_file(path)
    stdout, stderr, ok = format_validation(loader.results, loader.contents, json_output=json_output)
    requirement_error = loader.check_plugin_requirements()
    if requirement_error is not None:
        return Validation(stdout, stderr + requirement_error + "\n", False)
    return Validation(stdout, stderr, ok)
