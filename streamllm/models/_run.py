"""The run drivers: the one place where a provider's chunks become events.

Providers only yield :class:`GenerationChunk`s. These drivers fire ``LLMStart``,
one ``NewToken`` per non-empty chunk (before the consumer sees it), and exactly
one terminal event, whatever happens: exhaustion, an error, ``close()`` or
garbage collection of the iterator (``GeneratorExit``), task cancellation or
Ctrl-C.

Data flows one way: the model hands a driver a :class:`Call` (its name, the
request, a function opening the chunk stream, a usage estimator), the driver
hands events to the :class:`RunManager`, the manager to the handlers. The
decisions the two drivers share (which terminal event, with which result, and
whether a handler's failure may replace the error) are in :class:`Call`; the
drivers keep only the iteration, which is what differs between sync and async.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from itertools import islice
from typing import Any, Generic, NamedTuple, NoReturn, TypeVar, final

from streamllm.callbacks.manager import RunManager, reason_for
from streamllm.errors import HandlerError
from streamllm.events import LLMEnd, LLMError
from streamllm.outputs import GenerationChunk, LLMResult, TokenUsage
from streamllm.request import BLOCK, Outcome, Request

__all__ = [
    "TEXT",
    "Call",
    "Driver",
    "aclose_iter",
    "adrive",
    "afail",
    "cancellable",
    "close_iter",
    "drive",
    "fail",
]

_EMPTY_RESULT = LLMResult(generations=())
_NO_CHUNK: Any = object()  # no chunk taken yet in a block (drive)

# _JOINED: the drivers keep a run's text as ``done``, one local ``str`` that
# each block of BLOCK tokens is appended to (``done += block``), and hand it to
# the outcome as its only text when the run ends. Nothing else holds ``done``,
# so CPython grows it in place: the run never holds its text twice (once in
# blocks, once joined), and a handler that keeps its own copy of the tokens
# (ResultCollector) brings the peak to about twice the text, not three times
# (issue 11.10). Elsewhere ``+=`` copies: slower, never wrong.


#: What a provider's stream yields: ``GenerationChunk`` (text) or ``ChatDelta`` (chat).
C = TypeVar("C")


@final
class Call(Generic[C]):
    """What a driver needs from the model for one run, and the I/O-free part
    of ending it.

    ``chunks`` opens the provider's chunk stream (called inside the driver, so
    a failure to open it still ends the run with its terminal event);
    ``estimate`` counts the tokens of a text when the provider reported none.
    """

    __slots__ = ("_achunks", "_chunks", "estimate", "model", "request")

    def __init__(
        self,
        model: str,
        request: Request,
        chunks: Callable[[Request], Iterator[C]],
        achunks: Callable[[Request], AsyncIterator[C]],
        estimate: Callable[[Request, str], TokenUsage],
    ) -> None:
        self.model = model
        self.request = request
        self._chunks = chunks
        self._achunks = achunks
        self.estimate = estimate

    def chunks(self) -> Iterator[C]:
        return self._chunks(self.request)

    def achunks(self) -> AsyncIterator[C]:
        return self._achunks(self.request)

    def start(self, run: RunManager) -> Any:
        request = self.request
        return run.start_event(
            self.model, request.prompt, request.messages, request.params, request.tools
        )

    def result(self, run: RunManager, outcome: Outcome) -> LLMResult:
        request = self.request
        return outcome.build(
            self.model, run.run_id, request, lambda text: self.estimate(request, text)
        )

    def failure(self, run: RunManager, outcome: Outcome, exc: BaseException) -> tuple[Any, bool]:
        """The terminal error event for ``exc``, and whether a handler's failure
        on it may replace ``exc`` for the caller (never for cancellation)."""
        if isinstance(exc, HandlerError):
            run.clear_failure()
        reason = reason_for(exc)
        partial = self.result(run, outcome) if run.wants(LLMError.slot) else _EMPTY_RESULT
        return run.error_event(exc, reason, partial), reason == "failed"

    def success(self, run: RunManager, outcome: Outcome, need_result: bool) -> Any:
        if need_result or run.wants(LLMEnd.slot):
            outcome.result = self.result(run, outcome)
        return run.end_event(outcome.result if outcome.result is not None else _EMPTY_RESULT)


def close_iter(it: Any) -> None:
    close = getattr(it, "close", None)
    if close is not None:
        close()


async def aclose_iter(it: Any) -> None:
    aclose = getattr(it, "aclose", None)
    if aclose is not None:
        await aclose()


def cancellable(chunks: Iterator[C], cancel: threading.Event) -> Generator[C, None, None]:
    """``chunks``, ending with ``CancelledError`` once ``cancel`` is set (a batch
    that stops): checked after each chunk, outside the drivers' hot loop."""
    try:
        for chunk in chunks:
            yield chunk
            if cancel.is_set():
                raise asyncio.CancelledError("batch cancelled")
    finally:
        close_iter(chunks)


