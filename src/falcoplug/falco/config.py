"""``falco.yaml`` as Falco 0.44 reads it: the file, then the ``-o key=value`` overrides, then each
setting that applies to plugin sources read with Falco's default and type.

Override keys use Falco's syntax: dots between keys, ``[N]`` for a list entry, ``[]`` to append to
a list, and a backslash to escape a literal dot, bracket or backslash. Values are text, converted
where they are read (``-o json_output=true``), as Falco does; a value that starts with ``{`` or
``[`` is read as YAML, so that a whole entry can be given (``-o 'append_output[]={...}'``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..framework.config import PluginSpec
from ..rules import AppendOutput
from .errors import FalcoError
from .schema import validate_config

_MISSING = object()
_TRUE = {"true", "yes", "on", "y"}
_FALSE = {"false", "no", "off", "n"}

KEY = str | int | None  # a mapping key, a list index, or None: append to the list


def parse_override(text: str) -> tuple[list[KEY], str]:
    """``key.sub[1].x=value`` as a key path and the value's text."""
    key, sep, value = _split_unescaped(text, "=")
    if not sep or not key:
        raise FalcoError(f'Error parsing config option "{text}". Must be of the form key=val or key.subkey=val')
    return parse_key(key, text), value


def _split_unescaped(text: str, sep: str) -> tuple[str, str, str]:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == sep:
            return text[:i], sep, text[i + 1 :]
        i += 1
    return text, "", ""


def parse_key(key: str, whole: str) -> list[KEY]:
    path: list[KEY] = []
    name = ""
    i = 0
    while i < len(key):
        c = key[i]
        if c == "\\" and i + 1 < len(key):
            name += key[i + 1]
            i += 2
            continue
        if c == ".":
            if name:
                path.append(name)
            name = ""
        elif c == "[":
            end = key.find("]", i)
            if end < 0:
                raise FalcoError(f'Error parsing config option "{whole}": unterminated "[" in the key')
            if name:
                path.append(name)
                name = ""
            index = key[i + 1 : end]
            if index and not index.isdigit():
                raise FalcoError(f'Error parsing config option "{whole}": list index "{index}" is not a number')
            path.append(int(index) if index else None)
            i = end
        else:
            name += c
        i += 1
    if name:
        path.append(name)
    return path


