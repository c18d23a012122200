"""A sans-I/O Server-Sent Events decoder, per the WHATWG "event stream" rules.

Feed it the bytes as they arrive, in pieces of any size; it returns the
events completed so far. It does no I/O, so the sync and async HTTP paths share
it. Lines end in CR, LF or CRLF (a CRLF split across two reads is one line
end). Only whole lines are decoded (the events of one read at once where it
can), and since CR and LF never occur inside a multi-byte UTF-8 sequence, a
character split across reads is whole by the time its line is decoded.
"""

from __future__ import annotations

from typing import NamedTuple, final

__all__ = ["SSEDecoder", "SSEEvent"]

_BOM = b"\xef\xbb\xbf"


class SSEEvent(NamedTuple):
    """One dispatched event: its ``event`` type (``"message"`` by default), its
    ``data`` (the ``data:`` lines joined with LF), and the last event ``id``."""

    event: str
    data: str
    id: str = ""
    retry: int | None = None

    def __repr__(self) -> str:
        return f"SSEEvent(event={self.event!r}, data={self.data!r}, id={self.id!r})"


# Built without the generated __new__: one event per streamed token.
_event = tuple.__new__


@final
class SSEDecoder:
    """Turns a byte stream into :class:`SSEEvent`s.

    >>> decoder = SSEDecoder()
    >>> decoder.feed(b"event: ping\\ndata: {}\\n\\ndata: hel")
    [SSEEvent(event='ping', data='{}', id='')]
    >>> decoder.feed(b"lo\\r\\n\\r\\n")
    [SSEEvent(event='message', data='hello', id='')]
    """

    __slots__ = ("_buffer", "_data", "_event", "_id", "_retry", "_skip_lf", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._skip_lf = False  # the last read ended in CR: a leading LF belongs to it
        self._started = False  # the byte order mark is only stripped at the very start
        self._data: list[bytes] = []
        self._event = b""
        self._id = ""
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Take the next bytes; return the events they complete, in order."""
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == 10:
                chunk = chunk[1:]
        buffer = self._buffer + chunk if self._buffer else chunk
        if not self._started:
            if len(buffer) < 3 and _BOM.startswith(buffer):
                self._buffer = buffer
                return []
            self._started = True
            if buffer.startswith(_BOM):
                buffer = buffer[3:]
        if not self._data and not self._event and b"\r" not in buffer:
            cut = buffer.rfind(b"\n\n")
            if cut >= 0:
                self._buffer = buffer[cut + 2 :]
                return self._events(buffer[:cut])
        end = max(buffer.rfind(b"\n"), buffer.rfind(b"\r"))
        if end < 0:
            self._buffer = buffer
            return []
        self._buffer = buffer[end + 1 :]
        if end == len(buffer) - 1 and buffer[end] == 13:
            self._skip_lf = True
        return self._lines(buffer[: end + 1].splitlines())

    def end(self) -> bool:
        """End of stream. An event without its closing blank line is discarded,
        as the spec says; returns whether anything incomplete was pending."""
        incomplete = bool(self._buffer or self._data)
        self._buffer = b""
        self._data = []
        self._event = b""
        return incomplete

    def _events(self, head: bytes) -> list[SSEEvent]:
        """Whole events ending in LF LF, no CR anywhere: the shape servers send.
        They are decoded at once (LF is never part of a UTF-8 sequence, so this
        is the text of each line decoded alone). An event that is one ``data: ``
        line is built at once; any other goes through the line rules."""
        text = head.decode("utf-8", "replace")
        if text.startswith("data: "):
            datas = text[6:].split("\n\ndata: ")
            # Every event one data line: no LF but the separators' two.
            if text.count("\n") == 2 * len(datas) - 2:
                id, retry = self._id, self._retry
                return [_event(SSEEvent, ("message", data, id, retry)) for data in datas]
        out: list[SSEEvent] = []
        for block in text.split("\n\n"):
            if block.startswith("data: ") and block.find("\n", 6) < 0:
                out.append(_event(SSEEvent, ("message", block[6:], self._id, self._retry)))
            elif block:
                out += self._lines([*block.encode().split(b"\n"), b""])
        return out

    def _lines(self, lines: list[bytes]) -> list[SSEEvent]:
        out: list[SSEEvent] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    text = data[0] if len(data) == 1 else b"\n".join(data)
                    out.append(
                        _event(
                            SSEEvent,
                            (
                                self._event.decode("utf-8", "replace")
                                if self._event
                                else "message",
                                text.decode("utf-8", "replace"),
                                self._id,
                                self._retry,
                            ),
                        )
                    )
                    data = self._data = []
                self._event = b""
                continue
            if line.startswith(b"data:"):  # the hot path: most lines are data lines
                value = line[5:]
                data.append(value[1:] if value[:1] == b" " else value)
                continue
            if line[0] == 58:  # ":" starts a comment
                continue
            field, colon, value = line.partition(b":")
            if colon and value[:1] == b" ":
                value = value[1:]
            if field == b"data":
                data.append(value)
            elif field == b"event":
                self._event = value
            elif field == b"id":
                if b"\0" not in value:
                    self._id = value.decode("utf-8", "replace")
            elif field == b"retry" and value.isdigit():
                self._retry = int(value)
        return out
