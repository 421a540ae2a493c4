"""The host's ``threads`` table, as libsinsp's thread manager exposes it to plugins.

Key: the thread id (int64). Static fields are those of ``sinsp_threadinfo::get_static_fields``
with their C types and the defaults of ``sinsp_threadinfo::init``; the read-only ``table`` fields
``file_descriptors`` (key int64, the fields of ``sinsp_fdinfo``), ``args`` and ``env`` (key uint64,
field ``value``) and ``cgroups`` (key uint64, fields ``first`` and ``second``) hold one sub-table
per thread. ``cwd`` is read-only too. Plugins may add dynamic fields (any scalar type).

The inspector adds an entry for the thread id of each ``syscall`` event it has not seen yet (as
libsinsp does when ``/proc`` cannot tell it more: ``pid`` -1, ``comm`` and ``exe`` "<NA>").
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from ..abi.constants import StateType
from ..abi.scan import event_tids
from .tables import Entry, FieldSpec, HostTable, Schema, SubTable

ST = StateType
THREADS_TABLE = "threads"
NO_TID = -1
PPM_CL_NAME_CHANGED = 1 << 17
_UINT32_MAX = 0xFFFFFFFF
_TID = struct.Struct("<q")


def fd_schema() -> Schema:
    """``sinsp_fdinfo``'s static fields (a fresh fd is of type SCAP_FD_UNINITIALIZED, 255 as u8)."""
    return Schema([
        FieldSpec("type", ST.UINT8, default=255),
        FieldSpec("open_flags", ST.UINT32),
        FieldSpec("name", ST.STRING),
        FieldSpec("name_raw", ST.STRING),
        FieldSpec("old_name", ST.STRING),
        FieldSpec("flags", ST.UINT32),
        FieldSpec("dev", ST.UINT32),
        FieldSpec("mount_id", ST.UINT32),
        FieldSpec("ino", ST.UINT64),
        FieldSpec("pid", ST.INT64),
        FieldSpec("fd", ST.INT64),
        FieldSpec("socket_ipv4_src_ip", ST.UINT32),
        FieldSpec("socket_ipv4_dest_dip", ST.UINT32),
        FieldSpec("socket_ipv4_src_port", ST.UINT16),
        FieldSpec("socket_ipv4_dst_port", ST.UINT16),
        FieldSpec("socket_ipv4_l4_proto", ST.UINT8),
        FieldSpec("socket_ipv6_src_ip_low", ST.UINT64),
        FieldSpec("socket_ipv6_src_ip_high", ST.UINT64),
        FieldSpec("socket_ipv6_dest_ip_low", ST.UINT64),
        FieldSpec("socket_ipv6_dest_ip_high", ST.UINT64),
        FieldSpec("socket_ipv6_src_port", ST.UINT16),
        FieldSpec("socket_ipv6_dst_port", ST.UINT16),
        FieldSpec("socket_ipv6_l4_proto", ST.UINT8),
        FieldSpec("socket_ipv4_server_ip", ST.UINT32),
        FieldSpec("socket_ipv4_server_port", ST.UINT16),
        FieldSpec("socket_ipv4_server_l4_proto", ST.UINT8),
        FieldSpec("socket_ipv6_server_ip_low", ST.UINT64),
        FieldSpec("socket_ipv6_server_ip_high", ST.UINT64),
        FieldSpec("socket_ipv6_server_port", ST.UINT16),
        FieldSpec("socket_ipv6_server_l4_proto", ST.UINT8),
        FieldSpec("socket_unix_src", ST.UINT64),
        FieldSpec("socket_unix_dest", ST.UINT64),
    ])  # fmt: skip