def _value(text: str) -> Any:
    """The override's value: text, or a YAML mapping or sequence when it looks like one."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return yaml.safe_load(stripped)
        except yaml.YAMLError:
            return text
    return text


def apply_override(doc: dict[str, Any], path: Sequence[KEY], text: str) -> None:
    node: Any = doc
    value = _value(text)
    for i, key in enumerate(path):
        last = i == len(path) - 1
        following = None if last else path[i + 1]
        fresh: Any = value if last else ([] if not isinstance(following, str) else {})
        if isinstance(key, str):
            if not isinstance(node, dict):
                raise FalcoError(f"Error setting config option: '{key}' is not inside a mapping")
            if last or not isinstance(node.get(key), (dict, list)):
                node[key] = fresh
            node = node[key]
            continue
        if not isinstance(node, list):
            raise FalcoError("Error setting config option: an index [] is not inside a list")
        if key is None or key >= len(node):
            node.append(fresh)
            node = node[-1]
        else:
            if last or not isinstance(node[key], (dict, list)):
                node[key] = fresh
            node = node[key]


@dataclass
class FalcoConfig:
    """The merged configuration (file and overrides), with typed reads in Falco's manner."""

    doc: dict[str, Any] = field(default_factory=dict)
    files: list[tuple[str, str]] = field(default_factory=list)  # (path, schema validation verdict)
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)  # values that did not convert (their default used)

    @classmethod
    def load(cls, path: str | None, overrides: Sequence[str] = ()) -> FalcoConfig:
        doc: dict[str, Any] = {}
        files = []
        if path is not None:
            doc = _read_yaml(path)
            verdict = validate_config(doc)  # the file's own, before the included files merge in
            files += _include_config_files(doc)
            files.append((path, verdict))
        config = cls(doc, files, Path(path) if path is not None else None)
        for text in overrides:
            key, value = parse_override(text)
            apply_override(config.doc, key, value)
        return config

    # -- typed reads ---------------------------------------------------------------------------
    def raw(self, key: str, default: Any = None) -> Any:
        node: Any = self.doc
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def bool(self, key: str, default: bool) -> bool:
        value = self.raw(key, _MISSING)
        if value is _MISSING or value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return self._fallback(key, value, default)

    def int(self, key: str, default: int) -> int:
        value = self.raw(key, _MISSING)
        if value is _MISSING or value is None:
            return default
        if isinstance(value, bool):
            return self._fallback(key, value, default)
        try:
            return int(str(value).strip(), 0) if isinstance(value, str) else int(value)
        except (TypeError, ValueError):
            return self._fallback(key, value, default)

    def str(self, key: str, default: str) -> str:
        value = self.raw(key, _MISSING)
        if value is _MISSING or value is None:
            return default
        if isinstance(value, (dict, list)):
            return self._fallback(key, value, default)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def str_list(self, key: str) -> list[str]:
        value = self.raw(key, _MISSING)
        if value is _MISSING or value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            raise self._bad(key)
        return [str(v) for v in value]

    def _fallback(self, key: str, value: Any, default: Any) -> Any:
        """Falco reads a scalar that does not convert as its default, silently; falcoplug notes it."""
        note = f"{key}: {value!r} is not of the expected type; using the default {default!r}"
        if note not in self.warnings:
            self.warnings.append(note)
        return default

    def _bad(self, key: str) -> FalcoError:
        return FalcoError(f"Error reading config file ({self.name}): {key}: bad conversion")

    @property
    def name(self) -> str:
        return str(self.path) if self.path is not None else "<command line>"

    # -- what falcoplug takes from it ------------------------------------------------------------
    def plugin_specs(self) -> list[PluginSpec]:
        """The plugins to load: ``load_plugins`` names entries of ``plugins`` (all of them when it
        is absent, as in Falco)."""
        entries = self.raw("plugins", []) or []
        if not isinstance(entries, list):
            raise FalcoError(f"Error reading config file ({self.name}): could not load plugins config: bad conversion")
        specs: dict[str, PluginSpec] = {}
        for i, entry in enumerate(entries):
            specs_entry = self._plugin(entry, i)
            specs[specs_entry.name or ""] = specs_entry
        if self.raw("load_plugins", _MISSING) is _MISSING:
            return list(specs.values())
        selected = []
        for name in self.str_list("load_plugins"):
            if name not in specs:
                raise FalcoError(
                    f"Error reading config file ({self.name}): "
                    f"load_plugins names '{name}', which has no entry in plugins:"
                )
            selected.append(specs[name])
        return selected

    def _plugin(self, entry: Any, index: int) -> PluginSpec:
        where = f"Error reading config file ({self.name}): could not load plugins config"
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("library_path"):
            raise FalcoError(f"{where}: plugins[{index}] needs a name and a library_path")
        init = entry.get("init_config")
        if isinstance(init, (dict, list)):
            init_text = json.dumps(init, separators=(",", ":"))
        else:
            init_text = "" if init is None else str(init)
        params = entry.get("open_params")
        return PluginSpec(
            location=self._library_path(str(entry["library_path"])),
            init_config=init_text,
            open_params="" if params is None else str(params),
            name=str(entry["name"]),
        )

    def _library_path(self, value: str) -> str:
        """Falco looks relative paths up in its plugins folder; falcoplug next to falco.yaml, and
        a bare name may be one of the bundled plugins."""
        if os.path.isabs(value) or self.path is None:
            return value
        candidate = self.path.parent / value
        return str(candidate) if candidate.exists() else value

    def rules_files(self) -> list[str]:
        files = self.str_list("rules_files") or self.str_list("rules_file") or self.str_list("rule_files")
        base = self.path.parent if self.path is not None else None
        out = []
        for path in files:
            if base is not None and not os.path.isabs(path) and not os.path.exists(path) and (base / path).exists():
                path = str(base / path)
            out.append(path)
        return out

    def append_output(self) -> tuple[AppendOutput, ...]:
        entries = self.raw("append_output", []) or []
        if not isinstance(entries, list):
            raise self._bad("append_output")
        return tuple(_append_output(entry, self) for entry in entries)


def _append_output(entry: Any, config: FalcoConfig) -> AppendOutput:
    try:
        return AppendOutput.from_entry(entry)
    except TypeError:
        raise config._bad("append_output") from None


def _include_config_files(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Merge the files ``config_files`` names into ``doc``, as Falco: each entry a file, or a folder
    of ``.yaml`` / ``.yml`` files in name order (relative paths: from the working directory), with
    its ``strategy``: ``append`` (the default: lists appended, other keys replaced), ``override``
    (keys replaced) or ``add-only`` (only keys not there yet). Returns each file's schema verdict."""
    verdicts = []
    entries = doc.get("config_files") or []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            where, strategy = str(entry.get("path", "")), str(entry.get("strategy", "append"))
        else:
            where, strategy = str(entry), "append"
        if os.path.isdir(where):
            names = sorted(n for n in os.listdir(where) if n.endswith((".yaml", ".yml")))
            paths = [os.path.join(where, n) for n in names]
        else:
            paths = [where] if os.path.isfile(where) else []
        for included in paths:
            extra = _read_yaml(included)
            verdicts.append((included, validate_config(extra)))
            _merge(doc, extra, strategy)
    return verdicts


def _merge(doc: dict[str, Any], extra: dict[str, Any], strategy: str) -> None:
    for key, value in extra.items():
        if key not in doc:
            doc[key] = value
        elif strategy == "add-only":
            continue
        elif strategy == "append" and isinstance(doc[key], list) and isinstance(value, list):
            doc[key] = doc[key] + value
        else:
            doc[key] = value


def _read_yaml(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text()
    except OSError:
        raise FalcoError(f"Error reading config file ({path}): could not open the file") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FalcoError(f"Error reading config file ({path}): {problem}{where}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise FalcoError(f"Error reading config file ({path}): the top level is not a mapping")
    return doc


FALCO_VERSION = "0.44.1"
