"""Check 7: the plugin against the official registry (falcosecurity/plugins ``registry.yaml``).

A copy ships with falcoplug (``check/data/registry.yaml``); ``--registry FILE`` gives a newer one.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from .report import Report, Status

TEST_ID = 999
REGISTER = "register it with a pull request to falcosecurity/plugins (registry.yaml)"


@dataclass(frozen=True)
class Entry:
    name: str
    id: int | None
    source: str | None
    reserved: bool


@dataclass
class Registry:
    entries: list[Entry]
    reserved_sources: frozenset[str]
    origin: str

    def by_id(self, plugin_id: int) -> Entry | None:
        return next((e for e in self.entries if e.id == plugin_id), None)

    def by_name(self, name: str) -> Entry | None:
        return next((e for e in self.entries if e.name == name), None)

    def claiming(self, source: str) -> list[Entry]:
        return [e for e in self.entries if e.source == source]

    def id_of_source(self) -> dict[str, int]:
        """The ID of the first registered plugin of each source (to make events of that source)."""
        out: dict[str, int] = {}
        for e in self.entries:
            if e.source and e.id and e.source not in out:
                out[e.source] = e.id
        return out


def load_registry(path: str | Path | None = None) -> Registry:
    if path is None:
        text = resources.files("falcoplug.check").joinpath("data/registry.yaml").read_text()
        origin = "the registry copy bundled with falcoplug"
    else:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read registry {path}: {exc.strerror}") from None
        origin = str(path)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"registry {origin} is not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("plugins"), list):
        raise ConfigError(f"registry {origin} has no 'plugins' list")
    entries = []
    for item in doc["plugins"]:
        if not isinstance(item, dict) or "name" not in item:
            continue
        sourcing = ((item.get("capabilities") or {}).get("sourcing")) or {}
        supported = sourcing.get("supported", False)
        entries.append(Entry(str(item["name"]), sourcing.get("id") if supported else None,
                             sourcing.get("source") if supported else None, bool(item.get("reserved"))))  # fmt: skip
    return Registry(entries, frozenset(doc.get("reserved_sources") or ()), origin)


def check_registry(report: Report, info: dict[str, Any], registry: Registry) -> None:
    name, pid, source = info["name"], info.get("id") or 0, info.get("event_source") or ""
    by_name = registry.by_name(name)
    if pid:
        owner = registry.by_id(pid)
        if owner is None:
            report.add("registry", Status.WARN, f"ID {pid} is not registered",
                       f"free in {registry.origin}", f"{REGISTER} to reserve ID {pid}")  # fmt: skip
        elif owner.reserved and pid == TEST_ID:
            report.add("registry", Status.WARN, f"ID {pid} is the development ID",
                       "any plugin may use it, so events of different plugins can be mixed up",
                       f"request a real ID before release ({REGISTER})")  # fmt: skip
        elif owner.reserved:
            report.add("registry", Status.FAIL, f"ID {pid} is reserved ({owner.name})", "", "use a registered ID of your own")
        elif owner.name != name:
            report.add("registry", Status.FAIL, f"ID {pid} is registered to plugin {owner.name}",
                       f"this plugin is {name}; events of both would be taken for each other's",
                       f"use the ID registered for {name}" if by_name and by_name.id else f"pick a free ID and {REGISTER}")  # fmt: skip
        else:
            report.add("registry", Status.PASS, f"ID {pid} is registered to {name}")
        if source in registry.reserved_sources:
            report.add("registry", Status.FAIL, f"event source '{source}' is reserved",
                       f"reserved sources: {', '.join(sorted(registry.reserved_sources))}", "choose another source name")  # fmt: skip
        else:
            others = [e.name for e in registry.claiming(source) if e.name != name and not e.reserved]
            if owner is not None and owner.name == name and owner.source not in (None, source):
                report.add("registry", Status.FAIL, f"event source '{source}' differs from the registered '{owner.source}'",
                           "", "produce the registered source, or update the registry entry")  # fmt: skip
            elif others and not (owner is not None and owner.name == name):
                report.add("registry", Status.WARN, f"event source '{source}' is also produced by {', '.join(others[:4])}",
                           "events of one source must mean the same thing whichever plugin produced them",
                           "use a source of your own unless the events really are the same (as k8saudit-eks's)")  # fmt: skip
            else:
                report.add("registry", Status.PASS, f"event source '{source}' is not claimed by another plugin")
    if by_name is not None and pid and by_name.id not in (None, pid):
        report.add("registry", Status.FAIL, f"the name {name} is registered with ID {by_name.id}",
                   f"this plugin has ID {pid}", "use a name of your own, or the registered ID")  # fmt: skip
    elif by_name is not None and not pid and by_name.id:
        report.add("registry", Status.WARN, f"the name {name} is registered to a sourcing plugin (ID {by_name.id})",
                   "this plugin has no event sourcing", "use a name of your own")  # fmt: skip
    elif by_name is None:
        report.add("registry", Status.WARN, f"the name {name} is not registered",
                   f"not in {registry.origin}", f"{REGISTER} to reserve the name")  # fmt: skip
    elif not pid:
        report.add("registry", Status.PASS, f"the name {name} is registered")
