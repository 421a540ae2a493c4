"""Check 6: what changed since an older release, the semver bump it requires, and whether the new
version has it. The older release is a library, a Python plugin, or a manifest written by
``falcoplug check --manifest``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..framework.plugin import parse_version
from .report import Report, Status

MANIFEST_FORMAT = 1
BUMPS = ("none", "patch", "minor", "major")
MANIFEST_KEYS = (
    "name", "version", "description", "contact", "required_api_version", "capabilities", "id", "event_source",
    "extract_event_sources", "parse_event_sources", "async_events", "init_schema", "fields",
)  # fmt: skip


def manifest(info: dict[str, Any]) -> dict[str, Any]:
    """What a release is compared on, as JSON."""
    doc = {"falcoplug_manifest": MANIFEST_FORMAT}
    doc.update({k: info.get(k) for k in MANIFEST_KEYS})
    doc["fields"] = [{k: v for k, v in f.items() if k != "ftype"} for f in info.get("fields") or []]
    return doc


def read_manifest(path: str | Path) -> dict[str, Any] | None:
    """The manifest at ``path``, or None when it is not a manifest (then it is a plugin)."""
    if not str(path).endswith(".json"):
        return None
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and "falcoplug_manifest" in doc else None


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    """``(bump, what)`` for everything that changed between two manifests."""
    out: list[tuple[str, str]] = []
    old_fields = {f["name"]: f for f in old.get("fields") or []}
    new_fields = {f["name"]: f for f in new.get("fields") or []}
    for name in old_fields.keys() - new_fields.keys():
        out.append(("major", f"field {name} removed"))
    for name in sorted(new_fields.keys() - old_fields.keys()):
        out.append(("minor", f"field {name} added"))
    for name in sorted(old_fields.keys() & new_fields.keys()):
        a, b = old_fields[name], new_fields[name]
        if a.get("type") != b.get("type"):
            out.append(("major", f"field {name}: type {a.get('type')} -> {b.get('type')}"))
        if bool(a.get("isList")) != bool(b.get("isList")):
            out.append(("major", f"field {name}: {'no longer' if a.get('isList') else 'now'} a list"))
        if _arg(a) != _arg(b):
            out.append(("major", f"field {name}: argument {_arg(a)} -> {_arg(b)}"))
        if (a.get("desc") or "") != (b.get("desc") or ""):
            out.append(("patch", f"field {name}: description changed (a major change if its meaning did)"))
    if old.get("id") != new.get("id"):
        out.append(("major", f"plugin ID {old.get('id')} -> {new.get('id')}"))
    if (old.get("event_source") or "") != (new.get("event_source") or ""):
        out.append(("major", f"event source '{old.get('event_source') or ''}' -> '{new.get('event_source') or ''}'"))
    old_caps, new_caps = set(old.get("capabilities") or ()), set(new.get("capabilities") or ())
    for cap in sorted(old_caps - new_caps):
        out.append(("major", f"capability removed: {cap}"))
    for cap in sorted(new_caps - old_caps):
        out.append(("minor", f"capability added: {cap}"))
    for key, what in (("extract_event_sources", "extraction source"), ("parse_event_sources", "parsing source")):
        a, b = set(old.get(key) or ()), set(new.get(key) or ())
        if a and not b:
            out.append(("minor", f"{what}s: now every source"))
        elif b and not a:
            out.append(("major", f"{what}s: now only {', '.join(sorted(b))}"))
        else:
            out += [("major", f"{what} removed: {s}") for s in sorted(a - b)]
            out += [("minor", f"{what} added: {s}") for s in sorted(b - a)]
    out += _api_change(old.get("required_api_version") or "", new.get("required_api_version") or "")
    if (old.get("init_schema") or "") != (new.get("init_schema") or ""):
        out.append(("minor", "init config schema changed (a major change if older configs are now refused)"))
    return out


def _arg(field: dict[str, Any]) -> tuple[bool, bool, bool]:
    arg = field.get("arg") or {}
    return (bool(arg.get("isRequired")), bool(arg.get("isIndex")), bool(arg.get("isKey")))


def _api_change(old: str, new: str) -> list[tuple[str, str]]:
    a, b = parse_version(old), parse_version(new)
    if a is None or b is None or a == b:
        return []
    if b[0] != a[0]:
        return [("major", f"required API version {old} -> {new}")]
    if b[:2] > a[:2]:
        return [("minor", f"required API version {old} -> {new} (older frameworks can no longer load it)")]
    return [("patch", f"required API version {old} -> {new}")]


def actual_bump(old: str, new: str) -> str | None:
    a, b = parse_version(old), parse_version(new)
    if a is None or b is None:
        return None
    if b < a:
        return "downgrade"
    if b[0] > a[0]:
        return "major"
    if b[1] > a[1]:
        return "minor"
    if b[2] > a[2]:
        return "patch"
    return "none"


def check_release(report: Report, old: dict[str, Any], new: dict[str, Any], against: str) -> None:
    found = changes(old, new)
    needed = max((b for b, _ in found), key=BUMPS.index, default="patch")
    old_v, new_v = old.get("version") or "", new.get("version") or ""
    bump = actual_bump(old_v, new_v)
    listing = "; ".join(what for _, what in found[:12]) + (f"; and {len(found) - 12} more" if len(found) > 12 else "")
    data = {"changes": [{"bump": b, "change": w} for b, w in found], "required": needed, "actual": bump}
    if old.get("name") != new.get("name"):
        report.add("release", Status.WARN, f"comparing {new.get('name')} with a release of {old.get('name')}",
                   f"--against {against}", "compare a plugin with an older release of itself")  # fmt: skip
    if bump is None:
        report.add("release", Status.FAIL, f"versions cannot be compared: {old_v!r} -> {new_v!r}", "", "use MAJOR.MINOR.PATCH")
        return
    zero = parse_version(new_v) is not None and parse_version(new_v)[0] == 0  # type: ignore[index]
    order = BUMPS.index
    if bump == "downgrade":
        report.add("release", Status.FAIL, f"version goes back: {old_v} -> {new_v}", listing, "every release raises the version", **data)
    elif bump == "none":
        report.add("release", Status.FAIL, f"version unchanged ({new_v})", listing or "no API-visible change",
                   f"every release bumps the version: at least a {needed} bump", **data)  # fmt: skip
    elif order(bump) >= order(needed):
        report.add("release", Status.PASS, f"{old_v} -> {new_v} is a {bump} bump; the changes need {needed}",
                   listing or "no API-visible change", **data)  # fmt: skip
    elif zero and needed == "major" and bump == "minor":
        report.add("release", Status.WARN, f"{old_v} -> {new_v}: breaking changes with a minor bump (0.x)",
                   listing, "semver allows it before 1.0.0; Falco's plugin guide asks for a major bump", **data)  # fmt: skip
    else:
        fix = f"release as a {needed} version (for example {_next(old_v, needed)})"
        if zero and needed == "major":
            fix += f", or at least {_next(old_v, 'minor')}: before 1.0.0 semver allows breaking changes in a minor"
        report.add("release", Status.FAIL, f"{old_v} -> {new_v} is a {bump} bump, but the changes need {needed}",
                   listing, fix, **data)  # fmt: skip


def _next(version: str, bump: str) -> str:
    v = parse_version(version) or (0, 0, 0)
    if bump == "major":
        return f"{v[0] + 1}.0.0"
    if bump == "minor":
        return f"{v[0]}.{v[1] + 1}.0"
    return f"{v[0]}.{v[1]}.{v[2] + 1}"
