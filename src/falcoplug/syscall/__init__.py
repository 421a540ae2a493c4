"""The ``syscall`` event source as libsinsp knows it: its field catalogue, libscap's event table,
field resolution with libsinsp's rules, and the values that syscall events give."""

from .catalogue import SYSCALL_SOURCE, event_table, field_classes, is_event_type_name, syscall_fields
from .fields import SyscallFieldError, SyscallRef, resolve

__all__ = [
    "SYSCALL_SOURCE",
    "SyscallFieldError",
    "SyscallRef",
    "event_table",
    "field_classes",
    "is_event_type_name",
    "resolve",
    "syscall_fields",
]
