"""``file_output``: alerts appended to a file, opened for each alert or kept open (``keep_alive``)."""

from __future__ import annotations

from typing import TextIO

from .base import Message, OutputError


class FileOutput:
    name = "file"

    def __init__(self, filename: str, *, keep_alive: bool, buffered: bool) -> None:
        self.filename = filename
        self.keep_alive = keep_alive
        self.buffered = buffered
        self._file: TextIO | None = None

    def _open(self) -> TextIO:
        try:
            return open(self.filename, "a", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"could not open file {self.filename}: {exc.strerror}") from None

    def output(self, message: Message) -> None:
        file = self._file or self._open()
        try:
            file.write(message.text + "\n")
            if not self.buffered:
                file.flush()
        except OSError as exc:
            file.close()
            self._file = None
            raise OutputError(f"could not write to file {self.filename}: {exc.strerror}") from None
        if self.keep_alive:
            self._file = file
        else:
            file.close()

    def reopen(self) -> None:
        """Close the kept file so that the next alert opens it anew (after log rotation)."""
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
