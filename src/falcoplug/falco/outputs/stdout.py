"""``stdout_output``: each alert on a line of standard output."""

from __future__ import annotations

import sys
from typing import TextIO

from .base import Message, OutputError


class StdoutOutput:
    name = "stdout"

    def __init__(self, *, buffered: bool, stream: TextIO | None = None) -> None:
        self.buffered = buffered
        self.stream = stream

    def output(self, message: Message) -> None:
        stream = self.stream or sys.stdout
        try:
            stream.write(message.text + "\n")
            if not self.buffered:
                stream.flush()
        except BrokenPipeError as exc:
            raise OutputError(f"cannot write to stdout: {exc.strerror}") from None

    def close(self) -> None:
        try:
            (self.stream or sys.stdout).flush()
        except (BrokenPipeError, ValueError):
            pass
