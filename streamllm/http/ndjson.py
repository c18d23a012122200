"""A sans-I/O decoder for newline-delimited JSON (one JSON value per line).

Lines are returned as bytes: ``json.loads`` takes bytes directly, so no text
is decoded twice. Blank lines are skipped; a CR before the LF is tolerated.
"""

from __future__ import annotations

from typing import final

__all__ = ["NDJSONDecoder"]


@final
class NDJSONDecoder:
    """Turns a byte stream into complete lines, however it is split.

    >>> decoder = NDJSONDecoder()
    >>> decoder.feed(b'{"a": 1}\\n{"b"')
    [b'{"a": 1}']
    >>> decoder.feed(b': 2}\\n')
    [b'{"b": 2}']
    """

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        """Take the next bytes; return the lines they complete, in order."""
        buffer = self._buffer + chunk if self._buffer else chunk
        end = buffer.rfind(b"\n")
        if end < 0:
            self._buffer = buffer
            return []
        self._buffer = buffer[end + 1 :]
        if buffer.find(b"\n") == end:
            # the common case: one line per read
            line = buffer[:end].rstrip(b"\r")
            return [line] if line.strip() else []
        return [line.rstrip(b"\r") for line in buffer[:end].split(b"\n") if line.strip()]

    def end(self) -> bytes | None:
        """End of stream: the last line when it had no final newline."""
        rest, self._buffer = self._buffer, b""
        rest = rest.strip()
        return rest or None