def fail(call: Call[Any], run: RunManager, outcome: Outcome, exc: BaseException) -> NoReturn:
    """End a run that ``exc`` interrupted with its error event, then raise:
    ``exc`` itself, or the ``HandlerError`` of a ``raise_error`` handler that
    failed on the error event (never for cancellation). Every driver's
    ``except BaseException`` calls this (or :func:`afail`)."""
    event, may_replace = call.failure(run, outcome, exc)
    replacement: HandlerError | None = None
    try:
        # close() or garbage collection (GeneratorExit): never wait for
        # async handlers here; a finaliser must not block.
        run.finish(event, wait=not isinstance(exc, GeneratorExit))
    except HandlerError as handler_exc:
        replacement = handler_exc
    if replacement is not None and may_replace:
        raise replacement from exc
    raise exc


async def afail(call: Call[Any], run: RunManager, outcome: Outcome, exc: BaseException) -> NoReturn:
    """Async :func:`fail`: async hooks are awaited."""
    event, may_replace = call.failure(run, outcome, exc)
    replacement: HandlerError | None = None
    try:
        await run.afinish(event)
    except HandlerError as handler_exc:
        replacement = handler_exc
    # Closing (GeneratorExit) or cancelling keeps its own exception.
    if replacement is not None and may_replace:
        raise replacement from exc
    raise exc


def drive(
    call: Call[GenerationChunk],
    run: RunManager,
    outcome: Outcome,
    *,
    tokens: bool,
    need_result: bool = False,
    cancel: threading.Event | None = None,
    chunks: bool = True,
) -> Generator[str, None, None]:
    """Run one model call in sync code, yielding each token after its ``NewToken``
    (``tokens=False``: no ``NewToken``, as for a non-streaming ``invoke``).
    ``chunks`` is the chat drivers' switch for building chunks to yield; a text
    run's chunks are its tokens, always yielded."""
    texts = outcome.texts
    append = texts.append
    done = ""  # the blocks joined so far (_JOINED)
    token = run.token
    it: Any = None
    try:
        run.emit(call.start(run))
        it = call.chunks() if cancel is None else cancellable(call.chunks(), cancel)
        want = tokens and run.wants_tokens()
        while True:
            # A block of BLOCK chunks at a time: islice counts them in C, so
            # the per-chunk loop has no counter of its own (_JOINED).
            chunk = _NO_CHUNK
            for chunk in islice(it, BLOCK):
                if chunk.finish_reason is not None or chunk.usage is not None:
                    outcome.note(chunk)
                text = chunk.text
                if text:
                    append(text)
                    if want:
                        token(text, chunk.extras)
                    yield text
            if chunk is _NO_CHUNK:  # the block was empty: the stream has ended
                break
            done += "".join(texts)  # in place: see _JOINED
            texts.clear()
        it = None
    except BaseException as exc:
        close_iter(it)
        done += "".join(texts)
        texts[:] = (done,)
        fail(call, run, outcome, exc)
    done += "".join(texts)
    texts[:] = (done,)
    run.finish(call.success(run, outcome, need_result))


async def adrive(
    call: Call[GenerationChunk],
    run: RunManager,
    outcome: Outcome,
    *,
    tokens: bool,
    need_result: bool = False,
    chunks: bool = True,
) -> AsyncGenerator[str, None]:
    """The async form of :func:`drive`: async hooks are awaited inline, in order."""
    texts = outcome.texts
    append = texts.append
    done = ""
    left = BLOCK
    inline = not run.has_async
    token = run.token
    it: Any = None
    try:
        await run.aemit(call.start(run))
        it = call.achunks()
        want = tokens and run.wants_tokens()
        async for chunk in it:
            if chunk.finish_reason is not None or chunk.usage is not None:
                outcome.note(chunk)
            text = chunk.text
            if text:
                append(text)
                left -= 1
                if not left:
                    done += "".join(texts)  # in place: see _JOINED
                    texts.clear()
                    left = BLOCK
                if want:
                    if inline:
                        token(text, chunk.extras)
                    else:
                        await run.atoken(text, chunk.extras)
                yield text
        it = None
    except BaseException as exc:
        await aclose_iter(it)
        done += "".join(texts)
        texts[:] = (done,)
        await afail(call, run, outcome, exc)
    done += "".join(texts)
    texts[:] = (done,)
    await run.afinish(call.success(run, outcome, need_result))


class Driver(NamedTuple):
    """How runs of one kind of model are driven: the sync and async drivers
    and the outcome each run fills (text models: :data:`TEXT`; chat models
    have theirs in :mod:`streamllm.models._chat_run`)."""

    drive: Callable[..., Generator[Any, None, None]]
    adrive: Callable[..., AsyncGenerator[Any, None]]
    outcome: Callable[[], Outcome]


#: The text models' drivers.
TEXT = Driver(drive, adrive, Outcome)
