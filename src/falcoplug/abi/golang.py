"""Plugins built with the Go SDK, loaded so that their field extraction is called directly.

The Go SDK picks its extraction mode once, when a plugin is initialized: on a machine with more than
one CPU (Go's ``runtime.NumCPU()``, read from the loading thread's CPU affinity when the library's
Go runtime starts) every ``extract_fields`` call is handed to a worker goroutine that busy-waits on
another core, and that worker sleeps 10 ms at a time once it has had no request for 1 ms. That
suits libsinsp, which asks for fields event after event with no pause; falcoplug extracts a host
batch at a time and evaluates rules in between, so nearly every call found the worker asleep (about
2 ms a call on average for the official k8saudit plugin), and two Go plugins spinning beside the host
oversubscribe a 2-CPU machine. With one CPU the SDK calls the plugin's Go code directly on the host's
thread (a plain cgo call, about a microsecond), which is what a batch host wants.

So a Go library is opened while the loading thread is restricted to one CPU, until its Go runtime has
started (the first exported call waits for that); then the loading thread and every thread born during
the load get their CPU affinity back. The plugin's Go code then runs with ``GOMAXPROCS=1`` unless the
``GOMAXPROCS`` variable was set when falcoplug started. ``FALCOPLUG_GO_ASYNC_EXTRACTION=1`` keeps the
SDK's own choice.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from contextlib import contextmanager

# The first bytes of the ``.go.buildinfo`` section that every Go binary of Go 1.13 and later carries.
_BUILDINFO_MAGIC = b"\xff Go buildinf:"
_KEEP_ASYNC_ENV = "FALCOPLUG_GO_ASYNC_EXTRACTION"
_TASKS = "/proc/self/task"


def is_go_library(path: str) -> bool:
    """Whether the file at ``path`` was built by the Go toolchain (it carries Go's build information)."""
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return data.find(_BUILDINFO_MAGIC) >= 0
    except (OSError, ValueError):  # unreadable, empty: dlopen says what is wrong with it
        return False


def _threads() -> set[int]:
    try:
        return {int(tid) for tid in os.listdir(_TASKS)}
    except OSError:
        return set()


def _restore(threads: set[int], mask: set[int]) -> None:
    for tid in threads:
        try:
            if os.sched_getaffinity(tid) != mask:
                os.sched_setaffinity(tid, mask)
        except OSError:  # the thread ended meanwhile, or changing it is not allowed
            pass


@contextmanager
def direct_extraction(path: str) -> Iterator[None]:
    """Around the ``dlopen`` of ``path`` and its first exported call: for a Go library, the loading
    thread runs on one CPU (see the module's docstring); nothing changes for other libraries."""
    if os.environ.get(_KEEP_ASYNC_ENV) == "1" or not hasattr(os, "sched_setaffinity") or not is_go_library(path):
        yield
        return
    try:
        mask = os.sched_getaffinity(0)
    except OSError:
        mask = set()
    if len(mask) < 2:  # one CPU already: the SDK calls directly
        yield
        return
    before = _threads()
    try:
        os.sched_setaffinity(0, {min(mask)})
    except OSError:
        yield
        return
    try:
        yield
    finally:
        os.sched_setaffinity(0, mask)
        # Twice: a thread of the new runtime may have started another one while the first pass ran.
        for _ in range(2):
            _restore(_threads() - before, mask)
