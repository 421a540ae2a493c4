"""What every alert output shares: the message it receives, and the interface it implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ...errors import FalcoplugError
from ...rules import Priority


class OutputError(FalcoplugError):
    """An output could not deliver a message (the dispatcher reports it and goes on)."""


@dataclass(frozen=True)
class Message:
    """One alert as the outputs receive it: the line to deliver (text or JSON per ``json_output``)."""

    text: str
    priority: Priority
    rule: str
    json: bool


class Output(Protocol):
    """An alert channel (``stdout_output``, ``file_output``...)."""

    name: str

    def output(self, message: Message) -> None:
        """Deliver one message; raise :class:`OutputError` when it cannot."""

    def close(self) -> None:
        """Flush and release what the output holds (files, programs, connections)."""
