"""What a provider sends and how its response is read, without I/O.

:class:`HTTPRequest` is the call a provider asks for; a :class:`ChunkParser`
turns the response's bytes into chunks. :class:`FrameParser` is the base of
the project's parsers: a decoder splits bytes into frames, the subclass turns
each frame into chunks, and the rule for an error met mid-read lives here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from streamllm.errors import StreamLLMError

__all__ = ["ChunkParser", "Decoder", "FrameParser", "HTTPRequest"]

#: What a parser yields: ``GenerationChunk`` for text models, ``ChatDelta`` for chat ones.
C = TypeVar("C")


class ChunkParser(Protocol[C]):
    """Turns one response's bytes into chunks, without I/O (one per attempt).

    ``done`` is set once the stream's terminator has been read; ``end()`` is
    called at the end of the body and raises :class:`StreamProtocolError` when
    the terminator never came. Error frames raise :class:`ProviderError`; an
    error met after chunks of the same read is kept in ``error`` instead, and
    raised once those chunks are delivered.
    """

    done: bool
    error: StreamLLMError | None

    def feed(self, data: bytes) -> list[C]: ...

    def end(self) -> list[C]: ...


class HTTPRequest:
    """What a provider sends: a path below ``base_url``, a JSON body, headers."""

    __slots__ = ("body", "headers", "path")

    def __init__(self, path: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        self.path = path
        self.body = body
        self.headers = headers


class Decoder(Protocol):
    """Bytes to frames (:class:`~streamllm.http.sse.SSEDecoder`,
    :class:`~streamllm.http.ndjson.NDJSONDecoder`)."""

    def feed(self, chunk: bytes) -> Iterable[Any]: ...


class FrameParser(Generic[C]):
    """A :class:`ChunkParser` made of a frame ``decoder`` and a per-frame step.

    Subclasses implement :meth:`_frame` (one frame to chunks, appended to
    ``out``; it may set ``done`` or raise a :class:`StreamLLMError`) and
    ``end``. Frames after ``done`` are ignored. A parser whose frames come many
    to a read may instead override :meth:`_frames`, the loop over one read's
    frames, to read them without a method call each.
    """

    __slots__ = ("_decode", "done", "error")

    def __init__(self, decoder: Decoder) -> None:
        self._decode = decoder.feed
        self.done = False
        self.error: StreamLLMError | None = None

    def _frame(self, frame: Any, out: list[C]) -> None:
        raise NotImplementedError

    def _frames(self, frames: Iterable[Any], out: list[C]) -> None:
        """The frames of one read to chunks, appended to ``out``, until ``done``."""
        step = self._frame
        for frame in frames:
            if self.done:
                return
            step(frame, out)

    def feed(self, data: bytes) -> list[C]:
        out: list[C] = []
        try:
            frames = self._decode(data)
            if not self.done:
                self._frames(frames, out)
        except StreamLLMError as exc:
            if not out:
                raise
            # The chunks before the error are delivered first; the attempt
            # loop raises it right after them.
            self.error = exc
        return out
