"""``syslog_output``: each alert as a syslog message (facility user, the rule's priority as the
severity: Falco's priorities are syslog's levels), sent to the local syslog socket.

The socket is ``/dev/log``; ``FALCOPLUG_SYSLOG_SOCKET`` names another one (the tests use their own).
"""

from __future__ import annotations

import os
import socket
import time

from .base import Message, OutputError

LOG_USER = 1 << 3
DEFAULT_SOCKET = "/dev/log"


class SyslogOutput:
    name = "syslog"

    def __init__(self, address: str | None = None, ident: str = "falco") -> None:
        self.address = address or os.environ.get("FALCOPLUG_SYSLOG_SOCKET") or DEFAULT_SOCKET
        self.ident = ident
        self._sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.connect(self.address)
        except OSError as exc:
            sock.close()
            raise OutputError(f"cannot reach the syslog socket {self.address}: {exc.strerror}") from None
        return sock

    def output(self, message: Message) -> None:
        stamp = time.strftime("%b %d %H:%M:%S", time.localtime())
        line = f"<{LOG_USER | int(message.priority)}>{stamp} {self.ident}[{os.getpid()}]: {message.text}"
        for attempt in (0, 1):  # a restarted syslog daemon: connect again once
            if self._sock is None:
                self._sock = self._connect()
            try:
                self._sock.send(line.encode())
                return
            except OSError as exc:
                self._sock.close()
                self._sock = None
                if attempt:
                    raise OutputError(f"cannot send to the syslog socket {self.address}: {exc.strerror}") from None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
