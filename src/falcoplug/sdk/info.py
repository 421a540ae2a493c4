"""A plugin's identity (name, version, ...) and the checks it must pass when its class is defined.

The checks are the ones a host would apply at load time (libsinsp's version and source rules),
made at class-definition time so that a mistake shows up at import, with the class named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from ..errors import PluginLoadError
from .constants import API_VERSION, RESERVED_SOURCES

# Semantic versioning 2.0.0, as Falco's registry and plugin loaders expect.
SEMVER: Final = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_API: Final = tuple(int(p) for p in API_VERSION.split("."))
_NAME: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


class PluginDefinitionError(PluginLoadError):
    """A plugin class is not a valid plugin; the message names the class and what is wrong."""


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """What every plugin declares about itself (the ``plugin_get_*`` strings)."""

    name: str
    version: str
    description: str
    contact: str
    required_api_version: str
    id: int = 0
    event_source: str = ""


def _fail(owner: str, text: str) -> PluginDefinitionError:
    return PluginDefinitionError(f"plugin class {owner}: {text}", plugin=owner)


def check_semver(owner: str, what: str, value: object) -> str:
    if not isinstance(value, str) or not SEMVER.match(value):
        raise _fail(owner, f"{what} {value!r} is not a semantic version (MAJOR.MINOR.PATCH)")
    return value


def check_api_version(owner: str, value: object) -> str:
    text = check_semver(owner, "required_api_version", value)
    major, minor, patch = (int(p) for p in text.split("-")[0].split("+")[0].split("."))
    if major != _API[0] or (minor, patch) > _API[1:]:
        raise _fail(owner, f"required_api_version {text} is not compatible with the SDK's plugin API {API_VERSION}")
    return text


def check_name(owner: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(owner, "declares no name (set the class attribute `name`)")
    if not _NAME.match(value):
        raise _fail(owner, f"name {value!r} may only hold letters, digits, '_', '-' and '.'")
    return value


def check_text(owner: str, what: str, value: object) -> str:
    if not isinstance(value, str):
        raise _fail(owner, f"{what} must be a str, not {type(value).__name__}")
    return value


def check_source(owner: str, plugin_id: object, source: object) -> tuple[int, str]:
    """A sourcing plugin's event source ID and name (both required, as the Rust SDK requires them)."""
    if not isinstance(plugin_id, int) or isinstance(plugin_id, bool) or not 0 < plugin_id < 2**32:
        raise _fail(owner, f"id must be an integer from 1 to 4294967295 (the event source ID), not {plugin_id!r}")
    if not isinstance(source, str) or not source:
        raise _fail(owner, "declares no event_source (the name of the events it produces)")
    if source in RESERVED_SOURCES:
        raise _fail(owner, f"event_source {source!r} is reserved")
    return plugin_id, source
