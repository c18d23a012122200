"""The run drivers: the one place where a provider's chunks become events.

Providers only yield :class:`GenerationChunk`s. These drivers fire ``LLMStart``,
one ``NewToken`` per non-empty chunk (before the consumer sees it), and exactly
one terminal event, whatever happens: exhaustion, an error, ``close()`` or
garbage collection of the iterator (``GeneratorExit``), task cancellation or
Ctrl-C. The sync and async drivers have the same shape; the event building and
dispatch they share lives in :class:`RunManager`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator
from typing import TYPE_CHECKING, Any, final

from streamllm._fast import all_fields, trusted
from streamllm.callbacks.manager import RunManager, reason_for
from streamllm.errors import HandlerError
from streamllm.events import LLMError
from streamllm.messages import Message
from streamllm.outputs import (
    Generation,
    GenerationChunk,
    LLMResult,
    TokenUsage,
    normalize_finish_reason,
)

if TYPE_CHECKING:
    from streamllm.models.base import BaseLLM

__all__ = ["Outcome", "Request", "adrive", "drive"]

_GEN_FIELDS = all_fields(Generation)
_RESULT_FIELDS = all_fields(LLMResult)
_USAGE_FIELDS = all_fields(TokenUsage)


@final
class Request:
    """What a provider is asked: the input and the call's parameters.

    ``retries`` is for the provider to count the retries it made; the result
    records it. ``params`` holds the generation parameters that are set.
    """

    __slots__ = ("messages", "params", "prompt", "retries")

    def __init__(
        self,
        prompt: str | None,
        messages: tuple[Message, ...] | None,
        params: dict[str, Any],
    ) -> None:
        self.prompt = prompt
        self.messages = messages
        self.params = params
        self.retries = 0

    def as_messages(self) -> tuple[Message, ...]:
        """The input as chat messages (a prompt becomes one user message)."""
        if self.messages is not None:
            return self.messages
        return (Message(role="user", content=self.prompt or ""),)

    def as_prompt(self) -> str:
        """The input as one prompt string (messages are joined, one per line)."""
        if self.prompt is not None:
            return self.prompt
        return "\n".join(
            m.content if m.role == "user" else f"{m.role}: {m.content}" for m in self.messages or ()
        )


@final
class Outcome:
    """What a finished run leaves behind for ``invoke``/``generate``."""

    __slots__ = ("result", "texts")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.result: LLMResult | None = None

    @property
    def text(self) -> str:
        return "".join(self.texts)


def _close(it: Any) -> None:
    close = getattr(it, "close", None)
    if close is not None:
        close()


async def _aclose(it: Any) -> None:
    aclose = getattr(it, "aclose", None)
    if aclose is not None:
        await aclose()


def build_result(
    model: BaseLLM,
    run: RunManager,
    request: Request,
    texts: list[str],
    finish: str | None,
    usage: TokenUsage | None,
) -> LLMResult:
    text = "".join(texts)
    if usage is None:
        usage = model._estimate_usage(request, text)
    generation = trusted(
        Generation,
        {
            "text": text,
            "finish_reason": normalize_finish_reason(finish),
            "provider_finish_reason": finish,
        },
        _GEN_FIELDS,
    )
    return trusted(
        LLMResult,
        {
            "generations": ((generation,),),
            "usage": usage,
            "model": model.model_name,
            "run_ids": (run.run_id,),
            "retries": request.retries,
        },
        _RESULT_FIELDS,
    )


def estimated_usage(prompt_tokens: int | None, completion_tokens: int | None) -> TokenUsage:
    total = (
        None
        if prompt_tokens is None or completion_tokens is None
        else prompt_tokens + completion_tokens
    )
    return trusted(
        TokenUsage,
        {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": total,
            "source": "estimated",
        },
        _USAGE_FIELDS,
    )


def _start(model: BaseLLM, run: RunManager, request: Request) -> Any:
    return run.start_event(
        model.model_name, request.prompt, request.messages, model.invocation_params
    )


def _failure(
    model: BaseLLM,
    run: RunManager,
    request: Request,
    outcome: Outcome,
    state: list[Any],
    exc: BaseException,
) -> tuple[Any, bool]:
    """The terminal error event for ``exc``, and whether a handler's failure on it
    may replace ``exc`` for the caller (never for cancellation)."""
    if isinstance(exc, HandlerError):
        run.clear_failure()
    reason = reason_for(exc)
    partial = (
        build_result(model, run, request, outcome.texts, state[0], state[1])
        if run.wants(LLMError.kind)
        else _EMPTY_RESULT
    )
    return run.error_event(exc, reason, partial), reason == "failed"


def _success(
    model: BaseLLM,
    run: RunManager,
    request: Request,
    outcome: Outcome,
    state: list[Any],
    need_result: bool,
) -> Any:
    if need_result or run.wants(2):
        outcome.result = build_result(model, run, request, outcome.texts, state[0], state[1])
    return (
        run.end_event(outcome.result)
        if outcome.result is not None
        else run.end_event(_EMPTY_RESULT)
    )


_EMPTY_RESULT = LLMResult(generations=())


def drive(
    model: BaseLLM,
    run: RunManager,
    request: Request,
    outcome: Outcome,
    *,
    stream: bool,
    need_result: bool = False,
    cancel: threading.Event | None = None,
) -> Generator[str, None, None]:
    """Run one model call in sync code, yielding each token after its ``NewToken``."""
    texts = outcome.texts
    append = texts.append
    state: list[Any] = [None, None]  # finish reason, usage
    emit = run.emit
    it: Any = None
    try:
        emit(_start(model, run, request))
        it = model._stream(request) if stream else iter((model._generate(request),))
        want = stream and run.wants_tokens()
        for chunk in it:
            if chunk.finish_reason is not None:
                state[0] = chunk.finish_reason
            if chunk.usage is not None:
                state[1] = chunk.usage
            text = chunk.text
            if text:
                append(text)
                if want:
                    emit(run.token_event(text, chunk.extras))
                yield text
            if cancel is not None and cancel.is_set():
                raise asyncio.CancelledError("batch cancelled")
        it = None
    except GeneratorExit as exc:
        # close() or garbage collection: never wait for async handlers here.
        _close(it)
        event, _ = _failure(model, run, request, outcome, state, exc)
        with contextlib.suppress(HandlerError):
            emit(event)
        run.settle(wait=False)
        raise
    except BaseException as exc:
        _close(it)
        event, may_replace = _failure(model, run, request, outcome, state, exc)
        replacement: HandlerError | None = None
        try:
            emit(event)
        except HandlerError as handler_exc:
            replacement = handler_exc
        run.settle(wait=True)
        if replacement is not None and may_replace:
            raise replacement  # noqa: B904 - the original stays as __context__
        raise
    emit(_success(model, run, request, outcome, state, need_result))
    late = run.settle(wait=True)
    if late is not None:
        raise late


async def adrive(
    model: BaseLLM,
    run: RunManager,
    request: Request,
    outcome: Outcome,
    *,
    stream: bool,
    need_result: bool = False,
) -> AsyncGenerator[str, None]:
    """The async twin of :func:`drive`: async hooks are awaited inline, in order."""
    texts = outcome.texts
    append = texts.append
    state: list[Any] = [None, None]
    inline = not run.has_async
    emit: Callable[[Any], Any] = run.emit
    aemit = run.aemit
    it: Any = None
    try:
        await aemit(_start(model, run, request))
        it = model._astream(request) if stream else _one(await model._agenerate(request))
        want = stream and run.wants_tokens()
        async for chunk in it:
            if chunk.finish_reason is not None:
                state[0] = chunk.finish_reason
            if chunk.usage is not None:
                state[1] = chunk.usage
            text = chunk.text
            if text:
                append(text)
                if want:
                    if inline:
                        emit(run.token_event(text, chunk.extras))
                    else:
                        await aemit(run.token_event(text, chunk.extras))
                yield text
        it = None
    except GeneratorExit as exc:
        await _aclose(it)
        event, _ = _failure(model, run, request, outcome, state, exc)
        with contextlib.suppress(HandlerError):
            await aemit(event)
        raise
    except BaseException as exc:
        await _aclose(it)
        event, may_replace = _failure(model, run, request, outcome, state, exc)
        replacement = None
        try:
            await aemit(event)
        except HandlerError as handler_exc:
            replacement = handler_exc
        if replacement is not None and may_replace:
            raise replacement  # noqa: B904 - the original stays as __context__
        raise
    await aemit(_success(model, run, request, outcome, state, need_result))


async def _one(chunk: GenerationChunk) -> AsyncIterator[GenerationChunk]:
    yield chunk
