"""The parent side of the isolation: the plugin under test runs in a child process, each call has a
time limit and the child an address-space limit, and a crash, a hang, an ``exit()`` or runaway memory
becomes a :class:`ChildFailure` naming the call, while the checker carries on.

Children come from a ``forkserver`` (one clean process, with falcoplug imported once, forks each
child), so that restarting after a crash costs milliseconds rather than a new interpreter; where
it is unavailable, ``spawn`` is used.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import types
from collections.abc import Iterator
import signal
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from ..errors import PluginError
from . import _worker

_POLL = 0.02
_PAGE = os.sysconf("SC_PAGE_SIZE")
_TAIL = 64 * 1024  # enough for a Go panic and its goroutine dump


@dataclass(frozen=True)
class Limits:
    """Per-call time limit (seconds) and the resident memory the child may add (bytes)."""

    call_timeout: float = 5.0
    memory: int = 1 << 30


class ChildFailure(PluginError):
    """The child died or was stopped during ``op``; ``index`` is the input it was on (a finding
    of the check that ran it, reported in its table)."""

    def __init__(self, kind: str, op: str, index: int, detail: str, output: str = "") -> None:
        super().__init__(f"{kind} in {op}: {detail}")
        self.kind = kind  # "crash", "exit", "hang" or "memory"
        self.op = op
        self.index = index
        self.detail = detail
        self.output = output


class WorkerError(PluginError):
    """An operation failed cleanly in the child (a plugin error, a refused config...)."""


def _context() -> Any:
    try:
        ctx = multiprocessing.get_context("forkserver")
        # What every child needs, imported once in the server rather than once per child.
        ctx.set_forkserver_preload(["falcoplug.check._worker", "falcoplug.framework.inprocess", "falcoplug.sdk"])
        return ctx
    except ValueError:  # pragma: no cover - platforms without forkserver
        return multiprocessing.get_context("spawn")


_CTX: Any = None


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """Start a child without multiprocessing re-running the parent's main script in it.

    The child needs nothing from ``__main__`` (its target is in this package), and a script that
    calls :func:`check_plugin` without an ``if __name__ == "__main__"`` guard would otherwise run
    again in every child. A bare module stands in for ``__main__`` while the process starts.
    """
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


class Sandbox:
    """One child process running one plugin; :meth:`call` runs an operation of ``_worker.Worker``."""

    def __init__(self, limits: Limits) -> None:
        global _CTX
        if _CTX is None:
            _CTX = _context()
        self.limits = limits
        self._ctx = _CTX
        fd, self.output_path = tempfile.mkstemp(prefix="falcoplug-check-", suffix=".log")
        os.close(fd)
        self._conn, child_conn = self._ctx.Pipe()
        self._shared = self._ctx.RawArray("d", 4)
        self._proc = self._ctx.Process(
            target=_worker.serve, args=(child_conn, self._shared, self.output_path, limits.memory), daemon=True
        )
        with _main_hidden():
            self._proc.start()
        child_conn.close()
        self._peak = 0
        self.alive = True

    def call(self, op: str, *args: Any, total: float | None = None) -> Any:
        """Run ``op`` in the child; raises :class:`ChildFailure` or :class:`WorkerError`."""
        if not self.alive:
            raise ChildFailure("crash", op, 0, "the plugin's process is gone")
        self._conn.send((op, args))
        started = time.monotonic()
        while True:
            if self._conn.poll(_POLL):
                try:
                    status, value = self._conn.recv()
                except (EOFError, OSError):
                    raise self._died(op) from None
                if status == "ok":
                    return value
                if status == "memory":
                    raise ChildFailure("memory", op, self.index, value, self.output())
                raise WorkerError(value)
            if not self._proc.is_alive():
                raise self._died(op)
            if self._over_memory():
                index = self.index
                self._kill()
                raise ChildFailure("memory", op, index, f"resident memory over the {self.limits.memory >> 20} MiB limit", self.output())
            call_started = self._shared[_worker.SLOT_STARTED]
            now = time.monotonic()
            limit = self.limits.call_timeout
            if call_started and now - call_started > limit:
                raise self._stop(op, f"no return after {limit:g} s")
            if total is not None and now - started > total:
                raise self._stop(op, f"the operation did not finish in {total:g} s")

    @property
    def index(self) -> int:
        return int(self._shared[_worker.SLOT_INDEX])

    def _over_memory(self) -> bool:
        """Whether the child's resident memory grew past the limit (checked at every poll)."""
        if self.limits.memory <= 0:
            return False
        try:
            with open(f"/proc/{self._proc.pid}/statm") as f:
                resident = int(f.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            return False
        self._peak = max(self._peak, resident)
        base = int(self._shared[_worker.SLOT_BASE])
        return base > 0 and resident - base > self.limits.memory

    def _stop(self, op: str, detail: str) -> ChildFailure:
        index = self.index
        self._kill()
        return ChildFailure("hang", op, index, detail, self.output())

    def _died(self, op: str) -> ChildFailure:
        index = self.index
        self._proc.join(2)
        code = self._proc.exitcode
        self.alive = False
        output = self.output()
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            kind = "memory" if self._near_limit() or "out of memory" in output else "crash"
            return ChildFailure(kind, op, index, f"killed by {name}", output)
        kind = "memory" if "out of memory" in output or "MemoryError" in output else "exit"
        return ChildFailure(kind, op, index, f"the process exited with status {code} (exit() in plugin code)", output)

    def _near_limit(self) -> bool:
        """Whether the child had grown by most of its allowance before dying (a C plugin's
        malloc returning NULL at the address-space backstop, or a kill between two polls)."""
        base = int(self._shared[_worker.SLOT_BASE])
        return self.limits.memory > 0 and base > 0 and self._peak - base > 0.8 * self.limits.memory

    def output(self) -> str:
        """The tail of what the plugin printed (its stdout and stderr)."""
        try:
            with open(self.output_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - _TAIL))
                return f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def _kill(self) -> None:
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join(2)
        self.alive = False

    def close(self) -> None:
        if self.alive:
            try:
                self._conn.send(("quit", ()))
                if self._conn.poll(2):
                    self._conn.recv()
            except (EOFError, OSError):
                pass
        self._kill()
        self._conn.close()
        try:
            os.unlink(self.output_path)
        except OSError:
            pass

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
