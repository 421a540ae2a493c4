"""The async-event handlers handed to C plugins (``set_async_event_handler`` and ``dump_state``).

A plugin may call them from any thread. Each copies the event out of the plugin's memory and
hands the bytes to the Python handler its owner holds (``OwnerHandle.async_handler`` or
``dump_handler``), which accepts the event or raises with libsinsp's message. A refusal becomes
SS_PLUGIN_FAILURE with the message in the plugin's ``err`` buffer; nothing ever raises into C.
With the compiled fast path, plugins get ``fp_async_handler`` instead, which queues the events of
owners registered on a compiled queue itself (``abi/async_queue.py``) and passes the rest here.
"""

from __future__ import annotations

from typing import Any

from ..errors import AsyncEventRejected
from .constants import MAX_ERRLEN, Capability, Rc
from .ffi import fastpath, ffi

MAX_EVENT_LEN = 64 * 1024 * 1024
HEADER_LEN = 26


# A refusal decided at the C boundary (no handler, no capability, unreadable event): the one
# refusal type of the tree (falcoplug.errors), carrying libsinsp's text.
Rejected = AsyncEventRejected


def write_err(err: Any, text: str) -> None:
    """Copy ``text`` into the plugin's PLUGIN_MAX_ERRLEN buffer, NUL-terminated and truncated."""
    if err == ffi.NULL:
        return
    raw = text.encode("utf-8", "replace")[: MAX_ERRLEN - 1] + b"\0"
    ffi.memmove(err, raw, len(raw))


def copy_event(evt: Any, plugin_name: str) -> bytes:
    """The event's bytes, or :class:`Rejected` when its header cannot be trusted."""
    if evt == ffi.NULL:
        raise Rejected(f"malformed async event produced by plugin: {plugin_name}")
    length = int(evt.len)
    if length < HEADER_LEN or length > MAX_EVENT_LEN:
        raise Rejected(f"malformed async event produced by plugin: {plugin_name}")
    return ffi.buffer(ffi.cast("char*", evt), length)[:]


def _deliver(o: Any, evt: Any, err: Any, dump: bool) -> int:
    if o == ffi.NULL:
        write_err(err, "async event sent with a NULL owner")
        return Rc.FAILURE
    owner = ffi.from_handle(o)
    try:
        if not int(getattr(owner.owner, "capabilities", 0)) & Capability.ASYNC:
            raise Rejected("plugin without async events cap used as async handler")
        handler = owner.dump_handler if dump else owner.async_handler
        if handler is None:
            raise Rejected(f"async event sent with NULL handler: {owner.name}")
        handler(copy_event(evt, owner.name))
        return Rc.SUCCESS
    except Exception as exc:
        write_err(err, str(exc) or "unknown error in pushing async event")
        return Rc.FAILURE


@ffi.callback("ss_plugin_rc(ss_plugin_owner_t*, const ss_plugin_event*, char*)", onerror=lambda *e: Rc.FAILURE)
def python_async_handler(o: Any, evt: Any, err: Any) -> int:
    return _deliver(o, evt, err, dump=False)


# What plugins receive from set_async_event_handler. Compiled: fp_async_handler (abi/c/async.c)
# queues the events of owners registered on a CAsyncQueue without entering Python, and hands
# everything else to python_async_handler, which words every refusal.
async_handler: Any = python_async_handler
if fastpath is not None:
    fastpath.fp_async_init(python_async_handler)
    async_handler = ffi.addressof(fastpath, "fp_async_handler")


@ffi.callback("ss_plugin_rc(ss_plugin_owner_t*, const ss_plugin_event*, char*)", onerror=lambda *e: Rc.FAILURE)
def dump_handler(o: Any, evt: Any, err: Any) -> int:
    return _deliver(o, evt, err, dump=True)
