"""``program_output``: each alert on the standard input of a shell command.

Without ``keep_alive`` the command runs once per alert (it reads one line, then its end of input);
with it, one process reads every alert. A kept program that has exited is started again for the
next alert, and the failure is reported.
"""

from __future__ import annotations

import subprocess

from .base import Message, OutputError


class ProgramOutput:
    name = "program"

    def __init__(self, program: str, *, keep_alive: bool, buffered: bool) -> None:
        self.program = program
        self.keep_alive = keep_alive
        self.buffered = buffered
        self._process: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(["/bin/sh", "-c", self.program], stdin=subprocess.PIPE)
        except OSError as exc:
            raise OutputError(f"could not start program '{self.program}': {exc.strerror}") from None

    def output(self, message: Message) -> None:
        data = (message.text + "\n").encode()
        if not self.keep_alive:
            process = self._start()
            try:
                process.communicate(data)
            except BrokenPipeError:
                pass
            return
        if self._process is None or self._process.poll() is not None:
            exited = self._process is not None
            self._process = self._start()
            if exited:
                self._write(data)
                raise OutputError(f"program '{self.program}' had exited; started it again")
        self._write(data)

    def _write(self, data: bytes) -> None:
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write(data)
            if not self.buffered:
                self._process.stdin.flush()
        except (BrokenPipeError, ValueError):
            self._process = None
            raise OutputError(f"program '{self.program}' exited: the alert was not delivered") from None

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
