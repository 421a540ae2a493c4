"""Semantic versions as Falco compares them (``sinsp_version``): ``x.y.z``, same major, not older."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SEMVER = re.compile(r"\s*([0-9]+)\.([0-9]+)\.([0-9]+)")

# The Falco rules engine version this implementation matches (Falco 0.44).
ENGINE_VERSION = "0.63.0"


@dataclass(frozen=True, slots=True, order=True)
class Version:
    major: int
    minor: int
    patch: int

    @staticmethod
    def parse(text: str) -> Version | None:
        """``x.y.z`` (anything after the patch number is ignored, as sscanf does); None if invalid."""
        match = _SEMVER.match(text)
        if match is None:
            return None
        return Version(int(match.group(1)), int(match.group(2)), int(match.group(3)))

    @staticmethod
    def implicit(number: int) -> Version:
        """An integer ``required_engine_version: N`` means ``0.N.0``."""
        return Version(0, number, 0)

    def compatible_with(self, required: Version) -> bool:
        """True when this (available) version satisfies ``required``: same major, not older."""
        return self.major == required.major and self >= required

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"