def threads_schema() -> Schema:
    """``sinsp_threadinfo``'s static fields, in its order, with ``init()``'s defaults."""
    value = Schema([FieldSpec("value", ST.STRING)])
    return Schema([
        FieldSpec("tid", ST.INT64, default=NO_TID),
        FieldSpec("pid", ST.INT64, default=NO_TID),
        FieldSpec("ptid", ST.INT64, default=NO_TID),
        FieldSpec("reaper_tid", ST.INT64, default=NO_TID),
        FieldSpec("sid", ST.INT64, default=NO_TID),
        FieldSpec("comm", ST.STRING),
        FieldSpec("exe", ST.STRING),
        FieldSpec("exe_path", ST.STRING),
        FieldSpec("exe_writable", ST.BOOL),
        FieldSpec("exe_upper_layer", ST.BOOL),
        FieldSpec("exe_lower_layer", ST.BOOL),
        FieldSpec("exe_from_memfd", ST.BOOL),
        FieldSpec("args", ST.TABLE, read_only=True, sub=SubTable("args", ST.UINT64, value)),
        FieldSpec("env", ST.TABLE, read_only=True, sub=SubTable("env", ST.UINT64, value)),
        FieldSpec("cgroups", ST.TABLE, read_only=True, sub=SubTable(
            "cgroups", ST.UINT64, Schema([FieldSpec("first", ST.STRING), FieldSpec("second", ST.STRING)])
        )),
        FieldSpec("flags", ST.UINT32, default=PPM_CL_NAME_CHANGED),
        FieldSpec("fd_limit", ST.INT64, default=-1),
        FieldSpec("uid", ST.UINT32, default=_UINT32_MAX),
        FieldSpec("gid", ST.UINT32, default=_UINT32_MAX),
        FieldSpec("loginuid", ST.UINT32, default=_UINT32_MAX),
        FieldSpec("exe_ino", ST.UINT64),
        FieldSpec("exe_ino_ctime", ST.UINT64),
        FieldSpec("exe_ino_mtime", ST.UINT64),
        FieldSpec("vtid", ST.INT64, default=-1),
        FieldSpec("vpid", ST.INT64, default=-1),
        FieldSpec("vpgid", ST.INT64, default=-1),
        FieldSpec("pgid", ST.INT64, default=-1),
        FieldSpec("pidns_init_start_ts", ST.UINT64),
        FieldSpec("root", ST.STRING),
        FieldSpec("tty", ST.UINT32),
        FieldSpec("file_descriptors", ST.TABLE, read_only=True,
                  sub=SubTable("file_descriptors", ST.INT64, fd_schema())),
        FieldSpec("cwd", ST.STRING, read_only=True),
    ])  # fmt: skip


class ThreadsTable(HostTable):
    """The ``threads`` table (key: thread id)."""

    def __init__(self) -> None:
        super().__init__(THREADS_TABLE, ST.INT64, threads_schema())
        fields = self.schema.fields
        self._tid = fields["tid"].index
        # What libsinsp puts in the entry of a thread it learns of from an event alone.
        self._unknown = {fields[n].index: v for n, v in (("comm", "<NA>"), ("exe", "<NA>"))}

    def _on_add(self, key: Any, entry: Entry) -> None:
        entry.values[self._tid] = key

    def ensure(self, tid: int) -> Entry:
        """The entry of ``tid``, created as libsinsp's fake entry for an unknown thread if needed."""
        entry = self._entries.get(tid)
        if entry is not None:
            return entry
        entry = Entry(self.schema)
        for index, value in self._unknown.items():
            entry.values[index] = value
        with self.schema.lock:
            existing = self._entries.get(tid)
            if existing is not None:
                return existing
            entry.table, entry.key = self, tid
            entry.values[self._tid] = tid
            self._entries[tid] = entry
        return entry

    def ensure_events(self, data: bytes | bytearray | memoryview, offsets: Iterable[int]) -> None:
        """Add an entry for the thread of every event at ``offsets`` (events with tid -1 have none)."""
        for tid in event_tids(data, offsets).difference(self._entries):  # header reads in C
            self.ensure(tid)
