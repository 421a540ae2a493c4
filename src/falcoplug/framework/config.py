"""How users name plugins: ``-p`` specs and the plugin sections of Falco's ``falco.yaml``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError


@dataclass
class PluginSpec:
    """One plugin to load: where it is, its init config, and its open params when it is an input."""

    location: str
    init_config: str = ""
    open_params: str | None = None  # None: not opened as an input
    name: str | None = None  # the name falco.yaml gives it

    @classmethod
    def parse(cls, text: str) -> PluginSpec:
        """``LOCATION[|INIT_CONFIG[|OPEN_PARAMS]]``, as libsinsp's sinsp-example takes it.

        The init config may contain ``|`` inside JSON only if the open params are given too; the
        split is on the first ``|`` and the last one, so ``lib.so|{"a":"x|y"}|params`` works.
        """
        location, sep, rest = text.partition("|")
        if not location:
            raise ConfigError(f"invalid plugin spec {text!r}: no library path or plugin reference")
        if not sep:
            return cls(location)
        if "|" not in rest:
            return cls(location, rest)
        config, _, params = rest.rpartition("|")
        return cls(location, config, params)


@dataclass
class FalcoConfig:
    """The parts of ``falco.yaml`` falcoplug uses."""

    plugins: list[PluginSpec] = field(default_factory=list)
    rules_files: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def _init_config_text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    raise ConfigError(f"{where}: init_config must be a string or a mapping")


# Where Falco looks for a plugin whose library_path is relative (FALCO_ENGINE_PLUGINS_DIR).
FALCO_PLUGINS_DIR = Path("/usr/share/falco/plugins")


def _is_library(value: str) -> bool:
    name = os.path.basename(value)
    return name.endswith(".so") or ".so." in name


def _library_path(value: str, config_dir: Path, where: str) -> str:
    """A relative ``library_path`` as Falco resolves it: under Falco's plugins folder; falcoplug then
    also tries the working directory and the configuration file's folder. The result is a path to an
    existing file, so that dlopen never searches the system's library path for a bare name.

    Bundled plugins (a bare name, or Falco's ``libk8saudit.so`` when no such file exists) and Python
    plugin references are left as they are.
    """
    if os.path.isabs(value) or not _is_library(value):
        return value
    folders = [FALCO_PLUGINS_DIR, Path.cwd(), config_dir]
    for folder in folders:
        candidate = Path(os.path.normpath(folder / value))
        if candidate.is_file():
            return str(candidate)
    from ..plugins import bundled_reference

    if bundled_reference(value) is not None:
        return value
    looked = ", ".join(str(f) for f in dict.fromkeys(folders))
    raise ConfigError(f"{where}: library_path '{value}' not found (looked in {looked})")


def _is_bundled(name: str) -> bool:
    from ..plugins import BUNDLED

    return name in BUNDLED


def load_falco_config(path: str | os.PathLike[str]) -> FalcoConfig:
    """Read ``plugins:`` / ``load_plugins:`` (and the rest, kept raw) from a Falco configuration file."""
    import yaml  # imported when a falco.yaml is read: 11 ms of every start otherwise

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"configuration file {path} is not valid YAML: {problem}{where}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"configuration file {path}: the top level must be a mapping")
    entries = doc.get("plugins") or []
    if not isinstance(entries, list):
        raise ConfigError(f"configuration file {path}: 'plugins' must be a list")
    specs: dict[str, PluginSpec] = {}
    for i, entry in enumerate(entries):
        where = f"{path}: plugins[{i}]"
        if not isinstance(entry, dict) or not entry.get("name"):
            raise ConfigError(f"{where}: each plugin needs a 'name'")
        name = str(entry["name"])
        location = entry.get("library_path") or name  # a bundled plugin may be named alone
        params = entry.get("open_params")
        specs[name] = PluginSpec(
            location=_library_path(str(location), path.parent.resolve(), where),
            init_config=_init_config_text(entry.get("init_config"), where),
            open_params=None if params is None else str(params),
            name=name,
        )
    selected = list(specs.values())
    if "load_plugins" in doc:
        names = doc.get("load_plugins") or []
        if not isinstance(names, list):
            raise ConfigError(f"configuration file {path}: 'load_plugins' must be a list")
        selected = []
        for name in names:
            spec = specs.get(str(name))
            if spec is None and not _is_bundled(str(name)):
                raise ConfigError(
                    f"configuration file {path}: load_plugins names '{name}', which has no entry in plugins:"
                )
            selected.append(spec if spec is not None else PluginSpec(location=str(name), name=str(name)))
    rules = doc.get("rules_files", doc.get("rules_file")) or []
    if isinstance(rules, str):
        rules = [rules]
    return FalcoConfig(plugins=selected, rules_files=[str(r) for r in rules], raw=doc, path=path)
