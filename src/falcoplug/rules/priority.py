"""Rule priorities: names, parsing (case-insensitive, ``info`` alias) and order (0 is the highest)."""

from __future__ import annotations

from enum import IntEnum


class Priority(IntEnum):
    EMERGENCY = 0
    ALERT = 1
    CRITICAL = 2
    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFORMATIONAL = 6
    DEBUG = 7

    @property
    def text(self) -> str:
        """The name Falco prints in alerts: ``Critical``, ``Informational``..."""
        return self.name.capitalize()

    @staticmethod
    def parse(text: str) -> Priority | None:
        name = text.strip().upper() if text else ""
        if name == "INFO":
            return Priority.INFORMATIONAL
        return Priority.__members__.get(name)
