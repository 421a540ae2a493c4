"""The plugin under test as the checks use it: a child process with the plugin loaded and
initialized, restarted after a crash, and a count of the calls that ran isolated."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .sandbox import ChildFailure, Limits, Sandbox, WorkerError


@dataclass
class Failure:
    """A child failure and the call it happened in (kept for the isolation summary)."""

    check: str
    error: ChildFailure
    call: str


@dataclass
class Session:
    location: str
    config: str
    limits: Limits
    info: dict[str, Any] = field(default_factory=dict)
    types: dict[str, Any] = field(default_factory=dict)
    calls: int = 0
    restarts: int = 0
    failures: list[Failure] = field(default_factory=list)
    syscall_events: list[bytes] = field(default_factory=list)  # real ones, from sourcing or --with
    _box: Sandbox | None = None

    def sandbox(self) -> Sandbox:
        """A live child with the plugin loaded and initialized (a new one after a failure)."""
        if self._box is not None and self._box.alive:
            return self._box
        if self._box is not None:
            self._box.close()
            self.restarts += 1
        box = Sandbox(self.limits)
        try:
            box.call("load", self.location)
            self.types = box.call("init", self.config)
        except BaseException:
            box.close()
            raise
        self._box = box
        return box

    def sandbox_for_load(self) -> Sandbox:
        """A new child with nothing loaded yet (the loading check drives it, then adopts it)."""
        self.reset()
        return Sandbox(self.limits)

    def adopt(self, box: Sandbox) -> None:
        self._box = box

    def call(self, op: str, *args: Any, total: float | None = None, count: int = 1) -> Any:
        box = self.sandbox()
        self.calls += count
        return box.call(op, *args, total=total)

    def reset(self) -> None:
        """Drop the child (after a failure, or to start from a fresh plugin state)."""
        if self._box is not None:
            self._box.close()
            self._box = None

    def close(self) -> None:
        self.reset()


__all__ = ["ChildFailure", "Failure", "Limits", "Session", "WorkerError"]
